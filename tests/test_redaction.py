"""The pipeline's redaction stage: the window, the snippets, the completion, the setting.

The pipeline tests run the real llama.cpp on tiny GGUF models built by the test; one of
them is scripted to answer with a GitHub token, as a model that learned one would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lspilot.completion.cursor import cursor_at
from lspilot.completion.pipeline import CompletionRequest, complete
from lspilot.completion.redaction import (
    cut_secrets,
    redact_gathered,
    redact_snippet,
    redact_window,
    window_findings,
)
from lspilot.context.gather import Gathered
from lspilot.context.secrets import redact
from lspilot.context.snippet import Snippet
from lspilot.context.window import Window, fit_window
from lspilot.models.backends.base import EmbeddedConfig
from lspilot.models.backends.llama_cpp import LlamaCppBackend
from lspilot.settings import CompletionSettings, LlamaCppSettings, PrivacySettings
from tests import secret_corpus as c
from tests.conftest import at_cursor
from tests.secret_corpus import SecretFile
from tests.tiny_gguf import TinyModel, build

FILE = f'''import os

DEBUG = True
AWS_SECRET_ACCESS_KEY = "{c.AWS_SECRET}"
DATABASE_URL = "postgres://admin:{c.DB_PASSWORD}@db:5432/app"


def handler(event):
    total = 0
    █
    return total

GITHUB_TOKEN = "{c.GITHUB_PAT}"
'''


def chars(text: str) -> int:
    return len(text)


def whole(text: str, offset: int) -> Window:
    """A window of the whole text (a budget it all fits in)."""
    return fit_window(text[:offset], text[offset:], 100_000, 0.5, chars)


def test_the_window_loses_its_secrets_and_keeps_everything_else() -> None:
    text, offset = at_cursor(FILE)
    window = whole(text, offset)
    shown = redact_window(text, offset, window)
    assert c.AWS_SECRET not in shown.prefix and c.DB_PASSWORD not in shown.prefix
    assert c.GITHUB_PAT not in shown.suffix
    assert shown.prefix == window.prefix.replace(c.AWS_SECRET, "<aws-secret-access-key>") \
        .replace(c.DB_PASSWORD, "<password>")
    assert shown.suffix == window.suffix.replace(c.GITHUB_PAT, "<github-pat>")
    assert [text[f.start:f.end] for f in shown.findings] == [c.AWS_SECRET, c.DB_PASSWORD,
                                                             c.GITHUB_PAT]


def test_a_window_without_secrets_is_passed_through() -> None:
    text, offset = at_cursor("def f(x):\n    return █\n")
    window = whole(text, offset)
    shown = redact_window(text, offset, window)
    assert (shown.prefix, shown.suffix, shown.findings) == (window.prefix, window.suffix, ())


def test_a_secret_the_cursor_stands_in_goes_whole() -> None:
    # prefix `token = "ghp_R4nd0m`, suffix `T0k3n..."`: neither half alone looks like a key.
    cut = 14
    text = f'token = "{c.GITHUB_PAT}"\n'
    offset = text.index(c.GITHUB_PAT) + cut
    shown = redact_window(text, offset, whole(text, offset))
    assert shown.prefix == 'token = "<github-pat>'
    assert shown.suffix == '"\n'


def test_typing_after_the_secrets_keeps_the_redacted_prefix_start_for_the_kv_cache() -> None:
    text, offset = at_cursor(FILE)
    anchor = None
    previous = None
    typed = "total += event.get('amount', 0)"
    for end in range(len(typed) + 1):
        now = text[:offset] + typed[:end] + text[offset:]
        cursor = offset + end
        window = fit_window(now[:cursor], now[cursor:], 100_000, 0.5, chars, anchor)
        anchor = window.start_line
        shown = redact_window(now, cursor, window)
        if previous is not None:
            assert shown.prefix.startswith(previous)  # only the end moved
        previous = shown.prefix
        assert redact_window(now, cursor, window) == shown  # same text, same redaction


def test_the_window_redacted_in_pieces_finds_what_the_whole_text_has() -> None:
    # The lines above and below the cursor's line are redacted on their own (cached while
    # typing); at every cursor of every corpus file that finds the same secrets.
    for file in [*c.FILES, SecretFile("x.py", "python", FILE.replace("█", ""), ())]:
        text = file.text
        whole_text = redact(text).findings
        for offset in range(0, len(text), 7):
            assert window_findings(text, 0, len(text), offset) == whole_text, (file.path,
                                                                               offset)


def test_a_window_that_starts_inside_a_private_key_still_hides_its_body() -> None:
    text = (f'KEY = """{c.PRIVATE_KEY}\n"""\n\n\ndef sign(data):\n    return data\n')
    body_line = text.index(c.PEM_BODY[1])
    offset = text.index("return data") + len("return ")
    # A window whose first line is the key's second body line (its BEGIN line cut off).
    window = Window(text[body_line:offset], text[offset:], 0, 0)
    shown = redact_window(text, offset, window)
    assert not any(line in shown.prefix for line in c.PEM_BODY)
    assert shown.prefix.startswith("<private-key>")
    assert shown.prefix.endswith("def sign(data):\n    return ")


def test_snippets_are_redacted_and_the_explanation_still_tells_chosen_from_offered() -> None:
    secret = Snippet("definition", "config.py", c.CONFIG_PY.text, 1.0, start_line=10,
                     reason="defines AWS_SECRET_ACCESS_KEY")
    plain = Snippet("usage", "app.py", "connect(DATABASE_URL)\n", 0.5)
    gathered = Gathered("repo", "app.py", (secret, plain), (secret, plain))
    redacted, redactions = redact_gathered(gathered)
    assert not any(s in redacted.snippets[0].text for s in c.CONFIG_PY.secrets)
    assert redacted.snippets[1] is plain
    assert set(redacted.snippets) <= set(redacted.offered)
    assert [(r.kind, r.source, r.path, r.line) for r in redactions] == [
        ("aws-access-key-id", "definition", "config.py", 13),
        ("aws-secret-access-key", "definition", "config.py", 14),
        ("password", "definition", "config.py", 15)]
    assert redact_snippet(plain) is plain


@pytest.mark.parametrize(("text", "completion", "shown"), [
    # A key the model learned elsewhere: cut before it.
    ('token = "█"', c.GITHUB_PAT, ""),
    ("headers = █", f'{{"Authorization": "Bearer {c.JWT}"}}', '{"Authorization": "Bearer'),
    ('password = "█"', 'hunter2x"', ""),
    ("url = █", f'"postgres://app:{c.DB_PASSWORD}@db/app"', '"postgres://app:'),
    ("conn = connect(█)", 'host="db", password="pa55word")', 'host="db", password="'),
    # The model copying a placeholder it saw in the prompt: cut too.
    ("key = █", '"<aws-secret-access-key>"', '"'),
    # Already in the document: the user wrote it, it may be repeated.
    (f'OLD = "{c.GITHUB_PAT}"\ntoken = "█"', c.GITHUB_PAT, c.GITHUB_PAT),
    # Ordinary code stays whole.
    ("x = █", "compute(total, rate=0.25)", "compute(total, rate=0.25)"),
    ('token = "█"', '("', '("'),
    ("digest = █", '"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
     '"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"'),
    ("html = █", '"<div>a</div>"', '"<div>a</div>"'),
])
def test_a_completion_is_cut_before_a_secret_the_document_does_not_hold(
        text: str, completion: str, shown: str) -> None:
    document, offset = at_cursor(text)
    assert cut_secrets(completion, cursor_at(document, offset)) == shown


# --- the pipeline, on the real llama.cpp ---------------------------------------------------


@pytest.fixture(scope="module")
def leaky_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model that answers every FIM prompt with a GitHub token (distinct characters)."""
    return build(tmp_path_factory.mktemp("leaky") / "tiny-leaky.gguf",
                 TinyModel(script="ghp_Q1W2E3R4T5Y6U7I8O9P0ASDFGHJKLZXCVBNM"))


