"""The blog's feed: the newest posts as plain dictionaries, ready for JSON."""

from __future__ import annotations

from blog.posts import Post, post_url, summary
from blog.tags import make_tag, tag_url


def feed_entry(post: Post) -> dict[str, object]:
    """One post as a feed entry."""
    return {
        "title": post.title,
        "url": post_url(post),
        "published": post.published.isoformat(),
        "summary": summary(post, words=20),
        "tags": [tag_url(make_tag(name)) for name in post.tags],
    }


def feed(posts: list[Post], count: int = 10) -> list[dict[str, object]]:
    """The `count` newest posts, newest first."""
    newest = sorted(posts, key=lambda post: post.published, reverse=True)[:count]
    return [feed_entry(post) for post in newest]


def archive(posts: list[Post]) -> dict[str, list[str]]:
    """Post titles by month ('YYYY-MM'), oldest month first."""
    months: dict[str, list[str]] = {}
    for post in sorted(posts, key=lambda post: post.published):
        months.setdefault(f"{post.published:%Y-%m}", []).append(post.title)
    return months
