"""The language server: thin LSP handlers over the completion pipeline."""
