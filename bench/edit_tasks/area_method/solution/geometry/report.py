"""A printable summary of a set of shapes."""

from __future__ import annotations

from geometry.shapes import Circle, Rectangle, Shape, Triangle, perimeter


def name(shape: Shape) -> str:
    if isinstance(shape, Circle):
        return f"circle r={shape.radius:g}"
    if isinstance(shape, Rectangle):
        return f"rectangle {shape.width:g}x{shape.height:g}"
    assert isinstance(shape, Triangle)
    return f"triangle {shape.a:g}/{shape.b:g}/{shape.c:g}"


def report(shapes: list[Shape]) -> str:
    """One line per shape, largest area first, then the total area."""
    rows = []
    for shape in sorted(shapes, key=lambda shape: shape.area(), reverse=True):
        rows.append(f"{name(shape):<24} area {shape.area():>9.2f}"
                    f"  outline {perimeter(shape):>8.2f}")
    rows.append(f"{'total':<24} area {total_area(shapes):>9.2f}")
    return "\n".join(rows)


def total_area(shapes: list[Shape]) -> float:
    return sum(shape.area() for shape in shapes)


def largest(shapes: list[Shape]) -> Shape | None:
    return max(shapes, key=lambda shape: shape.area(), default=None)
