"""A small HTTP/1.1 client over asyncio streams, bounded in time and in memory.

One request per connection (``Connection: close``). Every wait (the connect, each read) is
limited by the timeout; the reply head, each line of it and the body are limited in size, so a
server that hangs, stops mid-reply or sends without end costs a ``TransportError`` with a
one-line reason, never a hang or unbounded memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from ..limits import MAX_MESSAGE_SIZE

__all__ = [
    "MAX_BODY_SIZE",
    "MAX_HEADERS",
    "MAX_HEAD_LINE",
    "MAX_STREAM_SIZE",
    "Head",
    "Target",
    "TransportError",
    "Wire",
    "connect",
]

MAX_HEAD_LINE = 16 * 1024
"""Longest status line, header line or chunk-size line of a reply, in bytes."""

MAX_HEADERS = 128
"""Most header lines a reply may have."""

MAX_BODY_SIZE = MAX_MESSAGE_SIZE
"""Largest whole (not streamed) reply body read, in bytes (``limits.MAX_MESSAGE_SIZE``)."""

MAX_STREAM_SIZE = 4 * MAX_MESSAGE_SIZE
"""Largest streamed reply body read, in bytes (64 MiB); one line of it is at most
``limits.MAX_MESSAGE_SIZE``."""

_READ_SIZE = 65536
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_T = TypeVar("_T")


class TransportError(Exception):
    """An exchange failed below the contract (connect, timeout, HTTP framing, size): the
    message says how in one line."""


@dataclass(frozen=True)
class Target:
    """Where the server is: scheme, host, port and the path prefix of its endpoints."""

    scheme: str
    """``http`` or ``https``."""
    host: str
    """Host name or address."""
    port: int
    """TCP port."""
    prefix: str
    """Path before the endpoints (``""`` for the root); a trailing ``/v1`` is not part of it."""

    @classmethod
    def parse(cls, url: str) -> Target:
        """The target of ``url`` (``http://HOST[:PORT][/PREFIX]``, or ``https://``).

        A trailing ``/v1`` is dropped, so the base URL an OpenAI client takes works too.
        ``ValueError`` with a one-line reason for anything else.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValueError("URL: not a valid URL (http://HOST[:PORT][/PREFIX])") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError("URL: must start with http:// or https://")
        if not parts.hostname:
            raise ValueError("URL: has no host")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("URL: must not have a query, a fragment or credentials")
        prefix = parts.path.rstrip("/")
        if prefix.endswith("/v1"):
            prefix = prefix[: -len("/v1")]
        default = 443 if parts.scheme == "https" else 80
        return cls(parts.scheme, parts.hostname, port or default, prefix)

    @property
    def url(self) -> str:
        """The base URL, as the endpoints' paths are appended to it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.prefix}"

    @property
    def authority(self) -> str:
        """The ``Host`` header value."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Head:
    """Status and headers of a reply."""

    status: int
    """HTTP status code."""
    headers: tuple[tuple[str, str], ...]
    """Header (lower-case name, value) pairs, in order."""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (lower case); repeated headers joined by ``", "``."""
        values = [value for key, value in self.headers if key == name]
        return ", ".join(values) if values else None


async def _within(step: Awaitable[_T], timeout: float) -> _T:
    """``step``, or ``TransportError`` when it takes longer than ``timeout`` or fails."""
    try:
        return await asyncio.wait_for(step, timeout)
    except asyncio.TimeoutError:
        raise TransportError("timed out") from None
    except asyncio.IncompleteReadError:
        raise TransportError("the server closed the connection mid-reply") from None
    except asyncio.LimitOverrunError:
        raise TransportError(
            f"a line of the reply head is longer than {MAX_HEAD_LINE} bytes"
        ) from None
    except ssl.SSLError as exc:
        raise TransportError(f"TLS failed ({exc.reason or 'handshake'})") from None
    except ConnectionRefusedError:
        raise TransportError("connection refused") from None
    except OSError as exc:
        raise TransportError(
            f"the connection failed ({exc.strerror or type(exc).__name__})"
        ) from None


class Wire:
    """One connection carrying one request and its reply."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        self.head: Head | None = None
        """The reply's status and headers, once ``read_head`` returned."""

    async def send(
        self,
        target: Target,
        method: str,
        path: str,
        body: bytes | None,
        headers: Sequence[tuple[str, str]],
    ) -> None:
        """Write the request (``Connection: close``; a JSON body when ``body`` is given)."""
        lines = [
            f"{method} {target.prefix}{path} HTTP/1.1",
            f"Host: {target.authority}",
            "Connection: close",
            "Accept-Encoding: identity",
        ]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers]
        self._writer.write("\r\n".join([*lines, "", ""]).encode("latin-1") + (body or b""))
        await _within(self._writer.drain(), self._timeout)

    async def _line(self) -> bytes:
        line = await _within(self._reader.readuntil(b"\n"), self._timeout)
        return line.rstrip(b"\r\n")

    async def read_head(self) -> Head:
        """Read the status line and the headers (skipping ``1xx`` interim replies)."""
        for _ in range(MAX_HEADERS):
            status = _status(await self._line())
            headers: list[tuple[str, str]] = []
            while True:
                line = await self._line()
                if not line:
                    break
                if len(headers) == MAX_HEADERS:
                    raise TransportError(f"the reply has more than {MAX_HEADERS} headers")
                name, colon, value = line.partition(b":")
                if not colon or not name or name != name.strip() or line[:1] in b" \t":
                    raise TransportError("the reply has a malformed header line")
                headers.append((name.decode("latin-1").lower(), value.strip().decode("latin-1")))
            if not 100 <= status < 200:
                self.head = Head(status, tuple(headers))
                return self.head
        raise TransportError("the server sent interim (1xx) replies without end")

    async def chunks(self, limit: int) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive; ``TransportError`` past ``limit`` bytes in all."""
        head = self.head
        assert head is not None  # read_head comes first
        encoding = head.header("content-encoding")
        if encoding is not None and encoding.strip().lower() != "identity":
            raise TransportError("the reply has a Content-Encoding although none was asked for")
        transfer = head.header("transfer-encoding")
        length = head.header("content-length")
        if head.status in (204, 304):
            return
        received = 0
        if transfer is not None:
            if transfer.strip().lower() != "chunked":
                raise TransportError("the reply has a Transfer-Encoding other than chunked")
            pieces = self._chunked()
        elif length is not None:
            if not length.strip().isdigit():
                raise TransportError("the reply has a malformed Content-Length")
            if int(length) > limit:
                raise TransportError(f"the body is larger than the limit of {limit} bytes")
            pieces = self._sized(int(length))
        else:
            pieces = self._until_closed()
        async for piece in pieces:
            received += len(piece)
            if received > limit:
                raise TransportError(f"the body is larger than the limit of {limit} bytes")
            yield piece

    async def body(self, limit: int) -> bytes:
        """The whole body; ``TransportError`` past ``limit`` bytes."""
        return b"".join([piece async for piece in self.chunks(limit)])

    async def _read(self, size: int) -> bytes:
        return await _within(self._reader.read(size), self._timeout)

    async def _sized(self, size: int) -> AsyncIterator[bytes]:
        left = size
        while left:
            piece = await self._read(min(left, _READ_SIZE))
            if not piece:
                raise TransportError("the server closed the connection mid-reply")
            left -= len(piece)
            yield piece

    async def _until_closed(self) -> AsyncIterator[bytes]:
        while piece := await self._read(_READ_SIZE):
            yield piece

    async def _chunked(self) -> AsyncIterator[bytes]:
        while True:
            size_text = (await self._line()).split(b";", 1)[0].strip()
            if _CHUNK_SIZE.fullmatch(size_text) is None:
                raise TransportError("the reply has a malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(MAX_HEADERS):  # the trailer, up to its blank line
                    if not await self._line():
                        return
                raise TransportError(f"the reply has more than {MAX_HEADERS} trailer lines")
            async for piece in self._sized(size):
                yield piece
            if await self._line():
                raise TransportError("the reply has a malformed chunk (no line end after it)")

    async def close(self) -> None:
        """Close the connection (without waiting long for the server to agree)."""
        self._writer.close()
        with contextlib.suppress(asyncio.TimeoutError, OSError, ssl.SSLError):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)


def _status(line: bytes) -> int:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise TransportError("the reply is not HTTP/1.x")
    if len(parts[1]) != 3 or not parts[1].isdigit():
        raise TransportError("the reply has a malformed status line")
    return int(parts[1])


async def connect(target: Target, timeout: float) -> Wire:
    """Open a connection to ``target`` within ``timeout`` seconds."""
    context = ssl.create_default_context() if target.scheme == "https" else None
    reader, writer = await _within(
        asyncio.open_connection(
            target.host,
            target.port,
            ssl=context,
            limit=MAX_HEAD_LINE,
            server_hostname=target.host if context is not None else None,
        ),
        timeout,
    )
    return Wire(reader, writer, timeout)
