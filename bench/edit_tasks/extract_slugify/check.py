"""slugify lives in blog/text.py, posts and tags use it, and the slugs are unchanged."""

import sys
from datetime import date
from pathlib import Path

root = Path(sys.argv[1])
sys.path.insert(0, str(root))

from blog import feed, posts, tags  # noqa: E402
from blog.text import slugify  # noqa: E402

assert slugify("Crème Brûlée: a How-To!") == "creme-brulee-a-how-to"
assert slugify("  --Hello,   World--  ") == "hello-world"
assert slugify("word " * 30) == ("word-" * 12)[:59]
assert slugify("abc def", max_length=5) == "abc-d"
for name in ("posts.py", "tags.py"):
    source = (root / "blog" / name).read_text()
    assert "unicodedata" not in source and "re.sub" not in source, f"slug code left in {name}"
    assert "slugify" in source, f"{name} does not use slugify"

post = posts.make_post("Über Café Culture", "one two three", date(2024, 5, 17), ("Café", "Tea"))
assert post.slug == "uber-cafe-culture"
assert posts.post_url(post) == "https://example.org/blog/2024/05/uber-cafe-culture"
assert tags.make_tag(" Café Society ") == tags.Tag("Café Society", "cafe-society")
entry = feed.feed([post])[0]
assert entry["tags"] == ["https://example.org/blog/tags/cafe", "https://example.org/blog/tags/tea"]
