"""Model catalog, download, verification and cache."""
