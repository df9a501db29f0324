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
    from typing import Any, Callable, TypeVar, overload

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T", bound=type)

_MISSING = object()


def _value(cls: type | None = None, *, order: bool = False) -> Any:
    """Make ``cls`` an immutable value class; use as ``@value`` or ``@value(order=True)``."""

    def wrap(cls: type) -> type:
        names = tuple(cls.__dict__.get("__annotations__", {}))
        defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
        required = [name for name in names if name not in defaults]
        qualname = cls.__name__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if len(args) > len(names):
                raise TypeError(f"{qualname}() takes {len(names)} arguments but {len(args)} were given")
            values = dict(zip(names, args))
            for key, given in kwargs.items():
                if key not in names:
                    raise TypeError(f"{qualname}() got an unexpected argument {key!r}")
                if key in values:
                    raise TypeError(f"{qualname}() got {key!r} twice")
                values[key] = given
            for name in names:
                found = values.get(name, defaults.get(name, _MISSING))
                if found is _MISSING:
                    raise TypeError(f"{qualname}() is missing {name!r} (needs {', '.join(required)})")
                object.__setattr__(self, name, found)
            post_init = getattr(self, "__post_init__", None)
            if post_init is not None:
                post_init()

        def _key(self: Any) -> tuple[Any, ...]:
            return tuple(getattr(self, name) for name in names)

        def __eq__(self: Any, other: Any) -> Any:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return _key(self) == _key(other)

        def __hash__(self: Any) -> int:
            return hash((self.__class__.__name__,) + _key(self))

        def __repr__(self: Any) -> str:
            fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
            return f"{qualname}({fields})"

        def __setattr__(self: Any, name: str, new: Any) -> None:
            raise AttributeError(f"{qualname} is immutable: cannot set {name!r}")

        def __delattr__(self: Any, name: str) -> None:
            raise AttributeError(f"{qualname} is immutable: cannot delete {name!r}")

        methods: dict[str, Callable[..., Any]] = {
            "__init__": __init__, "__eq__": __eq__, "__hash__": __hash__, "__repr__": __repr__,
            "__setattr__": __setattr__, "__delattr__": __delattr__,
        }
        if order:
            def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
                def method(self: Any, other: Any) -> Any:
                    if other.__class__ is not self.__class__:
                        return NotImplemented
                    return op(_key(self), _key(other))
                return method

            methods["__lt__"] = _compare(lambda a, b: a < b)
            methods["__le__"] = _compare(lambda a, b: a <= b)
            methods["__gt__"] = _compare(lambda a, b: a > b)
            methods["__ge__"] = _compare(lambda a, b: a >= b)
        for name, method in methods.items():
            if name not in cls.__dict__ or (name == "__hash__" and cls.__dict__[name] is None):
                setattr(cls, name, method)
        cls.__value_fields__ = names  # type: ignore[attr-defined]
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
