"""Observability timestamps: when a request moved through the engine."""

from __future__ import annotations

from pydantic import model_validator
from typing_extensions import Self

from ._base import ProtocolModel, check_ascending
from ._fields import Seconds

__all__ = ["Timestamps"]

_ORDER = ("queued_at", "scheduled_at", "executed_at", "completed_at")


class Timestamps(ProtocolModel):
    """Absolute times of one request's life, in seconds (float) on one clock.

    The producer says which clock (Unix time or a monotonic clock); every time of one request,
    token arrival times included, is on that clock. Rule: all times are >= 0 and
    ``queued_at <= scheduled_at <= executed_at <= completed_at``.
    """

    queued_at: Seconds
    """When the request entered the queue (arrival), in seconds."""
    scheduled_at: Seconds
    """When resources were assigned to the request, in seconds."""
    executed_at: Seconds
    """When the first output token started (execution began), in seconds."""
    completed_at: Seconds
    """When generation finished, in seconds."""

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        check_ascending(self, _ORDER, "timestamps_order", below="earlier than")
        return self
