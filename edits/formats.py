"""The edit formats by name; which one a model gets is the `edit.format` setting."""

from __future__ import annotations

from lspilot.edits.block import BlockFormat
from lspilot.edits.search_replace import SearchReplaceFormat
from lspilot.edits.task import EditFormat
from lspilot.edits.whole import WholeFormat

FORMATS: dict[str, EditFormat] = {
    format.name: format for format in (WholeFormat(), BlockFormat(), SearchReplaceFormat())
}
