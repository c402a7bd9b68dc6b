"""``run_probes`` and ``measure_latency``: check their arguments, run, report."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..metrics import summarize
from ._http import Target
from ._latency import LatencyRun, run_until_interrupted
from ._probes import ProbeRun
from ._report import Api, CheckReport, LatencyReport, ProbeResult

__all__ = [
    "DEFAULT_LATENCY_MAX_TOKENS",
    "DEFAULT_TIMEOUT_S",
    "checked_target",
    "measure_latency",
    "run_probes",
]

DEFAULT_TIMEOUT_S = 30.0
"""Default time allowed for the connect and for each read, in seconds."""

DEFAULT_LATENCY_MAX_TOKENS = 64
"""Default ``max_tokens`` of each latency request, in tokens."""


def checked_target(
    url: str, api: str, timeout: float, headers: Sequence[tuple[str, str]]
) -> Target:
    """The target of ``url``, once the options common to both modes are known to be good;
    ``ValueError`` with a one-line reason otherwise."""
    if api not in ("openai", "native"):
        raise ValueError("api: must be openai or native")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ValueError("timeout: must be a number of seconds")
    if not 0 < timeout < math.inf:
        raise ValueError("timeout: must be a number of seconds > 0")
    for name, value in headers:
        if not name.isascii() or not name.replace("-", "").isalnum():
            raise ValueError("headers: a name must be letters, digits and dashes")
        if any(char in value for char in "\r\n\0") or not value.isascii():
            raise ValueError("headers: a value must be one line of ASCII text")
    return Target.parse(url)


def run_probes(
    url: str,
    *,
    api: Api = "openai",
    model: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    deterministic: bool = False,
    headers: Sequence[tuple[str, str]] = (),
    on_result: Callable[[ProbeResult], None] | None = None,
) -> CheckReport:
    """Run every probe of ``api`` (``PROBES``) against the server at ``url``, in order.

    ``model`` is the model to ask for (default: the first one ``GET /v1/models`` lists);
    ``deterministic`` runs the probe that compares a streamed and a whole answer (for a
    server that answers equal requests equally); ``headers`` are sent with every request
    (e.g. ``("Authorization", "Bearer ...")``); ``on_result`` is called with each result as
    soon as it is known. ``timeout`` (seconds) bounds the connect and each read, and a
    probe's whole reply must come within ``DEADLINE_FACTOR`` times it.

    ``ValueError`` (before anything is sent) for a bad ``url``, ``api``, ``timeout`` or
    header; nothing the server does raises.
    """
    target = checked_target(url, api, timeout, headers)
    run = ProbeRun(target, api, model, float(timeout), deterministic, tuple(headers))
    interrupted = run_until_interrupted(run.run(on_result), run.stop)
    return CheckReport(target.url, api, run.model, tuple(run.results), interrupted)


def measure_latency(
    url: str,
    *,
    requests: int,
    api: Api = "openai",
    model: str | None = None,
    concurrency: int = 1,
    max_tokens: int = DEFAULT_LATENCY_MAX_TOKENS,
    timeout: float = DEFAULT_TIMEOUT_S,
    headers: Sequence[tuple[str, str]] = (),
    on_progress: Callable[[int, int], None] | None = None,
) -> LatencyReport:
    """Send ``requests`` streamed requests, ``concurrency`` at once, and time each one.

    Each request asks for ``max_tokens`` tokens; its stream is checked as the
    ``chat.stream`` or ``generate.stream`` probe checks it, and a request whose reply breaks
    a rule, or whose connect or a read takes longer than ``timeout`` seconds, counts as
    failed. ``on_progress(finished, requests)`` is called as each request finishes.

    ``ValueError`` (before anything is sent) for a bad argument.
    """
    target = checked_target(url, api, timeout, headers)
    for name, value in (("requests", requests), ("concurrency", concurrency)):
        if type(value) is not int or value < 1:
            raise ValueError(f"{name}: must be an integer >= 1")
    if type(max_tokens) is not int or max_tokens < 1:
        raise ValueError("max_tokens: must be an integer >= 1")
    run = LatencyRun(
        target,
        api,
        model,
        requests,
        concurrency,
        max_tokens,
        float(timeout),
        tuple(headers),
        on_progress,
    )
    interrupted = run_until_interrupted(run.run(), run.stop)
    return LatencyReport(
        url=target.url,
        api=api,
        model=run.model,
        requests=requests,
        concurrency=concurrency,
        max_tokens=max_tokens,
        metrics=tuple(run.metrics),
        failures=tuple(run.failures),
        summary=summarize(run.metrics) if run.metrics else None,
        interrupted=interrupted,
        problem=run.problem,
    )
