"""Text helpers shared by posts and tags."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, max_length: int = 60) -> str:
    """Lower-case ASCII words joined by dashes, accents dropped, at most `max_length` long."""
    normalized = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in normalized if not unicodedata.combining(c))
    dashed = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")
    return dashed[:max_length].rstrip("-")

