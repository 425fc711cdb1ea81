"""An explicit registry: registering the same key twice is a bug, so it raises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class DuplicateRegistration(KeyError):
    pass


class Registry(Generic[V]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._items: dict[str, V] = {}

    def register(self, key: str, value: V) -> V:
        if key in self._items:
            raise DuplicateRegistration(f"{self.name}: {key!r} is already registered")
        self._items[key] = value
        return value

    def replace(self, key: str, value: V) -> V:
        """Swap an existing entry (a feature taking over a placeholder it owns)."""
        if key not in self._items:
            raise KeyError(f"{self.name}: {key!r} is not registered")
        self._items[key] = value
        return value

    def get(self, key: str) -> V | None:
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def values(self) -> list[V]:
        return list(self._items.values())
