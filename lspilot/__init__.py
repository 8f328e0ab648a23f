"""lspilot: a local-first code-assistant language server."""

__version__ = "0.1.0"
