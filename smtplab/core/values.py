"""``@value``: immutable value classes that cost nothing to define.

The core's value objects (replies, catalogue entries, document blocks) are
frozen records. ``dataclasses`` would do, but defining a dataclass compiles
code at import time (about 1 ms a class here, plus 15-20 ms to import
``dataclasses`` and ``inspect``), which alone would break the command line's
start-up budget (see ``benchmarks/startup.py``). This decorator gives the
same behaviour for what the core uses, with generic methods and no code
generation:

- fields are the class's annotated names, in order, with optional defaults;
- ``__init__`` takes them positionally or by name and then calls
  ``__post_init__`` if the class has one;
- instances are immutable; equality and hashing compare the class and the
  fields; ``order=True`` adds ``<`` and friends, field by field;
- a method the class defines itself (``__init__``, ``__repr__``…) is kept.

Type checkers read ``@value`` as a frozen dataclass (:pep:`681`'s
``dataclass_transform``, declared only while type checking, so it costs
nothing at run time): ``Reply(250, ("OK",))`` type-checks in users' code.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable
    from typing import Any, TypeVar, overload

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T", bound=type)

_MISSING = object()


# The methods every value class gets (unless it defines its own). They read the class's
# ``__value_fields__`` and ``__value_defaults__``, so one copy serves every class.


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    names: tuple[str, ...] = cls.__value_fields__
    defaults: dict[str, Any] = cls.__value_defaults__
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} arguments but {len(args)} were given")
    values = dict(zip(names, args, strict=False))  # fewer arguments than fields: the rest by name or default
    for key, given in kwargs.items():
        if key not in names:
            raise TypeError(f"{cls.__name__}() got an unexpected argument {key!r}")
        if key in values:
            raise TypeError(f"{cls.__name__}() got {key!r} twice")
        values[key] = given
    for name in names:
        found = values.get(name, defaults.get(name, _MISSING))
        if found is _MISSING:
            required = ", ".join(n for n in names if n not in defaults)
            raise TypeError(f"{cls.__name__}() is missing {name!r} (needs {required})")
        object.__setattr__(self, name, found)
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _key(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in type(self).__value_fields__)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _key(self) == _key(other)


def _hash(self: Any) -> int:
    return hash((self.__class__.__name__, *_key(self)))


def _repr(self: Any) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__value_fields__)
    return f"{type(self).__name__}({fields})"


def _setattr(self: Any, name: str, new: Any) -> None:
    raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")


def _ordering(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return op(_key(self), _key(other))

    return method


_METHODS: dict[str, Callable[..., Any]] = {
    "__init__": _init,
    "__eq__": _eq,
    "__hash__": _hash,
    "__repr__": _repr,
    "__setattr__": _setattr,
    "__delattr__": _delattr,
}
_ORDER: dict[str, Callable[..., Any]] = {
    "__lt__": _ordering(lambda a, b: a < b),
    "__le__": _ordering(lambda a, b: a <= b),
    "__gt__": _ordering(lambda a, b: a > b),
    "__ge__": _ordering(lambda a, b: a >= b),
}


def _value(cls: type | None = None, *, order: bool = False) -> Any:
    """Make ``cls`` an immutable value class; use as ``@value`` or ``@value(order=True)``."""

    def wrap(cls: type) -> type:
        names = tuple(cls.__dict__.get("__annotations__", {}))
        # Fields of a value base class come first, as dataclasses order them.
        inherited: tuple[str, ...] = getattr(cls, "__value_fields__", ())
        cls.__value_fields__ = (*inherited, *(n for n in names if n not in inherited))  # type: ignore[attr-defined]
        cls.__value_defaults__ = {  # type: ignore[attr-defined]
            **getattr(cls, "__value_defaults__", {}),
            **{name: cls.__dict__[name] for name in names if name in cls.__dict__},
        }
        for name, method in {**_METHODS, **(_ORDER if order else {})}.items():
            if name not in cls.__dict__ or (name == "__hash__" and cls.__dict__[name] is None):
                setattr(cls, name, method)
        return cls

    return wrap if cls is None else wrap(cls)


if TYPE_CHECKING:  # pragma: no cover

    @overload
    def value(cls: _T, /) -> _T: ...

    @overload
    def value(*, order: bool = False) -> Callable[[_T], _T]: ...

    @dataclass_transform(frozen_default=True)
    def value(cls: Any = None, /, *, order: bool = False) -> Any:
        """Make ``cls`` an immutable value class; use as ``@value`` or ``@value(order=True)``."""

else:
    value = _value
