"""Values kept as the fast algebra holds them, or as a default not made yet, and read as SymPy when first asked for."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Deferred:
    """A value held by the fast backend (an fmpq_mat, an fmpq, …), made into its SymPy form only when first read."""

    __slots__ = ("convert", "raw", "value")

    def __init__(self, convert: Callable[[Any], Any], raw: Any) -> None:
        self.convert: Callable[[Any], Any] | None = convert
        self.raw = raw
        self.value: Any = None

    def resolve(self) -> Any:
        """The SymPy value, converted once and shared by every holder of this value."""
        if self.convert is not None:
            self.value, self.convert = self.convert(self.raw), None
        return self.value

    def __reduce__(self) -> tuple[Callable[[Any], Any], tuple[Any]]:
        return _itself, (self.resolve(),)  # pickled as its SymPy value (flint's values do not pickle)


def _itself(v: Any) -> Any:
    return v


class _Unset:
    """A field of `Held` that was not given: its `make()` when read."""


_UNSET = _Unset()


class Held(Generic[T]):
    """A dataclass field (frozen or not) that keeps what it is given and gives SymPy when read: a `Deferred` is
    resolved (once), a field left at its default is `make()` (made once, when first read: SymPy's e or 1/10 as a
    default costs no SymPy import), pairs=True: a tuple of (name, value) pairs, each resolved. `kept` reads the
    field as it is kept. `default`: a plain default (a field without one, nor `make`, is required)."""

    def __init__(self, default: Any = _UNSET, *, make: Callable[[], T] | None = None, pairs: bool = False) -> None:
        self.default, self.make, self.pairs = default, make, pairs
        self._made: Any = _UNSET

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Any: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:  # the class's default, as a dataclass reads it
            if self.make is not None:
                return _UNSET
            if self.default is _UNSET:
                raise AttributeError(self.slot)  # no default: a required field
            return self.default
        v = obj.__dict__[self.slot]
        if v is _UNSET:
            if self._made is _UNSET:
                assert self.make is not None
                self._made = self.make()
            return self._made
        if self.pairs and any(isinstance(x, Deferred) for _, x in v):
            read = obj.__dict__.get(self.slot + "_read")
            if read is None:
                read = obj.__dict__[self.slot + "_read"] = tuple((k, resolved(x)) for k, x in v)
            return read
        return resolved(v)

    def __set__(self, obj: object, v: Any) -> None:
        obj.__dict__[self.slot] = v


def resolved(v: Any) -> Any:
    """v, or the SymPy value a `Deferred` holds."""
    return v.resolve() if isinstance(v, Deferred) else v


def kept(obj: object, name: str) -> Any:
    """A field as it is kept: a `Deferred` (not made SymPy yet), else what reading it gives."""
    v = obj.__dict__.get("_" + name, _UNSET)  # (where `Held` keeps it)
    return getattr(obj, name) if v is _UNSET else v


def raw(obj: object, name: str) -> Any:
    """A field as the fast algebra holds it: a `Deferred`'s own value, else what reading it gives (SymPy)."""
    return unwrapped(kept(obj, name))


def unwrapped(v: Any) -> Any:
    """v, or the fast algebra's value a `Deferred` holds (not made SymPy)."""
    return v.raw if isinstance(v, Deferred) else v


class Kept:
    """Another object's fields as they are kept (`kept`): an op's parameters read for the fast algebra, which takes a
    `Deferred` as it is (`Op.trainable(Kept(layer))` gives W's `Deferred`, not W made SymPy)."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __getattr__(self, name: str) -> Any:
        return kept(self.obj, name)


def values(obj: Any) -> list[Any]:
    """Every field's value of a dataclass (a layer's parameters), as read: SymPy, never a `Deferred`."""
    return [getattr(obj, f.name) for f in dataclasses.fields(obj)]
