"""The metric definitions of docs/metrics.md, computed from known timings, and the summaries."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sagellm_protocol import Metrics, ProtocolError, Response, StreamEventEnd, Timestamps
from sagellm_protocol.metrics import (
    CLOCK_MISMATCH_MIN_S,
    OptionalFigures,
    distribution,
    metrics_from_timings,
    percentile,
    summarize,
)
from sagellm_protocol.summary import PER_REQUEST_FIELDS, Distribution, MetricsSummary
from sagellm_protocol.testing import example
from sagellm_protocol.testing.strategies import strategy_for

ROOT = Path(__file__).resolve().parent.parent
UNIX_NOW = 1_700_000_000.0


def _ts(queued: float, completed: float, executed: float | None = None) -> Timestamps:
    executed = queued if executed is None else executed
    return Timestamps(
        queued_at=queued, scheduled_at=queued, executed_at=executed, completed_at=completed
    )


def _param(caught: pytest.ExceptionInfo[ProtocolError]) -> list[str | None]:
    return [error.param for error in caught.value.errors]


# --- hand-computed examples: n = 0, 1, 2 and a larger one ---------------------------------


def test_no_token_ttft_is_e2e_and_the_rest_is_zero() -> None:
    metrics = metrics_from_timings(_ts(10.0, 12.0, executed=11.0), [])
    assert metrics.ttft_ms == 2000.0
    assert (metrics.tbt_ms, metrics.tpot_ms, metrics.throughput_tps) == (0.0, 0.0, 0.0)
    assert metrics.itl_list == []


def test_one_token() -> None:
    metrics = metrics_from_timings(_ts(10.0, 11.0, executed=10.25), [10.5])
    assert metrics.ttft_ms == 500.0
    assert (metrics.tbt_ms, metrics.tpot_ms) == (0.0, 0.0)
    assert metrics.itl_list == []
    assert metrics.throughput_tps == 1.0


def test_two_tokens() -> None:
    metrics = metrics_from_timings(_ts(100.0, 101.0, executed=100.125), [100.25, 100.75])
    assert metrics.ttft_ms == 250.0
    assert metrics.itl_list == [500.0]
    assert metrics.tbt_ms == 500.0
    assert metrics.tpot_ms == 750.0  # (1000 - 250) / (2 - 1)
    assert metrics.throughput_tps == 2.0


FIVE = (_ts(0.0, 2.0, executed=0.25), [0.5, 0.625, 0.75, 1.0, 1.25])


def test_five_tokens() -> None:
    metrics = metrics_from_timings(*FIVE)
    assert metrics.ttft_ms == 500.0
    assert metrics.itl_list == [125.0, 125.0, 250.0, 250.0]
    assert metrics.tbt_ms == 187.5
    assert metrics.tpot_ms == 375.0  # (2000 - 500) / 4
    assert metrics.throughput_tps == 2.5


# --- one test per formula of docs/metrics.md, each from known timings ----------------------


def formula_ttft_ms() -> None:
    ts = _ts(UNIX_NOW, UNIX_NOW + 3.0)
    metrics = metrics_from_timings(ts, [UNIX_NOW + 0.2, UNIX_NOW + 0.9])
    assert metrics.ttft_ms == pytest.approx(200.0, abs=1e-3)  # Unix floats: ~0.2 us steps
    assert metrics_from_timings(ts, []).ttft_ms == pytest.approx(3000.0)


def formula_e2e_ms() -> None:
    summary = summarize([metrics_from_timings(_ts(5.0, 5.75), [5.5])])
    assert summary.e2e_ms is not None
    assert summary.e2e_ms.mean == 750.0


def formula_itl_list() -> None:
    metrics = metrics_from_timings(_ts(1.0, 3.0), [1.5, 1.5, 2.0, 2.75])
    assert metrics.itl_list == [0.0, 500.0, 750.0]  # tokens delivered together: a 0 gap


def formula_tbt_ms() -> None:
    times = [1.5, 1.5, 2.0, 2.75]
    metrics = metrics_from_timings(_ts(1.0, 3.0), times)
    assert metrics.tbt_ms == (2.75 - 1.5) * 1000 / 3
    assert metrics.tbt_ms == pytest.approx(sum(metrics.itl_list or []) / 3)


def formula_tpot_ms() -> None:
    metrics = metrics_from_timings(_ts(1.0, 3.0), [1.5, 1.5, 2.0, 2.75])
    e2e_ms, ttft_ms = 2000.0, 500.0
    assert metrics.tpot_ms == (e2e_ms - ttft_ms) / 3
    assert metrics.tbt_ms is not None
    assert metrics.tpot_ms > metrics.tbt_ms  # completed 0.25 s after the last token


def formula_throughput_tps() -> None:
    assert metrics_from_timings(_ts(1.0, 3.0), [1.5, 2.0, 2.5]).throughput_tps == 1.5
    assert metrics_from_timings(_ts(1.0, 3.0), []).throughput_tps == 0.0


def formula_percentile() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.9) == pytest.approx(7.6)  # h = 3.6: 4 + 0.6 * 6
    assert percentile(values, 0.95) == pytest.approx(8.8)
    assert percentile(values, 0.99) == pytest.approx(9.76)
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 10.0


def formula_mean() -> None:
    assert distribution([1.0, 2.0, 3.0, 10.0]).mean == 4.0
    assert distribution([0.1, 0.1, 0.1]).mean == 0.1  # fsum-exact, not 0.1 + 0.1 + 0.1


def formula_itl_ms() -> None:
    first = metrics_from_timings(_ts(0.0, 1.0), [0.25, 0.5, 1.0])
    second = metrics_from_timings(_ts(0.0, 1.0), [0.125, 0.25])
    single = metrics_from_timings(_ts(0.0, 1.0), [0.5])
    summary = summarize([first, second, single])
    assert summary.itl_ms is not None
    assert summary.itl_ms.count == 3  # gaps, not requests
    assert (summary.itl_ms.min, summary.itl_ms.max) == (125.0, 500.0)
    assert summary.itl_ms.mean == pytest.approx((250 + 500 + 125) / 3)


def formula_output_tokens_total() -> None:
    bare = metrics_from_timings(_ts(0.0, 0.3), [0.1] * 7)  # throughput 7 / 0.3 inverts to 7
    response = example(Response, output_tokens=[1, 2, 3], metrics=example(Metrics))
    assert summarize([bare]).output_tokens_total == 7
    assert summarize([bare, response]).output_tokens_total == 10
    assert summarize([bare, example(Metrics)]).output_tokens_total is None


def formula_span_ms() -> None:
    first = metrics_from_timings(_ts(10.0, 11.0), [10.5])
    second = metrics_from_timings(_ts(10.5, 12.25), [11.0])
    assert summarize([first, second]).span_ms == 2250.0  # 12.25 - 10.0


def formula_aggregate_throughput_tps() -> None:
    first = metrics_from_timings(_ts(10.0, 11.0), [10.25, 10.5, 10.75])
    second = metrics_from_timings(_ts(10.5, 12.0), [11.0])
    summary = summarize([first, second])
    assert summary.output_tokens_total == 4
    assert summary.aggregate_throughput_tps == 2.0  # 4 tokens / 2 s
    assert summary.throughput_tps.mean == pytest.approx((3.0 + 1 / 1.5) / 2)


def formula_mean_throughput_tps() -> None:
    rates = [10.0, 20.0, 60.0]
    summary = summarize([example(Metrics, throughput_tps=rate) for rate in rates])
    assert summary.throughput_tps.mean == 30.0


def formula_aggregate_error_rate() -> None:
    rates = [0.0, 1.0, 0.0, 0.5]
    summary = summarize([example(Metrics, error_rate=rate) for rate in rates])
    assert summary.error_rate.mean == 0.375


FORMULA_TESTS: dict[str, Callable[[], None]] = {
    "ttft_ms": formula_ttft_ms,
    "e2e_ms": formula_e2e_ms,
    "itl_list": formula_itl_list,
    "tbt_ms": formula_tbt_ms,
    "tpot_ms": formula_tpot_ms,
    "throughput_tps": formula_throughput_tps,
    "percentile": formula_percentile,
    "mean": formula_mean,
    "itl_ms": formula_itl_ms,
    "output_tokens_total": formula_output_tokens_total,
    "span_ms": formula_span_ms,
    "aggregate_throughput_tps": formula_aggregate_throughput_tps,
    "mean_throughput_tps": formula_mean_throughput_tps,
    "aggregate_error_rate": formula_aggregate_error_rate,
}


@pytest.mark.parametrize("name", list(FORMULA_TESTS))
def test_formula(name: str) -> None:
    FORMULA_TESTS[name]()


def test_every_documented_formula_has_a_test() -> None:
    text = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- formulas:begin -->\n(.*?)<!-- formulas:end -->", text, re.DOTALL)
    assert match
    names = re.findall(r"^\| `([a-z0-9_]+)` \|", match[1], re.MULTILINE)
    assert names == list(FORMULA_TESTS)


# --- pass-through figures -------------------------------------------------------------------


def test_timestamps_and_figures_are_passed_through() -> None:
    ts, times = FIVE
    metrics = metrics_from_timings(
        ts,
        times,
        peak_mem_mb=2048,
        error_rate=0.5,
        kv_used_tokens=128,
        spec_accept_rate=0.75,
        component_trace=["sagellm-core"],
    )
    assert metrics.timestamps == ts
    assert (metrics.peak_mem_mb, metrics.error_rate) == (2048, 0.5)
    assert (metrics.kv_used_tokens, metrics.spec_accept_rate) == (128, 0.75)
    assert metrics.component_trace == ["sagellm-core"]
    assert metrics.prefix_hit_rate is None


def test_optional_figures_are_the_optional_metrics_fields() -> None:
    derived = {"ttft_ms", "tbt_ms", "tpot_ms", "throughput_tps", "itl_list", "timestamps"}
    passed = {"peak_mem_mb", "error_rate"}
    assert set(OptionalFigures.__annotations__) == set(Metrics.model_fields) - derived - passed


def test_tpot_equals_tbt_when_completion_is_the_last_token() -> None:
    metrics = metrics_from_timings(_ts(0.0, 1.25), [0.5, 0.75, 1.25])
    assert metrics.tpot_ms == metrics.tbt_ms == 375.0


def test_empty_window_without_tokens_is_all_zero() -> None:
    metrics = metrics_from_timings(_ts(5.0, 5.0), [])
    assert (metrics.ttft_ms, metrics.tpot_ms, metrics.throughput_tps) == (0.0, 0.0, 0.0)


# --- every ProtocolError case, with its param -----------------------------------------------


@pytest.mark.parametrize(
    ("times", "param", "words"),
    [
        ([0.5, 0.75, 0.625], "token_times[2]", "earlier than token_times[1]"),
        ([0.2, 0.5], "token_times[0]", "executed_at"),
        ([0.5, 2.5], "token_times[1]", "completed_at"),
        ([0.5, math.nan], "token_times[1]", "finite"),
        ([math.inf], "token_times[0]", "finite"),
        ([0.5, -math.inf], "token_times[1]", "finite"),
        ([True], "token_times[0]", "number"),
        ([0.5, "0.75"], "token_times[1]", "number"),
        ([0.5, None], "token_times[1]", "number"),
    ],
)
def test_inconsistent_token_times_are_rejected(times: list[Any], param: str, words: str) -> None:
    ts = _ts(0.0, 2.0, executed=0.25)
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(ts, times)
    assert _param(caught) == [param]
    assert words in caught.value.error.message
    assert param in caught.value.error.message
    assert caught.value.error.code == "invalid_argument"


def test_every_kind_of_window_problem_is_reported_at_once() -> None:
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(_ts(0.0, 2.0, executed=0.25), [0.125, 1.0, 0.5, 2.5])
    assert _param(caught) == ["token_times[0]", "token_times[3]", "token_times[2]"]


@pytest.mark.parametrize(
    "times",
    [
        [12_345.5, 12_345.6],  # time.perf_counter() against Unix-time timestamps
        [(UNIX_NOW + 0.5) * 1000],  # milliseconds against seconds
        [UNIX_NOW + 0.5 - 3600],  # an hour off
    ],
)
def test_a_different_clock_is_named(times: list[float]) -> None:
    ts = _ts(UNIX_NOW, UNIX_NOW + 2.0)
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(ts, times)
    assert _param(caught) == ["token_times[0]"]
    assert "different clock" in caught.value.error.message


def test_slightly_outside_is_not_called_a_different_clock() -> None:
    ts = _ts(UNIX_NOW, UNIX_NOW + 0.5)
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(ts, [UNIX_NOW + 0.5 + CLOCK_MISMATCH_MIN_S * 0.9])
    assert "different clock" not in caught.value.error.message
    assert "completed_at" in caught.value.error.message


def test_tokens_with_zero_end_to_end_time_are_rejected() -> None:
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(_ts(5.0, 5.0), [5.0])
    assert _param(caught) == ["timestamps.completed_at"]
    assert "undefined" in caught.value.error.message


@pytest.mark.parametrize(
    ("timestamps", "times"),
    [
        (_ts(0.0, 1e306), []),  # 1e309 ms is not a finite float
        (_ts(0.0, 5e-324), [5e-324]),  # 1 token / 5e-324 s is not a finite rate
    ],
)
def test_figures_that_would_not_be_finite_are_rejected(
    timestamps: Timestamps, times: list[float]
) -> None:
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(timestamps, times)
    assert _param(caught) == ["timestamps"]


def test_an_unknown_optional_figure_is_named() -> None:
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(*FIVE, kv_used=1)  # type: ignore[call-arg]
    assert _param(caught) == ["kv_used"]
    assert "kv_used: is not an optional Metrics figure" in caught.value.error.message


def test_a_derived_figure_cannot_be_given() -> None:
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(*FIVE, ttft_ms=1.0, itl_list=[])  # type: ignore[call-arg]
    assert _param(caught) == ["ttft_ms", "itl_list"]
    assert "computed from the timings" in caught.value.error.message


def test_bad_names_and_bad_times_are_reported_together() -> None:
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(_ts(0.0, 1.0), [0.5, 0.25], nope=1)  # type: ignore[call-arg]
    assert _param(caught) == ["nope", "token_times[1]"]


@pytest.mark.parametrize(
    ("figures", "param"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"peak_mem_mb": -1}, "peak_mem_mb"),
        ({"peak_mem_mb": True}, "peak_mem_mb"),
        ({"prefix_hit_rate": 2.0}, "prefix_hit_rate"),
        ({"evict_ms": math.nan}, "evict_ms"),
        ({"component_trace": [1]}, "component_trace[0]"),
    ],
)
def test_a_passed_through_figure_is_validated(figures: dict[str, Any], param: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(*FIVE, **figures)
    assert _param(caught) == [param]


def test_messages_never_echo_the_input() -> None:
    ts = _ts(UNIX_NOW, UNIX_NOW + 2.0)
    with pytest.raises(ProtocolError) as caught:
        metrics_from_timings(ts, [UNIX_NOW + 1.5, UNIX_NOW + 1.25], error_rate=7.25)
    text = str(caught.value)
    for value in ("1700000001.5", "1700000001.25", "7.25"):
        assert value not in text


def test_timestamps_must_be_a_timestamps() -> None:
    with pytest.raises(TypeError):
        metrics_from_timings({"queued_at": 0.0}, [])  # type: ignore[arg-type]


# --- summaries -----------------------------------------------------------------------------


def test_summary_of_nothing_is_an_error() -> None:
    with pytest.raises(ProtocolError) as caught:
        summarize([])
    assert _param(caught) == ["items"]
    with pytest.raises(ProtocolError):
        summarize(m for m in [example(Metrics)] if m.tbt_ms is None)


def test_summary_of_another_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"items\[1\]"):
        summarize([example(Metrics), example(Timestamps)])  # type: ignore[list-item]


def test_summary_counts_and_missing_fields() -> None:
    ts, times = FIVE
    items = [
        metrics_from_timings(ts, times, prefix_hit_rate=0.5),
        metrics_from_timings(ts, times[:2], prefix_hit_rate=0.25),
        example(Metrics),  # no timestamps, no itl_list, no prefix_hit_rate
    ]
    summary = summarize(items)
    assert summary.count == 3
    assert summary.ttft_ms.count == 3
    assert summary.prefix_hit_rate is not None
    assert summary.prefix_hit_rate.count == 2
    assert summary.prefix_hit_rate.mean == 0.375
    assert summary.e2e_ms is not None
    assert summary.e2e_ms.count == 2
    assert summary.itl_ms is not None
    assert summary.itl_ms.count == 5  # 4 + 1 gaps
    assert summary.kv_used_bytes is None
    assert summary.evict_count is None
    assert summary.output_tokens_total is None
    assert summary.span_ms is None
    assert summary.aggregate_throughput_tps is None


def test_responses_and_end_events_give_exact_token_counts() -> None:
    metrics = example(Metrics, timestamps=_ts(0.0, 2.0))  # throughput 80 tokens/s
    response = example(Response, output_tokens=[1, 2, 3], metrics=metrics)
    end = example(StreamEventEnd, output_tokens=[4], metrics=metrics)
    summary = summarize([response, end])
    assert summary.output_tokens_total == 4
    assert summary.span_ms == 2000.0
    assert summary.aggregate_throughput_tps == 2.0
    assert summarize([metrics]).output_tokens_total == 160  # round(80 * 2)


def test_responses_without_timestamps_have_a_total_but_no_span() -> None:
    response = example(Response, output_tokens=[1, 2])
    summary = summarize([response])
    assert (summary.output_tokens_total, summary.span_ms) == (2, None)
    assert summary.aggregate_throughput_tps is None


def test_no_output_tokens_is_zero_aggregate_throughput() -> None:
    summary = summarize([metrics_from_timings(_ts(1.0, 2.0), [])])
    assert (summary.output_tokens_total, summary.aggregate_throughput_tps) == (0, 0.0)


def test_zero_span_with_tokens_has_no_aggregate_throughput() -> None:
    metrics = example(Metrics, timestamps=_ts(3.0, 3.0))
    summary = summarize([example(Response, output_tokens=[1], metrics=metrics)])
    assert (summary.output_tokens_total, summary.span_ms) == (1, 0.0)
    assert summary.aggregate_throughput_tps is None


def test_summary_timestamps_too_far_apart_are_an_error() -> None:
    metrics = example(Metrics, timestamps=_ts(0.0, 1e306))
    with pytest.raises(ProtocolError) as caught:
        summarize([metrics])
    assert _param(caught) == ["items[0].timestamps"]


def test_percentile_and_distribution_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], 1.5)
    with pytest.raises(ValueError, match="no values"):
        distribution([])
    with pytest.raises(ValueError, match="finite"):
        distribution([1.0, math.nan])


def test_distribution_of_huge_values_stays_finite() -> None:
    summary = distribution([1.5e308, 1.7e308, -1.7e308])
    assert summary.mean == pytest.approx(1.5e308 / 3)
    assert summary.p50 == 1.5e308
    assert -1.7e308 <= summary.p90 <= 1.7e308


@pytest.mark.parametrize(
    ("values", "field", "param"),
    [
        ({"p50": 0.5}, "ttft_ms", "ttft_ms.p50"),
        ({"mean": 9.0}, "tbt_ms", "tbt_ms.mean"),
        ({"count": 5}, "tpot_ms", "tpot_ms.count"),
    ],
)
def test_summary_rules_hold_on_assignment(values: dict[str, Any], field: str, param: str) -> None:
    summary = example(MetricsSummary)
    data = summary.model_dump()[field] | values
    with pytest.raises(ValidationError) as caught:
        setattr(summary, field, data)
    assert [e.param for e in ProtocolError.from_validation_error(caught.value).errors] == [param]
    assert summary == example(MetricsSummary)


# --- property tests ---------------------------------------------------------------------------

any_finite = st.floats(allow_nan=False, allow_infinity=False)


def _assert_well_formed(summary: Distribution, values: Sequence[float]) -> None:
    assert summary.count == len(values)
    assert summary.min == min(values)
    assert summary.max == max(values)
    assert summary.min <= summary.p50 <= summary.p90 <= summary.p95 <= summary.p99 <= summary.max
    assert summary.min <= summary.mean <= summary.max


@given(st.lists(any_finite, min_size=1, max_size=60))
def test_distribution_is_ordered_and_mean_is_within_range(values: list[float]) -> None:
    _assert_well_formed(distribution(values), values)


@st.composite
def timings(draw: st.DrawFn) -> tuple[Timestamps, list[float]]:
    """A request on a Unix-like clock and its sorted token times within [executed, completed].

    E2E is at least 1 ms: a shorter one is below the resolution of Unix-time floats.
    """
    queued = draw(st.floats(min_value=0.0, max_value=2e9))
    completed = queued + draw(st.floats(min_value=1e-3, max_value=600.0))
    scheduled, executed = sorted(
        draw(st.lists(st.floats(queued, completed), min_size=2, max_size=2))
    )
    count = draw(st.integers(0, 40))
    times = sorted(draw(st.lists(st.floats(executed, completed), min_size=count, max_size=count)))
    stamps = Timestamps(
        queued_at=queued, scheduled_at=scheduled, executed_at=executed, completed_at=completed
    )
    return stamps, times


@given(timings())
def test_metrics_from_timings_always_validates(case: tuple[Timestamps, list[float]]) -> None:
    ts, times = case
    metrics = metrics_from_timings(ts, times)
    assert Metrics.model_validate(metrics.model_dump()) == metrics
    assert len(metrics.itl_list or []) == max(len(times) - 1, 0)
    e2e_s = ts.completed_at - ts.queued_at
    assert metrics.ttft_ms <= e2e_s * 1000 * (1 + 1e-12)
    if len(times) > 1:
        assert metrics.tbt_ms is not None
        assert metrics.tpot_ms is not None
        assert metrics.tpot_ms >= metrics.tbt_ms * (1 - 1e-9) - 1e-9
    summary = summarize([metrics])
    assert summary.output_tokens_total == len(times)  # the throughput inversion is exact


@st.composite
def _one_metrics(draw: st.DrawFn) -> Metrics:
    """Any valid Metrics, with timestamps (if any) bounded so that E2E in ms stays finite."""
    metrics = draw(strategy_for(Metrics))
    if metrics.timestamps is None:
        return metrics
    # strategy_for's ``overrides`` cannot take a strategy here (it tests one for truth), so
    # the bounded timestamps are drawn separately.
    bounded = sorted(draw(st.lists(st.floats(0.0, 1e12), min_size=4, max_size=4)))
    names = ("queued_at", "scheduled_at", "executed_at", "completed_at")
    stamps = Timestamps.model_validate(dict(zip(names, bounded, strict=True)))
    return metrics.model_copy(update={"timestamps": stamps})


@given(_one_metrics())
def test_summary_of_one_metrics_equals_its_values(metrics: Metrics) -> None:
    summary = summarize([metrics])
    assert summary.count == 1
    for name in PER_REQUEST_FIELDS:
        stats: Distribution | None = getattr(summary, name)
        if name == "e2e_ms":
            value: Any = (
                None
                if metrics.timestamps is None
                else (metrics.timestamps.completed_at - metrics.timestamps.queued_at) * 1000
            )
        else:
            value = getattr(metrics, name)
        if value is None:
            assert stats is None, name
            continue
        assert stats is not None, name
        assert stats.count == 1
        expected = [float(value)] * 6
        assert [stats.mean, stats.min, stats.max, stats.p50, stats.p90, stats.p99] == expected
    if metrics.itl_list:
        assert summary.itl_ms is not None
        assert summary.itl_ms.count == len(metrics.itl_list)
        assert summary.itl_ms.max == max(metrics.itl_list)
    else:
        assert summary.itl_ms is None


@given(st.lists(_one_metrics(), min_size=1, max_size=8))
def test_summary_of_many_is_consistent(items: list[Metrics]) -> None:
    summary = summarize(items)
    assert summary.count == len(items)
    for name in PER_REQUEST_FIELDS:
        stats: Distribution | None = getattr(summary, name)
        if stats is not None:
            assert stats.count <= summary.count
            assert stats.p50 <= stats.p90 <= stats.p95 <= stats.p99
            assert stats.min <= stats.mean <= stats.max
    with_timestamps = [m for m in items if m.timestamps is not None]
    assert (summary.span_ms is None) == (len(with_timestamps) < len(items))


def test_an_aggregate_rate_beyond_the_float_range_is_none() -> None:
    window = Timestamps(queued_at=1.0, scheduled_at=1.0, executed_at=1.0, completed_at=2.0)
    huge = example(Metrics, throughput_tps=1e308, timestamps=window)
    summary = summarize([huge, huge])
    assert summary.output_tokens_total is not None
    assert summary.output_tokens_total > 2 * 10**307
    assert summary.aggregate_throughput_tps is None
