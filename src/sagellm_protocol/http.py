"""HTTP replies for the contract, with no web framework and no I/O.

A server (any framework, or ``sagellm_protocol.asgi``) turns what went wrong into an
``HTTPReply`` (status, headers, body bytes) with these functions, so every component answers
the same problem with the same bytes:

* ``error_reply(problem, envelope=...)``: a ``ProtocolError`` (every problem) or an ``Error``,
  in the native envelope ``{"errors": [Error, ...]}`` or in the OpenAI one
  (``{"error": {...}}``: every problem in the message, the first one's ``param``), with the
  HTTP status of the (first) error code.
* Conditions that only HTTP has, which the closed v0.1 ``ErrorCode`` set does not name:
  ``not_found_reply`` (404), ``method_not_allowed_reply`` (405, with ``Allow``),
  ``payload_too_large_reply`` (413), ``unsupported_media_type_reply`` (415) and
  ``model_not_found_reply`` (404, OpenAI code ``model_not_found``), and
  ``internal_error_reply`` (500) for a server's own failure. In the native envelope
  they carry the nearest contract code, ``invalid_argument``: the status line is what counts.
  In the OpenAI envelope their ``type`` is ``invalid_request_error`` and their ``code`` null,
  except ``model_not_found``.
* Version negotiation on ``X-SageLLM-Protocol-Version``: ``negotiate_version`` accepts no
  header, ``0.1`` and ``0.1.N``; a newer 0.1.N is decoded with ``unknown="ignore"`` and the
  ignored field paths go back in ``X-SageLLM-Ignored-Fields`` (``ignored_fields_header``).

Every reply carries this package's contract version in ``X-SageLLM-Protocol-Version``.
Messages never echo the input (paths, header values, model names stay out of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from pydantic import BaseModel

from ._problems import capped
from ._version import PROTOCOL_VERSION
from .codec import PROTOCOL_VERSION_HEADER, UnknownFields, encode
from .errors import Error, ErrorCode, ProtocolError, bounded
from .limits import MAX_REPORTED_ERRORS
from .openai_compat import to_openai_error
from .openai_types import OpenAIError, OpenAIErrorResponse
from .types import Response

__all__ = [
    "IGNORED_FIELDS_HEADER",
    "JSON_MEDIA_TYPE",
    "MAX_REPORTED_ERRORS",
    "NATIVE_PATHS",
    "Envelope",
    "HTTPReply",
    "envelope_for_path",
    "error_reply",
    "ignored_fields_header",
    "internal_error_reply",
    "is_json_media_type",
    "json_reply",
    "method_not_allowed_reply",
    "model_not_found_reply",
    "negotiate_version",
    "not_found_reply",
    "payload_too_large_reply",
    "response_reply",
    "unsupported_media_type_reply",
]

JSON_MEDIA_TYPE = "application/json"
"""Media type (``Content-Type``) of every JSON reply and of the request bodies accepted."""

IGNORED_FIELDS_HEADER = "X-SageLLM-Ignored-Fields"
"""Reply header listing the request field paths ignored for a newer 0.1.N peer (comma-separated)."""

NATIVE_PATHS = frozenset({"/v1/generate", "/health"})
"""Paths that answer in the native envelope; every other path answers in the OpenAI one."""

Envelope: TypeAlias = Literal["native", "openai"]
"""Shape of an error body: native ``{"errors": [...]}`` or OpenAI ``{"error": {...}}``."""

_HEADER_PATHS_SHOWN = MAX_REPORTED_ERRORS
_HEADER_PATH_LENGTH = 120
# One 0.1 version: "0.1" or "0.1.N" (N without leading zeros, at most 9 digits).
_VERSION = re.compile(r"0\.1(?:\.(0|[1-9][0-9]{0,8}))?")


@dataclass(frozen=True)
class HTTPReply:
    """A whole HTTP reply: status, headers (name, value) in order, and the body bytes."""

    status: int
    """HTTP status code, e.g. 400."""
    headers: tuple[tuple[str, str], ...]
    """Header (name, value) pairs, in order; always Content-Type and the protocol version."""
    body: bytes
    """The body: JSON text."""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def envelope_for_path(path: str) -> Envelope:
    """The error envelope a path answers in: native for ``NATIVE_PATHS``, else OpenAI."""
    return "native" if path in NATIVE_PATHS else "openai"


def json_reply(
    body: BaseModel | bytes, *, status: int = 200, headers: Iterable[tuple[str, str]] = ()
) -> HTTPReply:
    """A JSON reply: ``body`` (a message, written with ``encode``, or JSON bytes).

    Carries ``Content-Type: application/json``, the protocol version header and ``headers``.
    """
    data = body if isinstance(body, bytes) else encode(body)
    return HTTPReply(
        status,
        (
            ("Content-Type", JSON_MEDIA_TYPE),
            (PROTOCOL_VERSION_HEADER, PROTOCOL_VERSION),
            *headers,
        ),
        data,
    )


def _native_body(errors: Sequence[Error], more: int = 0) -> bytes:
    listed = capped(errors, more)
    return b'{"errors":[' + b",".join(encode(error) for error in listed) + b"]}"


def error_reply(
    problem: ProtocolError | Error,
    *,
    envelope: Envelope = "native",
    headers: Iterable[tuple[str, str]] = (),
) -> HTTPReply:
    """The reply for ``problem``, with the HTTP status of its (first) error code.

    Native envelope: ``{"errors": [Error, ...]}`` with every problem (at most
    ``MAX_REPORTED_ERRORS``, the last saying how many more there were). OpenAI envelope: one
    error whose message names every problem, with the first one's ``param``, ``type`` and
    ``code`` (``openai_compat.to_openai_error``).
    """
    errors = problem.errors if isinstance(problem, ProtocolError) else [problem]
    more = problem.more if isinstance(problem, ProtocolError) else 0
    if envelope == "native":
        return json_reply(
            _native_body(errors, more), status=errors[0].code.http_status, headers=headers
        )
    status, body = to_openai_error(problem)
    return json_reply(body, status=status, headers=headers)


def response_reply(response: Response, *, headers: Iterable[tuple[str, str]] = ()) -> HTTPReply:
    """A native non-streamed answer: the Response, with status 200, or the HTTP status of its
    error code when generation failed (``finish_reason == "error"``)."""
    status = 200 if response.error is None else response.error.code.http_status
    return json_reply(response, status=status, headers=headers)


def _http_only(
    status: int,
    message: str,
    envelope: Envelope,
    *,
    param: str | None = None,
    openai_code: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    code: ErrorCode = ErrorCode.INVALID_ARGUMENT,
    openai_type: str = "invalid_request_error",
) -> HTTPReply:
    if envelope == "native":
        error = Error(code=code, message=message, param=param)
        return json_reply(_native_body([error]), status=status, headers=headers)
    body = OpenAIErrorResponse(
        error=OpenAIError(message=message, type=openai_type, param=param, code=openai_code)
    )
    return json_reply(body, status=status, headers=headers)


def not_found_reply(envelope: Envelope) -> HTTPReply:
    """404: no endpoint at the requested path."""
    return _http_only(404, "there is no endpoint at this path", envelope)


def method_not_allowed_reply(allowed: Sequence[str], envelope: Envelope) -> HTTPReply:
    """405: the path exists but not for this method; ``Allow`` lists the methods it takes."""
    methods = ", ".join(allowed)
    return _http_only(
        405,
        f"this endpoint does not take this method (it takes {methods})",
        envelope,
        headers=(("Allow", methods),),
    )


def payload_too_large_reply(limit: int, envelope: Envelope) -> HTTPReply:
    """413: the request body is larger than ``limit`` bytes (declared or found while reading)."""
    return _http_only(413, f"the request body is larger than the limit of {limit} bytes", envelope)


def unsupported_media_type_reply(envelope: Envelope) -> HTTPReply:
    """415: the request body is not declared as JSON (``Content-Type: application/json``)."""
    return _http_only(
        415, f"the request body must be JSON (Content-Type: {JSON_MEDIA_TYPE})", envelope
    )


def model_not_found_reply(
    envelope: Envelope, *, headers: Iterable[tuple[str, str]] = ()
) -> HTTPReply:
    """404: the request names a model that is not served here (``param`` is ``model``)."""
    return _http_only(
        404,
        "model: no model of this name is served here (GET /v1/models lists them)",
        envelope,
        param="model",
        openai_code="model_not_found",
        headers=headers,
    )


def internal_error_reply(envelope: Envelope) -> HTTPReply:
    """500: the server failed to answer (a bug on its side; the details go to its log only).

    The native envelope carries ``unavailable``, the OpenAI one the type ``server_error``.
    """
    return _http_only(
        500,
        "the server failed to answer this request (an internal error)",
        envelope,
        code=ErrorCode.UNAVAILABLE,
        openai_type="server_error",
    )


def is_json_media_type(content_type: str | None) -> bool:
    """True if a request's ``Content-Type`` declares JSON, or if there is none.

    ``application/json`` and ``application/<anything>+json`` are JSON, with any parameters
    (``; charset=utf-8``), in any letter case. A body without a Content-Type is read as JSON.
    """
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == JSON_MEDIA_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def negotiate_version(value: str | None) -> UnknownFields:
    """How to decode a peer's messages, given its ``X-SageLLM-Protocol-Version`` header.

    No header (as OpenAI clients send), ``0.1`` or ``0.1.0``: ``"forbid"`` (the same version).
    ``0.1.N`` with N > 0, a newer 0.1.x: ``"ignore"``, so that the fields it added are dropped
    (report their paths with ``ignored_fields_header``). Anything else raises
    ``ProtocolError`` (``invalid_argument``) whose ``param`` names the header.
    """
    if value is None:
        return "forbid"
    match = _VERSION.fullmatch(value.strip())
    if match is None:
        raise ProtocolError.invalid(
            f"{PROTOCOL_VERSION_HEADER}: this server speaks protocol {PROTOCOL_VERSION} and "
            "accepts 0.1 or 0.1.N (or no header)",
            param=PROTOCOL_VERSION_HEADER,
        )
    return "ignore" if match[1] not in (None, "0") else "forbid"


def _header_safe(path: str) -> str:
    """``path`` with everything outside printable ASCII, and ``%`` and ``,``, percent-encoded."""
    return "".join(
        character
        if " " <= character <= "~" and character not in "%,"
        else "".join(f"%{byte:02X}" for byte in character.encode("utf-8", "surrogatepass"))
        for character in bounded(path, _HEADER_PATH_LENGTH)
    )


def ignored_fields_header(paths: Sequence[str]) -> tuple[str, str] | None:
    """The ``X-SageLLM-Ignored-Fields`` header for the ignored field ``paths``, or None if none.

    Paths are comma-separated, each cut to 120 characters and percent-encoded where it holds
    a comma, ``%``, or a character outside printable ASCII; at most ``MAX_REPORTED_ERRORS``
    are listed, then ``and N more``.
    """
    if not paths:
        return None
    listed, more = list(paths), 0
    counted = _COUNTED.fullmatch(listed[-1]) if len(listed) == MAX_REPORTED_ERRORS + 1 else None
    if counted:  # the count ``decode`` appends to a full ``ignored`` list
        listed, more = listed[:-1], int(counted[1])
    shown = [_header_safe(path) for path in listed[:_HEADER_PATHS_SHOWN]]
    more += len(listed) - len(shown)
    if more:
        shown.append(f"and {more} more")
    return IGNORED_FIELDS_HEADER, ",".join(shown)


_COUNTED = re.compile(r"and ([0-9]+) more")
