"""The error envelope: error codes with their transport mappings, ``Error``, ``ProtocolError``.

Clients branch on ``Error.code``, never on message text. Every code carries its HTTP status,
its gRPC status name and whether a retry may succeed, in one table (``ERROR_CODE_TABLE``).
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Annotated, Any, NamedTuple

from pydantic import Field, ValidationError

from ._base import ProtocolModel
from ._fields import Flag, NotBytes, Text
from .limits import MAX_PARAM_LENGTH

__all__ = [
    "ERROR_CODE_TABLE",
    "Error",
    "ErrorCode",
    "ErrorCodeInfo",
    "ProtocolError",
    "bounded",
    "field_error",
]


class ErrorCode(str, Enum):
    """Why a request failed. Closed in v0.1: a new code needs a new contract version."""

    INVALID_ARGUMENT = "invalid_argument"
    """Missing or illegal input. Not retryable: the same input fails again."""
    RESOURCE_EXHAUSTED = "resource_exhausted"
    """A KV-cache, memory or concurrency quota is used up. Retryable later."""
    UNAVAILABLE = "unavailable"
    """The backend is down (process, network, driver). Retryable."""
    DEADLINE_EXCEEDED = "deadline_exceeded"
    """The request timed out. Retryable."""
    NOT_IMPLEMENTED = "not_implemented"
    """The interface exists but is not implemented here. Not retryable."""

    @property
    def http_status(self) -> int:
        """The HTTP status a gateway answers with for this code."""
        return ERROR_CODE_TABLE[self].http_status

    @property
    def grpc_status(self) -> str:
        """The gRPC status name (``grpc.StatusCode`` member name) for this code."""
        return ERROR_CODE_TABLE[self].grpc_status

    @property
    def retryable(self) -> bool:
        """Whether retrying the same request may succeed (the default for ``Error.retryable``)."""
        return ERROR_CODE_TABLE[self].retryable


class ErrorCodeInfo(NamedTuple):
    """Transport mapping of one error code."""

    http_status: int
    """The HTTP status a gateway answers with, e.g. 400."""
    grpc_status: str
    """The gRPC status name (a ``grpc.StatusCode`` member name), e.g. ``INVALID_ARGUMENT``."""
    retryable: bool
    """Whether retrying the same request may succeed."""


ERROR_CODE_TABLE: Mapping[ErrorCode, ErrorCodeInfo] = types.MappingProxyType(
    {
        ErrorCode.INVALID_ARGUMENT: ErrorCodeInfo(400, "INVALID_ARGUMENT", False),
        ErrorCode.RESOURCE_EXHAUSTED: ErrorCodeInfo(429, "RESOURCE_EXHAUSTED", True),
        ErrorCode.UNAVAILABLE: ErrorCodeInfo(503, "UNAVAILABLE", True),
        ErrorCode.DEADLINE_EXCEEDED: ErrorCodeInfo(504, "DEADLINE_EXCEEDED", True),
        ErrorCode.NOT_IMPLEMENTED: ErrorCodeInfo(501, "UNIMPLEMENTED", False),
    }
)
"""Code -> (HTTP status, gRPC status name, retryable by default)."""


class Error(ProtocolModel):
    """A failure, as carried in a Response, a stream End event or a ProtocolError.

    The message is for people; programs branch on ``code``. The message never contains
    secrets or echoed input such as the prompt.
    """

    code: Annotated[ErrorCode, NotBytes]
    """What kind of failure this is."""
    message: Annotated[str, Field(strict=True, min_length=1)]
    """Human-readable explanation; non-empty; never echoes input or secrets."""
    retryable: Flag | None = None
    """Whether a retry may succeed; None means the code's default (see ``is_retryable``)."""
    param: Text | None = None
    """Path of the offending input field, e.g. ``max_tokens`` or ``messages[0].content``."""

    @property
    def is_retryable(self) -> bool:
        """May the caller retry? An explicit ``retryable`` wins over the code's default."""
        if self.retryable is not None:
            return self.retryable
        return self.code.retryable


class ProtocolError(ValueError):
    """Raised by the wire helpers when a message breaks the contract.

    ``errors`` lists every problem found, not only the first. Model constructors keep raising
    pydantic's ``ValidationError``; ``ProtocolError.from_validation_error`` converts one.
    """

    errors: list[Error]
    """Every problem found, in the order they were found; never empty."""

    def __init__(self, errors: Error | Iterable[Error]) -> None:
        found = [errors] if isinstance(errors, Error) else list(errors)
        if not found:
            raise ValueError("ProtocolError needs at least one Error")
        self.errors = found
        super().__init__(self._summary())

    def _summary(self) -> str:
        if len(self.errors) == 1:
            return self.errors[0].message
        listed = "; ".join(error.message for error in self.errors)
        return f"{len(self.errors)} problems: {listed}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))

    @property
    def error(self) -> Error:
        """The first problem found (the one to report when only one fits)."""
        return self.errors[0]

    @classmethod
    def invalid(cls, message: str, *, param: str | None = None) -> ProtocolError:
        """A ProtocolError with one ``invalid_argument`` error."""
        return cls(Error(code=ErrorCode.INVALID_ARGUMENT, message=message, param=param))

    @classmethod
    def from_validation_error(cls, exc: ValidationError, *, root: Any = None) -> ProtocolError:
        """Turn every problem in a pydantic ``ValidationError`` into an ``Error``.

        Each ``Error`` has code ``invalid_argument``, the path of the field in ``param``
        (``messages[0].content``: dots for fields, brackets for indexes) and a plain English
        message naming the field and the rule it breaks. The input value is never repeated.
        ``root`` is the type that was validated (a model class or the ``StreamEvent`` union);
        by default it is looked up from the error's title among the contract's models.
        """
        from ._translate import errors_from_validation_error  # noqa: PLC0415 - see below

        # The translator needs the registry of message types, which needs ``Error``: it is
        # imported on first use rather than at the top of this module.
        return cls(errors_from_validation_error(exc, root))


_MAX_SHOWN_PATH = 120  # a path quoted in a message is cut shorter still


def bounded(path: str, limit: int) -> str:
    """``path`` cut to ``limit`` characters (ending with "…" when cut), for error text."""
    return path if len(path) <= limit else path[: limit - 1] + "…"


def field_error(param: str | None, rule: str) -> Error:
    """An ``invalid_argument`` Error for the field at ``param`` (None: the whole message).

    The message is ``"<param>: <rule>"`` (``"the message <rule>"`` without a param); the path
    is cut to ``MAX_PARAM_LENGTH`` in ``param`` and shorter in the message.
    """
    if param is None:
        return Error(code=ErrorCode.INVALID_ARGUMENT, message=f"the message {rule}")
    return Error(
        code=ErrorCode.INVALID_ARGUMENT,
        message=f"{bounded(param, _MAX_SHOWN_PATH)}: {rule}",
        param=bounded(param, MAX_PARAM_LENGTH),
    )
