"""Iterate sync and async iterables alike, and close what was iterated (standard library only)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, TypeVar

__all__ = ["AnyIterable", "aclose", "aiterate"]

T = TypeVar("T")

AnyIterable = Iterable[T] | AsyncIterable[T]
"""What the async stream functions take: a sync or an async iterable."""


def aiterate(items: AnyIterable[T]) -> AsyncIterator[T]:
    """An async iterator over ``items``; an async iterable's own iterator when it has one."""
    if isinstance(items, AsyncIterable):
        return aiter(items)
    return _from_sync(items)


async def _from_sync(items: Iterable[T]) -> AsyncIterator[T]:
    iterator = iter(items)
    try:
        for item in iterator:
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


async def aclose(iterator: Any) -> None:
    """Close ``iterator`` (an async generator, or anything with ``aclose``) if it can be closed."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
