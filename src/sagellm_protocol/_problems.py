"""Several problems reported as one: a capped list, or one Error naming them all."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import Error

__all__ = ["MAX_REPORTED_ERRORS", "capped", "summary_error"]

MAX_REPORTED_ERRORS = 20
"""Most problems listed in one reply or one message; the rest are counted ("and N more")."""


def _more(count: int) -> str:
    return f"and {count} more problem{'s' if count != 1 else ''}"


def capped(errors: Sequence[Error]) -> list[Error]:
    """``errors`` cut to ``MAX_REPORTED_ERRORS``, the last one saying how many were left out."""
    if len(errors) <= MAX_REPORTED_ERRORS:
        return list(errors)
    kept = list(errors[: MAX_REPORTED_ERRORS - 1])
    left = len(errors) - len(kept)
    return [*kept, Error(code=errors[0].code, message=_more(left))]


def summary_error(errors: Sequence[Error]) -> Error:
    """One Error for ``errors``: the first one's code, param and retryable, every message.

    One problem is returned as it is; several give ``"3 problems: a; b; c"`` (at most
    ``MAX_REPORTED_ERRORS`` messages, then "and N more problems").
    """
    if len(errors) == 1:
        return errors[0]
    shown = [error.message for error in errors[:MAX_REPORTED_ERRORS]]
    if len(errors) > MAX_REPORTED_ERRORS:
        shown.append(_more(len(errors) - MAX_REPORTED_ERRORS))
    return errors[0].model_copy(update={"message": f"{len(errors)} problems: {'; '.join(shown)}"})
