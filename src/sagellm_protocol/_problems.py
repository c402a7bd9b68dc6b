"""Several problems reported as one: a capped list, or one Error naming them all."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import Error, more_problems
from .limits import MAX_REPORTED_ERRORS

__all__ = ["MAX_REPORTED_ERRORS", "capped", "summary_error"]


def capped(errors: Sequence[Error], more: int = 0) -> list[Error]:
    """``errors`` cut to ``MAX_REPORTED_ERRORS``, the last one saying how many were left out
    (``more`` counts problems already left out of ``errors``)."""
    if len(errors) <= MAX_REPORTED_ERRORS and not more:
        return list(errors)
    kept = list(errors[: MAX_REPORTED_ERRORS - 1])
    left = len(errors) - len(kept) + more
    return [*kept, Error(code=errors[0].code, message=more_problems(left))]


def summary_error(errors: Sequence[Error], more: int = 0) -> Error:
    """One Error for ``errors``: the first one's code, param and retryable, every message.

    One problem is returned as it is; several give ``"3 problems: a; b; c"`` (at most
    ``MAX_REPORTED_ERRORS`` messages, then "and N more problems"; ``more`` counts problems
    already left out of ``errors``).
    """
    if len(errors) == 1 and not more:
        return errors[0]
    shown = [error.message for error in errors[:MAX_REPORTED_ERRORS]]
    left = len(errors) - len(shown) + more
    if left:
        shown.append(more_problems(left))
    total = len(errors) + more
    return errors[0].model_copy(update={"message": f"{total} problems: {'; '.join(shown)}"})
