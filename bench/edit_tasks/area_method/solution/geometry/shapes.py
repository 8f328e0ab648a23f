"""Plane shapes and their measures."""

from __future__ import annotations

import math
from dataclasses import dataclass


class ShapeError(ValueError):
    """A shape with impossible dimensions."""


@dataclass(frozen=True)
class Circle:
    radius: float

    def __post_init__(self) -> None:
        if self.radius <= 0:
            raise ShapeError("a circle needs a positive radius")

    def area(self) -> float:
        return math.pi * self.radius**2


@dataclass(frozen=True)
class Rectangle:
    width: float
    height: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ShapeError("a rectangle needs positive sides")

    def area(self) -> float:
        return self.width * self.height


@dataclass(frozen=True)
class Triangle:
    a: float
    b: float
    c: float

    def __post_init__(self) -> None:
        x, y, z = sorted((self.a, self.b, self.c))
        if x <= 0 or x + y <= z:
            raise ShapeError("these sides do not make a triangle")

    def area(self) -> float:
        s = (self.a + self.b + self.c) / 2  # Heron's formula
        return math.sqrt(s * (s - self.a) * (s - self.b) * (s - self.c))


Shape = Circle | Rectangle | Triangle


def perimeter(shape: Shape) -> float:
    """The length of the shape's outline."""
    if isinstance(shape, Circle):
        return 2 * math.pi * shape.radius
    if isinstance(shape, Rectangle):
        return 2 * (shape.width + shape.height)
    return shape.a + shape.b + shape.c
