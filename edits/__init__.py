"""Multi-file edits: ask a model in one of three formats, read its answer, check it, diff it.

Pure: no LSP, no model. `lsp/` turns the result into a WorkspaceEdit, the CLI into files.
"""

from lspilot.edits.formats import FORMATS
from lspilot.edits.task import EditError, EditFormat, EditTask, FileChange, Selection, SourceFile
from lspilot.edits.text_edits import TextEdit, apply_edits, text_edits
from lspilot.edits.validate import validate

__all__ = [
    "FORMATS", "EditError", "EditFormat", "EditTask", "FileChange", "Selection", "SourceFile",
    "TextEdit", "apply_edits", "text_edits", "validate",
]
