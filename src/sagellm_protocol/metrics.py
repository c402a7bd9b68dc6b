"""The contract's metric definitions: derive Metrics from timings, and summarize many requests.

Every figure is defined once here and in docs/metrics.md. Times come in as absolute seconds on
the producer's clock (the clock of the request's ``Timestamps``); durations go out in
milliseconds, throughput in tokens per second. Standard library only.

>>> from sagellm_protocol import Timestamps
>>> times = Timestamps(queued_at=10.0, scheduled_at=10.0, executed_at=10.1, completed_at=10.5)
>>> metrics = metrics_from_timings(times, [10.2, 10.3, 10.5])
>>> round(metrics.ttft_ms, 6), round(metrics.tpot_ms, 6), round(metrics.throughput_tps, 6)
(200.0, 150.0, 6.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, TypedDict

from pydantic import ValidationError
from typing_extensions import Unpack

from .errors import Error, ErrorCode, ProtocolError
from .summary import PER_REQUEST_FIELDS, Distribution, MetricsSummary
from .timestamps import Timestamps
from .types import Metrics, Response, StreamEventEnd

__all__ = [
    "CLOCK_MISMATCH_MIN_S",
    "PERCENTILES",
    "OptionalFigures",
    "distribution",
    "metrics_from_timings",
    "percentile",
    "summarize",
]

PERCENTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
"""The percentiles a Distribution reports, as fractions in [0, 1]."""

CLOCK_MISMATCH_MIN_S = 1.0
"""A token time further outside the request's window than this many seconds, and than the
request's own end-to-end time, is reported as a different clock (or unit), not as a late or
early token."""


class OptionalFigures(TypedDict, total=False):
    """Optional Metrics figures that ``metrics_from_timings`` passes through unchanged."""

    kv_used_tokens: int
    """KV-cache entries used, in tokens."""
    kv_used_bytes: int
    """KV-cache memory used, in bytes."""
    prefix_hit_rate: float
    """Fraction of prompt tokens served from the prefix cache, in [0, 1]."""
    evict_count: int
    """Number of KV-cache evictions (a count)."""
    evict_ms: float
    """Time spent on KV-cache evictions, in ms."""
    spec_accept_rate: float
    """Fraction of speculative tokens accepted, in [0, 1]."""
    component_trace: list[str]
    """Components that served the request, in order."""


_DERIVED = ("ttft_ms", "tbt_ms", "tpot_ms", "throughput_tps", "itl_list", "timestamps")


def _problem(message: str, param: str) -> Error:
    return Error(code=ErrorCode.INVALID_ARGUMENT, message=message, param=param)


def _figure_problems(names: Iterable[str]) -> list[Error]:
    allowed = OptionalFigures.__annotations__
    problems = []
    for name in names:
        if name in _DERIVED:
            problems.append(
                _problem(f"{name}: is computed from the timings and cannot be given", name)
            )
        elif name not in allowed:
            problems.append(
                _problem(
                    f"{name}: is not an optional Metrics figure "
                    f"(expected one of {', '.join(allowed)})",
                    name,
                )
            )
    return problems


def _time_problems(timestamps: Timestamps, times: Sequence[Any]) -> list[Error]:
    """The problems of the token times, first offender of each kind; [] when they are sound."""
    for index, value in enumerate(times):
        param = f"token_times[{index}]"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [_problem(f"{param}: must be a number of seconds", param)]
        if not math.isfinite(value):
            return [_problem(f"{param}: must be a finite number of seconds", param)]
    start, end = timestamps.executed_at, timestamps.completed_at
    tolerance = max(timestamps.completed_at - timestamps.queued_at, CLOCK_MISMATCH_MIN_S)
    for index, value in enumerate(times):
        if value < start - tolerance or value > end + tolerance:
            param = f"token_times[{index}]"
            return [
                _problem(
                    f"{param}: is far outside the request's time window; the token times "
                    "look like a different clock (or unit) than the Timestamps, and must be "
                    "absolute seconds on the Timestamps' clock",
                    param,
                )
            ]
    problems = []
    early = next((i for i, value in enumerate(times) if value < start), None)
    if early is not None:
        problems.append(
            _problem(
                f"token_times[{early}]: must not be earlier than timestamps.executed_at",
                f"token_times[{early}]",
            )
        )
    late = next((i for i, value in enumerate(times) if value > end), None)
    if late is not None:
        problems.append(
            _problem(
                f"token_times[{late}]: must not be later than timestamps.completed_at",
                f"token_times[{late}]",
            )
        )
    unsorted = next((i for i in range(1, len(times)) if times[i] < times[i - 1]), None)
    if unsorted is not None:
        problems.append(
            _problem(
                f"token_times[{unsorted}]: must not be earlier than token_times[{unsorted - 1}] "
                "(token times are in arrival order)",
                f"token_times[{unsorted}]",
            )
        )
    return problems


def metrics_from_timings(
    timestamps: Timestamps,
    token_times: Iterable[float],
    *,
    peak_mem_mb: int = 0,
    error_rate: float = 0.0,
    **optional_figures: Unpack[OptionalFigures],
) -> Metrics:
    """Metrics of one request from its Timestamps and the arrival time of each output token.

    Clock and units: ``token_times`` are absolute times in seconds, one per output token in
    arrival order, on the same clock as ``timestamps`` (tokens delivered together share one
    time). Results are in ms, throughput in tokens/s. With ``n`` output tokens at
    ``t[0] <= ... <= t[n-1]``, ``q = queued_at`` and ``c = completed_at``:

    * ``ttft_ms = (t[0] - q) * 1000``; for ``n = 0``, ``ttft_ms = E2E = (c - q) * 1000``;
    * ``itl_list = [(t[i] - t[i-1]) * 1000 for i = 1 .. n-1]`` (``[]`` for ``n <= 1``);
    * ``tbt_ms`` = mean of ``itl_list`` (``0.0`` for ``n <= 1``);
    * ``tpot_ms = (E2E - TTFT) / (n - 1) = (c - t[0]) * 1000 / (n - 1)`` for ``n > 1``,
      ``0.0`` otherwise;
    * ``throughput_tps = n / (c - q)``; ``0.0`` for ``n = 0``;
    * ``timestamps`` is the given Timestamps.

    ``peak_mem_mb``, ``error_rate`` and ``optional_figures`` (the optional Metrics figures
    listed in ``OptionalFigures``) are passed through.

    Raises ``ProtocolError`` (``invalid_argument``, with ``param``) when a token time is not
    a finite number, lies outside ``[executed_at, completed_at]`` (far outside: reported as a
    different clock), or is earlier than the one before it; when ``n > 0`` and
    ``completed_at == queued_at`` (throughput would be infinite: use a finer clock); when an
    optional figure is unknown or derived; and when a passed-through figure breaks its rule.
    """
    if not isinstance(timestamps, Timestamps):
        raise TypeError("timestamps must be a Timestamps")
    times = list(token_times)
    problems = _figure_problems(optional_figures) + _time_problems(timestamps, times)
    if problems:
        raise ProtocolError(problems)
    count = len(times)
    queued, completed = timestamps.queued_at, timestamps.completed_at
    e2e_s = completed - queued
    if count and e2e_s == 0:
        raise ProtocolError.invalid(
            "timestamps.completed_at: equals queued_at although output tokens were produced, "
            "so throughput (tokens / end-to-end time) is undefined; use a clock with a finer "
            "resolution",
            param="timestamps.completed_at",
        )
    gaps = [(times[i] - times[i - 1]) * 1000 for i in range(1, count)]
    if count == 0:
        ttft_ms, tbt_ms, tpot_ms, throughput = e2e_s * 1000, 0.0, 0.0, 0.0
    else:
        ttft_ms = (times[0] - queued) * 1000
        tbt_ms = math.fsum(gaps) / len(gaps) if gaps else 0.0
        tpot_ms = (completed - times[0]) * 1000 / (count - 1) if count > 1 else 0.0
        throughput = count / e2e_s
    if not all(math.isfinite(v) for v in (ttft_ms, tbt_ms, tpot_ms, throughput, *gaps)):
        raise ProtocolError.invalid(
            "timestamps: the times are too far apart (or too close) to express the metrics "
            "as finite numbers",
            param="timestamps",
        )
    try:
        return Metrics(
            ttft_ms=ttft_ms,
            tbt_ms=tbt_ms,
            tpot_ms=tpot_ms,
            throughput_tps=throughput,
            peak_mem_mb=peak_mem_mb,
            error_rate=error_rate,
            itl_list=gaps,
            timestamps=timestamps,
            **optional_figures,
        )
    except ValidationError as exc:
        raise ProtocolError.from_validation_error(exc, root=Metrics) from None


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (in [0, 1]) of ascending ``ordered`` values.

    Linear interpolation between closest ranks, numpy's default (``linear``) method:
    ``h = (len - 1) * fraction``; the result lies between ``ordered[floor(h)]`` and
    ``ordered[ceil(h)]`` in proportion ``h - floor(h)``. ``ValueError`` when empty or when
    ``fraction`` is outside [0, 1].
    """
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be in [0, 1]")
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    low = ordered[lower]
    weight = position - lower
    if weight == 0:
        return low
    high = ordered[lower + 1]
    difference = high - low
    if math.isinf(difference):  # values of opposite signs near the float limit
        value = low * (1 - weight) + high * weight
    elif weight >= 0.5:  # numpy's two-sided form, so results agree to the last bit
        value = high - difference * (1 - weight)
    else:
        value = low + difference * weight
    return min(max(value, low), high)  # rounding must not leave [low, high]