def load(path: Path) -> LlamaCppBackend:
    backend = LlamaCppBackend.load(EmbeddedConfig(
        "tiny", path, LlamaCppSettings(context_size=1024, threads=1)))
    assert isinstance(backend, LlamaCppBackend)
    return backend


def request(text: str) -> CompletionRequest:
    document, offset = at_cursor(text)
    return CompletionRequest("file:///ws/app.py", document, offset, "python", "invoked")


async def test_the_prompt_holds_no_secret_and_says_what_it_kept_out(tiny_model: Path) -> None:
    backend = load(tiny_model)
    result = await complete(request(FILE), backend, CompletionSettings())
    assert not any(s in result.prompt.text for s in (c.AWS_SECRET, c.DB_PASSWORD,
                                                      c.GITHUB_PAT))
    assert "<aws-secret-access-key>" in result.prompt.text
    assert [(r.kind, r.source, r.line) for r in result.redactions] == [
        ("aws-secret-access-key", "window", 3), ("password", "window", 4),
        ("github-pat", "window", 12)]
    assert result.text == "a + b"  # the tiny model's answer, unharmed


async def test_with_redaction_off_the_file_goes_in_as_it_is(tiny_model: Path) -> None:
    backend = load(tiny_model)
    result = await complete(request(FILE), backend, CompletionSettings(),
                            privacy=PrivacySettings(redact_secrets=False))
    assert c.AWS_SECRET in result.prompt.text and c.GITHUB_PAT in result.prompt.text
    assert result.redactions == ()


async def test_a_model_that_answers_with_a_key_inserts_nothing(leaky_model: Path) -> None:
    backend = load(leaky_model)
    text = 'TOKEN = "█"\n'
    guarded = await complete(request(text), backend, CompletionSettings())
    assert guarded.raw.startswith("ghp_Q1W2E3R4") and guarded.text == ""
    unguarded = await complete(request(text), backend, CompletionSettings(),
                               privacy=PrivacySettings(redact_secrets=False))
    assert unguarded.text.startswith("ghp_Q1W2E3R4")


async def test_the_window_stays_within_its_budget_when_placeholders_are_longer(
        tiny_model: Path) -> None:
    # Short passwords whose placeholders take more tokens than they do.
    backend = load(tiny_model)
    lines = "".join(f'pw{i} = "q{i}!x"\n' for i in range(300))
    settings = CompletionSettings(prompt_tokens=256, max_tokens=16)
    result = await complete(request(lines + "█\n"), backend, settings)
    assert "<password>" in result.prompt.text and "!x" not in result.prompt.text
    assert backend.count_prompt_tokens(result.prompt) <= 256
