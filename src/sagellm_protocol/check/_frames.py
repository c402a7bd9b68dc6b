"""Server-sent event frames as text, for streams whose data is not a stream event (OpenAI).

The native stream goes through ``sse.SSEDecoder``, which decodes each frame into a typed event;
an OpenAI stream carries other JSON, so this reader only cuts the bytes into frames (the data
lines of each, joined), following the same line rules: LF, CRLF or CR line ends, ``:``
comments, ``data:`` lines (one space after the colon dropped), other fields ignored. A line
longer than the limit, text that is not UTF-8 and a frame left unfinished at the end are
errors.
"""

from __future__ import annotations

import re

from ..limits import MAX_MESSAGE_SIZE

__all__ = ["FrameError", "FrameReader"]

_END_OF_LINE = re.compile(rb"\r\n?|\n")


class FrameError(Exception):
    """The bytes are not a well-formed event stream; the message says where and why."""


class FrameReader:
    """Cut a byte stream (fed in pieces split anywhere) into frames' data."""

    def __init__(self, *, max_line: int = MAX_MESSAGE_SIZE) -> None:
        self._max_line = max_line
        self._buffer = bytearray()
        self._scanned = 0
        self._skip_line_feed = False
        self._data: list[str] = []
        self._open = False
        self.frames = 0
        """Frames completed so far, with data or not."""

    def feed(self, piece: bytes) -> list[tuple[int, str]]:
        """Add bytes; return (number, data) of each frame they complete, numbered from 1
        (frames without data are left out)."""
        buffer = self._buffer
        start = len(buffer)
        buffer += piece
        if self._skip_line_feed and buffer[start : start + 1] == b"\n":
            del buffer[start]
        self._skip_line_feed = False
        found: list[tuple[int, str]] = []
        line_start = 0
        for match in _END_OF_LINE.finditer(buffer, self._scanned):
            if match.end() == len(buffer) and buffer[match.start()] == 0x0D:
                self._skip_line_feed = True
            data = self._line(bytes(buffer[line_start : match.start()]))
            line_start = match.end()
            if data is not None:
                found.append((self.frames, data))
        del buffer[:line_start]
        self._scanned = len(buffer)
        if len(buffer) > self._max_line:
            raise FrameError(
                f"frame {self.frames + 1}: a line is longer than the limit of "
                f"{self._max_line} bytes"
            )
        return found

    def close(self) -> None:
        """The stream ended: ``FrameError`` if a frame is unfinished."""
        rest = bytes(self._buffer)
        if (rest and not rest.startswith(b":")) or self._open:
            raise FrameError(
                f"frame {self.frames + 1}: unfinished at the end of the stream "
                "(a frame ends with a blank line)"
            )

    def _line(self, raw: bytes) -> str | None:
        if not raw:
            if not self._open:
                return None
            self.frames += 1
            data, self._data, self._open = self._data, [], False
            return "\n".join(data) if data else None
        if raw[0] == 0x3A:  # ':' starts a comment
            return None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError(f"frame {self.frames + 1}: a line is not UTF-8 text") from None
        self._open = True
        name, colon, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if colon and value.startswith(" ") else value)
        return None
