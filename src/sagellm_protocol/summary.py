"""Summaries of many requests' Metrics: ``Distribution`` and ``MetricsSummary``.

These are contract types (the schema bundle lists ``MetricsSummary``); the functions that
compute them, ``summarize`` and ``distribution``, live in ``sagellm_protocol.metrics``.
Definitions of every figure: docs/metrics.md.
"""

from __future__ import annotations

from pydantic import model_validator
from typing_extensions import Self

from ._base import ProtocolModel, check_ascending, rule_error
from ._fields import Millis, PositiveCount, StrictFloat, TokenCount, TokensPerSecond

__all__ = ["PER_REQUEST_FIELDS", "Distribution", "MetricsSummary"]

_ORDER = ("min", "p50", "p90", "p95", "p99", "max")


class Distribution(ProtocolModel):
    """Statistics of one figure over a set of values, in the unit of the summarized figure.

    Percentiles use linear interpolation between closest ranks (numpy's default ``linear``
    method): for ``count`` sorted values ``x[0..count-1]`` and a fraction ``q``, the index
    is ``h = (count - 1) * q`` and the percentile is
    ``x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``.

    Rules: ``count > 0``; ``min <= p50 <= p90 <= p95 <= p99 <= max``; ``min <= mean <= max``.
    """

    count: PositiveCount
    """How many values were summarized (a count, > 0)."""
    mean: StrictFloat
    """Arithmetic mean of the values, in the unit of the summarized figure."""
    min: StrictFloat
    """Smallest value, in the unit of the summarized figure."""
    max: StrictFloat
    """Largest value, in the unit of the summarized figure."""
    p50: StrictFloat
    """50th percentile (median), in the unit of the summarized figure."""
    p90: StrictFloat
    """90th percentile, in the unit of the summarized figure."""
    p95: StrictFloat
    """95th percentile, in the unit of the summarized figure."""
    p99: StrictFloat
    """99th percentile, in the unit of the summarized figure."""

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        check_ascending(self, _ORDER, "distribution_order")
        if not self.min <= self.mean <= self.max:
            raise rule_error("distribution_mean", "must be within [min, max]", "mean")
        return self


PER_REQUEST_FIELDS = (
    "ttft_ms",
    "tbt_ms",
    "tpot_ms",
    "e2e_ms",
    "throughput_tps",
    "peak_mem_mb",
    "error_rate",
    "kv_used_tokens",
    "kv_used_bytes",
    "prefix_hit_rate",
    "evict_count",
    "evict_ms",
    "spec_accept_rate",
)
"""The MetricsSummary distributions with one value per request (all but ``itl_ms``)."""


class MetricsSummary(ProtocolModel):
    """Aggregate performance figures of many requests (definitions: docs/metrics.md).

    Each distribution summarizes one Metrics figure over the requests that reported it, in
    that figure's unit; its ``count`` says how many did, and a figure no request reported is
    None. ``itl_ms`` pools the gaps of every request's ``itl_list``, so its count is a number
    of gaps, not of requests. The mean of per-request throughput is ``throughput_tps.mean``;
    the aggregate error rate is ``error_rate.mean`` (every request weighs the same).

    Rules: ``count > 0``; every per-request distribution (all but ``itl_ms``) has
    ``count <= count``; ``aggregate_throughput_tps`` is given only when
    ``output_tokens_total`` and ``span_ms`` are given.
    """

    count: PositiveCount
    """Number of requests summarized (a count, > 0)."""
    ttft_ms: Distribution
    """Time to first token per request, in ms."""
    tbt_ms: Distribution | None = None
    """Mean time between tokens per request, in ms."""
    tpot_ms: Distribution | None = None
    """Time per output token after the first, per request, in ms."""
    itl_ms: Distribution | None = None
    """Every inter-token gap of every request's itl_list, pooled, in ms."""
    e2e_ms: Distribution | None = None
    """End-to-end latency (completed_at - queued_at) of the requests with timestamps, in ms."""
    throughput_tps: Distribution
    """Output tokens per second of end-to-end time, per request, in tokens/s."""
    peak_mem_mb: Distribution
    """Peak device memory per request, in MB."""
    error_rate: Distribution
    """Fraction of failed work per request, a ratio in [0, 1]."""
    kv_used_tokens: Distribution | None = None
    """KV-cache entries used per request, in tokens."""
    kv_used_bytes: Distribution | None = None
    """KV-cache memory used per request, in bytes."""
    prefix_hit_rate: Distribution | None = None
    """Fraction of prompt tokens served from the prefix cache per request, a ratio in [0, 1]."""
    evict_count: Distribution | None = None
    """KV-cache evictions per request (a count)."""
    evict_ms: Distribution | None = None
    """Time spent on KV-cache evictions per request, in ms."""
    spec_accept_rate: Distribution | None = None
    """Fraction of speculative tokens accepted per request, a ratio in [0, 1]."""
    output_tokens_total: TokenCount | None = None
    """Output tokens of all requests, in tokens; None when some request's count is unknown."""
    span_ms: Millis | None = None
    """Latest completed_at minus earliest queued_at, in ms; None unless all have timestamps."""
    aggregate_throughput_tps: TokensPerSecond | None = None
    """Output tokens of all requests per second of span, in tokens/s; None when unknown."""

    @model_validator(mode="after")
    def _check_counts(self) -> Self:
        for name in PER_REQUEST_FIELDS:
            summarized: Distribution | None = getattr(self, name)
            if summarized is not None and summarized.count > self.count:
                raise rule_error(
                    "summary_count",
                    "must not exceed count (the number of requests summarized)",
                    f"{name}.count",
                )
        if self.aggregate_throughput_tps is not None and (
            self.output_tokens_total is None or self.span_ms is None
        ):
            raise rule_error(
                "summary_throughput",
                "is given only when output_tokens_total and span_ms are given",
                "aggregate_throughput_tps",
            )
        return self
