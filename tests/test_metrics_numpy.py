"""The summaries agree with numpy's percentiles (the linear method of docs/metrics.md), and the
metric functions take numpy's numbers. numpy is a test dependency; without it these are skipped."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagellm_protocol import Timestamps
from sagellm_protocol.metrics import distribution, metrics_from_timings, percentile

if TYPE_CHECKING:
    import numpy as np
else:
    np = pytest.importorskip("numpy")

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def test_numpy_numbers_are_accepted() -> None:
    times = Timestamps(queued_at=0, scheduled_at=0, executed_at=0, completed_at=2)
    metrics = metrics_from_timings(times, [1, np.float64(1.5)])
    assert metrics.itl_list == [500.0]


@given(st.lists(finite, min_size=1, max_size=200))
def test_percentiles_equal_numpy_on_generated_data(values: list[float]) -> None:
    summary = distribution(values)
    expected = np.percentile(np.array(values), [50, 90, 95, 99])
    ours = [summary.p50, summary.p90, summary.p95, summary.p99]
    for mine, theirs in zip(ours, expected.tolist(), strict=True):
        assert math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(summary.mean, float(np.mean(values)), rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_percentiles_equal_numpy_on_random_latencies(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 5000))
    values = rng.lognormal(mean=3.0, sigma=float(rng.uniform(0.1, 2.0)), size=size)
    fractions = rng.uniform(0.0, 1.0, size=10)
    ordered = sorted(values.tolist())
    for fraction in fractions.tolist():
        expected = float(np.percentile(values, fraction * 100))
        assert math.isclose(percentile(ordered, fraction), expected, rel_tol=1e-9)
    summary = distribution(values.tolist())
    expected_fixed = np.percentile(values, [50, 90, 95, 99]).tolist()
    ours = [summary.p50, summary.p90, summary.p95, summary.p99]
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(ours, expected_fixed, strict=True))
