"""area() is a method of every shape, the function is gone, and reports and layouts agree."""

import ast
import math
import sys
from pathlib import Path

root = Path(sys.argv[1])
sys.path.insert(0, str(root))

from geometry import layout, report, shapes  # noqa: E402

assert not hasattr(shapes, "area"), "the area() function is still there"
for name in ("report.py", "layout.py"):
    tree = ast.parse((root / "geometry" / name).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert "area" not in imported, f"{name} still imports area"

c, r, t = shapes.Circle(1.0), shapes.Rectangle(3.0, 4.0), shapes.Triangle(3.0, 4.0, 5.0)
assert math.isclose(c.area(), math.pi) and r.area() == 12.0 and math.isclose(t.area(), 6.0)
assert shapes.perimeter(r) == 14.0 and shapes.perimeter(t) == 12.0

text = report.report([c, t, r]).splitlines()
assert [row.split()[0] for row in text] == ["rectangle", "triangle", "circle", "total"]
assert text[-1].split()[-1] == f"{12 + 6 + math.pi:.2f}"
assert report.largest([c, t, r]) is r and report.largest([]) is None

sheet = layout.Sheet(5.0, 4.0)
assert math.isclose(layout.material_needed([r, t]), 18 * 1.15)
assert layout.fits([r], sheet) and not layout.fits([r, t], sheet)
assert layout.pack([c, t, r], sheet) == ([r, c], [t])
