"""Blog posts: titles, slugs, and where a post lives."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

BASE_URL = "https://example.org/blog"


@dataclass(frozen=True)
class Post:
    title: str
    slug: str
    body: str
    published: date
    tags: tuple[str, ...] = field(default=())


def make_post(title: str, body: str, published: date, tags: tuple[str, ...] = ()) -> Post:
    """A post whose slug is derived from its title."""
    if not title.strip():
        raise ValueError("a post needs a title")
    text = unicodedata.normalize("NFKD", title)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    slug = text[:60].rstrip("-")
    return Post(title.strip(), slug, body, published, tags)


def post_url(post: Post) -> str:
    """The post's address: /YYYY/MM/slug."""
    return f"{BASE_URL}/{post.published:%Y/%m}/{post.slug}"


def summary(post: Post, words: int = 30) -> str:
    """The first `words` words of the body, with an ellipsis when cut."""
    parts = post.body.split()
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]) + "…"


def reading_minutes(post: Post, per_minute: int = 200) -> int:
    """Minutes it takes to read the post, at least one."""
    return max(1, round(len(post.body.split()) / per_minute))
