"""Tags: a display name and the slug of its page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from blog.posts import BASE_URL, Post
from blog.text import slugify


@dataclass(frozen=True)
class Tag:
    name: str
    slug: str


def make_tag(name: str) -> Tag:
    """A tag whose slug is derived from its name."""
    return Tag(name.strip(), slugify(name))


def tag_url(tag: Tag) -> str:
    return f"{BASE_URL}/tags/{tag.slug}"


def tag_cloud(posts: list[Post], limit: int = 10) -> list[tuple[Tag, int]]:
    """The most used tags with their counts, most used first, then by name."""
    counts = Counter(name for post in posts for name in post.tags)
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return [(make_tag(name), count) for name, count in ranked[:limit]]
