"""The error envelope: error codes with their transport mappings, ``Error``, ``ProtocolError``.

Clients branch on ``Error.code``, never on message text. Every code carries its HTTP status,
its gRPC status name and whether a retry may succeed, in one table (``ERROR_CODE_TABLE``).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Annotated, Any, NamedTuple

from pydantic import Field, ValidationError

from ._base import ProtocolModel
from ._fields import Flag, NotBytes, Text
from .limits import MAX_PARAM_LENGTH, MAX_REPORTED_ERRORS

__all__ = [
    "ERROR_CODE_TABLE",
    "Error",
    "ErrorCode",
    "ErrorCodeInfo",
    "ProtocolError",
    "bounded",
    "field_error",
    "more_problems",
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

    ``errors`` lists the problems found, in the order found: every one, up to
    ``limits.MAX_REPORTED_ERRORS``; ``more`` counts those beyond (the message says
    "and N more problems"). This is the error to log or to show: its messages never hold
    input. Model constructors keep raising pydantic's ``ValidationError``, whose ``errors()``
    and ``json()`` carry the input; ``ProtocolError.from_validation_error`` converts one.
    """

    errors: list[Error]
    """The problems found, in the order they were found (at most ``MAX_REPORTED_ERRORS``);
    never empty."""
    more: int
    """How many more problems there were than ``errors`` lists (0 when it lists them all)."""

    def __init__(self, errors: Error | Iterable[Error], *, more: int = 0) -> None:
        found: list[Error] = []
        extra = 0
        for error in [errors] if isinstance(errors, Error) else errors:
            if len(found) < MAX_REPORTED_ERRORS:
                found.append(error)
            else:
                extra += 1
        if not found:
            raise ValueError("ProtocolError needs at least one Error")
        if type(more) is not int or more < 0:
            raise ValueError("more must be an integer >= 0")
        self.errors = found
        self.more = more + extra
        super().__init__(self._summary())

    def _summary(self) -> str:
        if len(self.errors) == 1 and not self.more:
            return self.errors[0].message
        listed = "; ".join(error.message for error in self.errors)
        if self.more:
            listed += f"; {more_problems(self.more)}"
        return f"{len(self.errors) + self.more} problems: {listed}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (functools.partial(type(self), more=self.more), (self.errors,))

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
        """Turn the problems in a pydantic ``ValidationError`` into ``Error``s.

        Each ``Error`` has code ``invalid_argument``, the path of the field in ``param``
        (``messages[0].content``: dots for fields, brackets for indexes) and a plain English
        message naming the field and the rule it breaks. The input value is never repeated.
        ``root`` is the type that was validated (a model class or the ``StreamEvent`` union);
        by default it is looked up from the error's title among the contract's models. At
        most ``MAX_REPORTED_ERRORS`` problems are converted; the rest are counted in ``more``.
        """
        from ._translate import errors_from_validation_error  # noqa: PLC0415 - see below

        # The translator needs the registry of message types, which needs ``Error``: it is
        # imported on first use rather than at the top of this module.
        errors, more = errors_from_validation_error(exc, root)
        return cls(errors, more=more)


def more_problems(count: int) -> str:
    """``"and 3 more problems"``: the words for problems counted but not listed."""
    return f"and {count} more problem{'s' if count != 1 else ''}"


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
