"""@value classes behave like frozen dataclasses: fields, defaults, equality, order, immutability."""

from __future__ import annotations

import pytest

from smtplab.core.values import value


@value
class Point:
    x: int
    y: int = 0


@value(order=True)
class Version:
    major: int
    minor: int


@value
class Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must not be negative")


def test_fields_positional_keyword_and_default():
    assert Point(1, 2).x == 1 and Point(1, 2).y == 2
    assert Point(x=3).y == 0
    assert Point.__value_fields__ == ("x", "y")
    assert repr(Point(1)) == "Point(x=1, y=0)"


def test_equality_and_hash_compare_class_and_fields():
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert len({Point(1, 2), Point(1, 2)}) == 1
    assert Point(1, 2) != (1, 2)


def test_instances_are_immutable():
    point = Point(1)
    with pytest.raises(AttributeError, match="immutable"):
        point.x = 5
    with pytest.raises(AttributeError, match="immutable"):
        del point.x


def test_order_compares_field_by_field():
    assert sorted([Version(1, 10), Version(1, 2), Version(0, 99)]) == [Version(0, 99), Version(1, 2), Version(1, 10)]
    with pytest.raises(TypeError):
        Point(1) < Point(2)  # noqa: B015 - unordered classes refuse to compare


def test_bad_arguments_are_type_errors_naming_the_field():
    with pytest.raises(TypeError, match="missing 'x'"):
        Point()
    with pytest.raises(TypeError, match="unexpected argument 'z'"):
        Point(1, z=2)
    with pytest.raises(TypeError, match="'x' twice"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="takes 2 arguments"):
        Point(1, 2, 3)


def test_post_init_validates():
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)
    assert Checked(1).n == 1
