"""One HTTP exchange of the checker, recorded: what was sent, the reply head, the body (or the
stream, fed to a consumer as it arrives) and how it failed, if it did."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._http import MAX_BODY_SIZE, MAX_STREAM_SIZE, Head, Target, TransportError, Wire, connect

__all__ = ["BrokenRuleError", "Consumer", "Exchange", "clock", "exchange", "printable"]

_SHOWN = 300  # longest text from a server shown in a message, in characters


def clock() -> float:
    """The client's clock, in seconds (monotonic)."""
    return time.perf_counter()


def printable(text: str, limit: int = _SHOWN) -> str:
    """``text`` safe for a terminal: control characters escaped, cut to ``limit`` characters."""
    shown = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text[: limit + 1]
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class BrokenRuleError(Exception):
    """A stream broke a rule; the message names where and which."""


class Consumer(Protocol):
    """Reads a streamed reply as it arrives and checks it."""

    def feed(self, piece: bytes, now: float) -> None:
        """The next bytes of the stream, received at ``now``; ``BrokenRuleError`` if they
        break a rule."""

    def close(self, now: float) -> None:
        """The stream ended at ``now``; ``BrokenRuleError`` if it was not complete."""


@dataclass
class Exchange:
    """One request and what came back."""

    label: str
    """What was sent, for messages: ``POST /v1/chat/completions (stream)``."""
    stream: bool
    """True when a stream was asked for."""
    head: Head | None = None
    """Status and headers of the reply; None when none came."""
    body: bytes = b""
    """The whole body (of a reply that was not read as a stream)."""
    failure: str | None = None
    """How the exchange failed below the contract (``timed out`` ...), or None."""
    violation: str | None = None
    """The rule the stream broke, or None."""
    sent_at: float = 0.0
    """When the request was written, on ``clock()``, in seconds."""

    @property
    def status(self) -> int | None:
        """The HTTP status, or None when no reply came."""
        return None if self.head is None else self.head.status

    def problem(self, expected: int) -> str | None:
        """Why the reply is not one of status ``expected`` (how the exchange failed, or the
        status with the error code the body names), or None when it is."""
        if self.failure is not None:
            return self.failure
        if self.status == expected:
            return None
        return f"status {self.status}, expected {expected}{_named_error(self.json())}"

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None


def _named_error(body: Any) -> str:
    """`` (code, param P)`` for an error body in either envelope (or a failed Response)."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if not isinstance(error, dict):
        errors = body.get("errors")
        error = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(error, dict):
        return ""
    code, param = error.get("code"), error.get("param")
    named = [printable(str(code), 60) if code is not None else "no code"]
    if isinstance(param, str):
        named.append(f"param {printable(param, 60)}")
    return f" ({', '.join(named)})"


async def exchange(
    target: Target,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    headers: Sequence[tuple[str, str]] = (),
    timeout: float,
    deadline: float | None = None,
    consumer: Consumer | None = None,
) -> Exchange:
    """Send one request and read its reply: a 200 reply to a request with a ``consumer`` is
    fed to it as it arrives, any other reply is read whole. ``timeout`` bounds the connect
    and each read, ``deadline`` (seconds) the whole exchange. Never raises for what the
    server does: the result records it."""
    label = f"{method} {path}" + (" (stream)" if consumer is not None else "")
    record = Exchange(label, stream=consumer is not None)
    data = None if body is None else json.dumps(body).encode()
    try:
        await asyncio.wait_for(
            _run(
                record,
                target,
                method,
                path,
                data=data,
                headers=headers,
                timeout=timeout,
                consumer=consumer,
            ),
            deadline,
        )
    except asyncio.TimeoutError:
        record.failure = "timed out (the whole reply took too long)"
    return record


async def _run(
    record: Exchange,
    target: Target,
    method: str,
    path: str,
    *,
    data: bytes | None,
    headers: Sequence[tuple[str, str]],
    timeout: float,
    consumer: Consumer | None,
) -> None:
    wire: Wire | None = None
    try:
        wire = await connect(target, timeout)
        record.sent_at = clock()
        await wire.send(target, method, path, data, headers)
        record.head = await wire.read_head()
        if consumer is not None and record.head.status == 200:
            async for piece in wire.chunks(MAX_STREAM_SIZE):
                consumer.feed(piece, clock())
            consumer.close(clock())
        else:
            record.body = await wire.body(MAX_BODY_SIZE)
    except TransportError as exc:
        record.failure = str(exc)
    except BrokenRuleError as exc:
        record.violation = str(exc)
    finally:
        if wire is not None:
            await wire.close()
