"""What the checker reports: the probe list, each probe's verdict, and the latency figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel

from ..summary import Distribution, MetricsSummary
from ..types import Metrics

__all__ = ["Api", "CheckReport", "LatencyReport", "Probe", "ProbeResult", "Verdict"]

Api: TypeAlias = Literal["openai", "native"]
"""Which API a server is checked as: the OpenAI endpoints or the native ``/v1/generate``."""

Verdict: TypeAlias = Literal["PASS", "FAIL", "SKIP"]
"""A probe's outcome: it held, it did not (or timed out), or it could not run (with why)."""

_FAILURES_SHOWN = 20


@dataclass(frozen=True)
class Probe:
    """One conformance probe: what it sends and what it requires."""

    id: str
    """Identifier, unique within its API, e.g. ``chat.stream``."""
    api: Api
    """The API it belongs to."""
    sends: str
    """What the probe sends (or reads of other probes' replies), in plain words."""
    requires: str
    """What the reply must be for the probe to pass, in plain words."""


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe."""

    id: str
    """The probe's identifier."""
    verdict: Verdict
    """``PASS``, ``FAIL`` or ``SKIP``."""
    message: str
    """For ``FAIL`` the field path and the rule broken (or ``timed out`` ...), for ``SKIP``
    why, for ``PASS`` what was seen; text from the server is escaped and cut short."""

    def line(self) -> str:
        """The result as one line of output: verdict, identifier, message."""
        return f"{self.verdict}  {self.id:<16} {self.message}"


@dataclass(frozen=True)
class CheckReport:
    """The verdicts of a conformance run, in probe order."""

    url: str
    """The base URL checked."""
    api: Api
    """The API checked."""
    model: str | None
    """The model the probes used (given, or the first one the server listed), or None."""
    results: tuple[ProbeResult, ...]
    """One result per probe that ran, in order."""
    interrupted: bool = False
    """True when the run was stopped (Ctrl-C) before every probe ran."""

    def count(self, verdict: Verdict) -> int:
        """How many probes ended with ``verdict``."""
        return sum(result.verdict == verdict for result in self.results)

    @property
    def ok(self) -> bool:
        """True when every probe ran and none failed."""
        return not self.interrupted and self.count("FAIL") == 0

    def summary(self) -> str:
        """The summary line: the counts of each verdict."""
        stopped = ", interrupted" if self.interrupted else ""
        model = f", model {self.model}" if self.model is not None else ""
        return (
            f"{len(self.results)} probes ({self.api}{model}): {self.count('PASS')} passed, "
            f"{self.count('FAIL')} failed, {self.count('SKIP')} skipped{stopped}"
        )

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data (what ``--json PATH`` writes)."""
        return {
            "mode": "probes",
            "url": self.url,
            "api": self.api,
            "model": self.model,
            "interrupted": self.interrupted,
            "passed": self.count("PASS"),
            "failed": self.count("FAIL"),
            "skipped": self.count("SKIP"),
            "results": [
                {"id": result.id, "verdict": result.verdict, "message": result.message}
                for result in self.results
            ],
        }


# (row label, MetricsSummary field, unit)
_ROWS = (
    ("TTFT", "ttft_ms", "ms"),
    ("TPOT", "tpot_ms", "ms"),
    ("ITL", "itl_ms", "ms"),
    ("E2E", "e2e_ms", "ms"),
    ("throughput", "throughput_tps", "tokens/s"),
)


@dataclass(frozen=True)
class LatencyReport:
    """Client-side latency of streamed requests, with the package's metric definitions."""

    url: str
    """The base URL measured."""
    api: Api
    """The API used."""
    model: str | None
    """The model asked for, or None when none could be found."""
    requests: int
    """Requests asked for."""
    concurrency: int
    """Requests in flight at once."""
    max_tokens: int
    """``max_tokens`` of each request, in tokens."""
    metrics: tuple[Metrics, ...]
    """The Metrics of each request that succeeded (``metrics.metrics_from_timings``)."""
    failures: tuple[str, ...]
    """Why each failed request failed, one line each."""
    summary: MetricsSummary | None
    """``metrics.summarize`` of ``metrics``; None when no request succeeded."""
    interrupted: bool = False
    """True when the run was stopped (Ctrl-C) before every request finished."""
    problem: str | None = None
    """Why no request was sent (no model could be found), or None."""

    @property
    def ok(self) -> bool:
        """True when every request asked for ran and succeeded."""
        return not self.interrupted and not self.failures and len(self.metrics) == self.requests

    def lines(self) -> list[str]:
        """The report as text: a count line, the table of percentiles, the failures."""
        finished = len(self.metrics) + len(self.failures)
        head = (
            f"{finished} of {self.requests} requests finished ({self.api}, model {self.model}, "
            f"concurrency {self.concurrency}, max_tokens {self.max_tokens}): "
            f"{len(self.metrics)} succeeded, {len(self.failures)} failed"
        )
        lines = [head + (", interrupted" if self.interrupted else "")]
        if self.problem is not None:
            lines.append(f"no request sent: {self.problem}")
        summary = self.summary
        if summary is not None:
            lines.append(f"{'':<12}{'p50':>10}{'p90':>10}{'p99':>10}  unit")
            for label, name, unit in _ROWS:
                lines.append(_row(label, getattr(summary, name), unit))
            if summary.aggregate_throughput_tps is not None and summary.span_ms is not None:
                lines.append(
                    f"{summary.output_tokens_total} tokens in {summary.span_ms / 1000:.2f} s: "
                    f"{summary.aggregate_throughput_tps:.1f} tokens/s in all"
                )
        counted = Counter(self.failures).most_common()
        for message, times in counted[:_FAILURES_SHOWN]:
            lines.append(f"failed: {message}" + (f" ({times} requests)" if times > 1 else ""))
        if len(counted) > _FAILURES_SHOWN:
            lines.append(f"failed: and {len(counted) - _FAILURES_SHOWN} more kinds of failure")
        return lines

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data (what ``--json PATH`` writes)."""
        return {
            "mode": "latency",
            "url": self.url,
            "api": self.api,
            "model": self.model,
            "requests": self.requests,
            "concurrency": self.concurrency,
            "max_tokens": self.max_tokens,
            "interrupted": self.interrupted,
            "succeeded": len(self.metrics),
            "failed": len(self.failures),
            "failures": list(self.failures),
            "problem": self.problem,
            "summary": None if self.summary is None else _dump(self.summary),
            "metrics": [_dump(metrics) for metrics in self.metrics],
        }


def _dump(message: BaseModel) -> Any:
    return message.model_dump(mode="json", exclude_none=True)


def _row(label: str, figure: Distribution | None, unit: str) -> str:
    if figure is None:
        return f"{label:<12}{'-':>10}{'-':>10}{'-':>10}  {unit}"
    return f"{label:<12}{figure.p50:>10.1f}{figure.p90:>10.1f}{figure.p99:>10.1f}  {unit}"
