"""Open documents kept in sync through random didChange edits, in every position encoding.

The client's side is a reference: it edits a plain string by code-point offsets and sends
each range as the spec says, in the encoding's code units (from Python's own codecs). The
server's copy, its syntax tree and the edits it reports must follow exactly.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lspilot.context.trees import DocumentTree
from lspilot.lsp.documents import Documents, Edit
from tests.test_text import ENCODINGS, positions, reference_position, texts

URI = "file:///work/doc.py"


@st.composite
def change(draw: st.DrawFn, text: str, encoding: str
           ) -> tuple[tuple[tuple[int, int], tuple[int, int]] | None, str, int, int]:
    """One content change against `text`: its LSP range (None: the whole text), its new
    text, and the code-point offsets it replaces."""
    new = draw(texts)
    if draw(st.integers(0, 9)) == 0:
        return None, new, 0, len(text)
    start, end = sorted(draw(st.lists(st.sampled_from(positions(text)), min_size=2,
                                      max_size=2)))
    span = (reference_position(text, start, encoding), reference_position(text, end, encoding))
    return span, new, start, end


@given(texts, st.sampled_from(ENCODINGS), st.data())
def test_random_edits_keep_the_servers_copy_equal_to_the_clients(
        text: str, encoding: str, data: st.DataObject) -> None:
    documents = Documents()
    documents.open(URI, "python", 1, text)
    for version in range(2, 2 + data.draw(st.integers(1, 6))):
        # One didChange carries several changes, each against the text the previous left.
        changes, expected = [], []
        for _ in range(data.draw(st.integers(1, 3))):
            span, new, start, end = data.draw(change(text, encoding))
            changes.append((span, new))
            if span is None or new or start != end:  # an empty range change is no edit
                expected.append(Edit(start, end, new, *positions_to_lines(text, start, end)))
            text = text[:start] + new + text[end:]
        assert documents.change(URI, version, changes, encoding) == expected
        document = documents.get(URI)
        assert document is not None and document.text == text and document.version == version
    assert document is not None and document.syntax is not None
    assert str(document.syntax.root_node) == str(DocumentTree("python", text).tree.root_node)


def positions_to_lines(text: str, start: int, end: int) -> tuple[int, int]:
    """The lines of two offsets (a whole-text change ends on the text's last line)."""
    return (reference_position(text, start, "utf-32")[0],
            reference_position(text, end, "utf-32")[0])