def distribution(values: Iterable[float]) -> Distribution:
    """The Distribution (count, mean, min, max, p50, p90, p95, p99) of finite ``values``.

    Units are those of the values. ``mean`` is the arithmetic mean (``math.fsum`` of the
    values / count, kept within [min, max] against rounding); percentiles follow
    ``percentile``. ``ValueError`` when there are no values or one is not finite.
    """
    ordered = sorted(float(value) for value in values)
    if not ordered:
        raise ValueError("distribution of no values")
    if not all(math.isfinite(value) for value in ordered):
        raise ValueError("distribution of values that are not all finite")
    count = len(ordered)
    try:
        mean = math.fsum(ordered) / count
    except OverflowError:  # the sum leaves the float range, the mean does not: sum halves
        mean = 2 * math.fsum(value / (2 * count) for value in ordered)
    low, high = ordered[0], ordered[-1]
    return Distribution(
        count=count,
        mean=min(max(mean, low), high),  # rounding must not push the mean out of range
        min=low,
        max=high,
        **{name: percentile(ordered, fraction) for name, fraction in PERCENTILES.items()},
    )


def summarize(items: Iterable[Metrics | Response | StreamEventEnd]) -> MetricsSummary:
    """Summarize the Metrics of many requests (``Metrics``, ``Response`` or ``StreamEventEnd``).

    * ``count``: the number of items.
    * One Distribution per numeric Metrics figure over the items that report it (its
      ``count`` says how many); None when none does. Percentiles interpolate linearly between
      closest ranks (numpy's default method); see ``distribution``.
    * ``e2e_ms``: ``(completed_at - queued_at) * 1000`` of the items with timestamps.
    * ``itl_ms``: all gaps of all ``itl_list`` values pooled (its count is a number of gaps).
    * ``output_tokens_total``: the sum of each item's output tokens: exactly
      ``len(output_tokens)`` for a Response or StreamEventEnd; for a bare Metrics,
      ``round(throughput_tps * (completed_at - queued_at))`` (inverting the throughput
      definition), which needs timestamps. None when some item has neither.
    * ``span_ms``: ``(max completed_at - min queued_at) * 1000`` when every item has
      timestamps (meaningful only when all requests share one clock), else None.
    * ``aggregate_throughput_tps``: ``output_tokens_total / span`` in tokens/s, span in
      seconds; ``0.0`` when there are no output tokens; None when the total or the span is
      unknown, or the span is zero while there are tokens, or the rate is beyond the float
      range (a total or a span too extreme for a finite rate).
    * The request-mean throughput is ``throughput_tps.mean``; the aggregate error rate is
      ``error_rate.mean`` (the mean of per-request error_rate, each request weighing the same).

    Raises ``ProtocolError`` (``invalid_argument``) for no items (param ``items``) or times
    too far apart to express in ms (param ``items[i].timestamps`` or ``items``);
    ``TypeError`` for an item of another type.
    """
    metrics: list[Metrics] = []
    exact_tokens: list[int | None] = []
    for index, item in enumerate(items):
        if isinstance(item, Metrics):
            metrics.append(item)
            exact_tokens.append(None)
        elif isinstance(item, (Response, StreamEventEnd)):
            metrics.append(item.metrics)
            exact_tokens.append(len(item.output_tokens))
        else:
            raise TypeError(f"items[{index}] must be a Metrics, Response or StreamEventEnd")
    if not metrics:
        raise ProtocolError.invalid(
            "items: nothing to summarize (give at least one Metrics or Response)", param="items"
        )
    e2e_s = [
        None if m.timestamps is None else m.timestamps.completed_at - m.timestamps.queued_at
        for m in metrics
    ]
    e2e_ms = []
    for index, seconds in enumerate(e2e_s):
        if seconds is not None:
            e2e_ms.append(_milliseconds(seconds, f"items[{index}].timestamps"))
    data: dict[str, Any] = {"count": len(metrics), "e2e_ms": _summary_of(e2e_ms)}
    for name in PER_REQUEST_FIELDS:
        if name != "e2e_ms":
            data[name] = _summary_of([v for m in metrics if (v := getattr(m, name)) is not None])
    data["itl_ms"] = _summary_of([gap for m in metrics if m.itl_list for gap in m.itl_list])

    total: int | None = 0
    for m, exact, seconds in zip(metrics, exact_tokens, e2e_s, strict=True):
        tokens = exact
        if tokens is None and seconds is not None:
            implied = m.throughput_tps * seconds
            tokens = round(implied) if math.isfinite(implied) else None
        total = None if total is None or tokens is None else total + tokens
    data["output_tokens_total"] = total

    if all(m.timestamps is not None for m in metrics):
        stamps = [m.timestamps for m in metrics if m.timestamps is not None]
        span_s = max(t.completed_at for t in stamps) - min(t.queued_at for t in stamps)
        data["span_ms"] = _milliseconds(span_s, "items")
        if total == 0:
            data["aggregate_throughput_tps"] = 0.0
        elif total is not None and span_s > 0:
            data["aggregate_throughput_tps"] = _rate(total, span_s)
    return MetricsSummary.model_validate(data)


def _rate(tokens: int, seconds: float) -> float | None:
    """``tokens / seconds``, or None when that is beyond the float range."""
    try:
        rate = tokens / seconds
    except OverflowError:  # more tokens than a float holds
        return None
    return rate if math.isfinite(rate) else None


def _summary_of(values: list[float]) -> Distribution | None:
    return distribution(values) if values else None


def _milliseconds(seconds: float, param: str) -> float:
    value = seconds * 1000
    if not math.isfinite(value):
        raise ProtocolError.invalid(
            f"{param}: the times are too far apart to express in milliseconds", param=param
        )
    return value
