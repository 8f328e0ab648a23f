"""Cutting shapes out of a sheet of material."""

from __future__ import annotations

from dataclasses import dataclass

from geometry.shapes import Shape, area

WASTE_FACTOR = 1.15
"""Cut shapes need this much more material than their area, for the gaps between them."""


@dataclass(frozen=True)
class Sheet:
    width: float
    height: float

    @property
    def capacity(self) -> float:
        return self.width * self.height


def material_needed(shapes: list[Shape]) -> float:
    return sum(area(shape) for shape in shapes) * WASTE_FACTOR


def fits(shapes: list[Shape], sheet: Sheet) -> bool:
    """Whether the shapes can be cut from one sheet, by area."""
    return material_needed(shapes) <= sheet.capacity


def pack(shapes: list[Shape], sheet: Sheet) -> tuple[list[Shape], list[Shape]]:
    """Shapes that fit on the sheet (largest first, greedily) and the ones left over."""
    placed: list[Shape] = []
    left: list[Shape] = []
    for shape in sorted(shapes, key=lambda s: area(s), reverse=True):
        if fits([*placed, shape], sheet):
            placed.append(shape)
        else:
            left.append(shape)
    return placed, left
