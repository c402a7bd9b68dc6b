"""Check a live server against the contract, and measure its latency from the client's side.

``run_probes(url)`` sends a fixed list of probes (``PROBES``: each with an id, what it sends
and what it requires) to a server, as an OpenAI-compatible one (``api="openai"``) or as a
native one (``api="native"``, ``POST /v1/generate``), and returns a ``CheckReport`` with one
verdict per probe. Every answer is validated strictly against this package's own types, so a
field outside them is a failure that names it.

``measure_latency(url, requests=N)`` sends N streamed requests, ``concurrency`` at a time,
times each on the client's clock (``queued_at`` = ``scheduled_at`` = ``executed_at`` = the
moment the request is written, each token when its frame arrives, ``completed_at`` when the
stream's last frame arrives; an OpenAI content delta counts as one token), derives Metrics
with ``metrics.metrics_from_timings`` and summarizes them with ``metrics.summarize``.

Both speak HTTP/1.1 over the standard library (one connection per request). ``timeout``
bounds the connect and each read; reply heads, bodies and stream lines are bounded in size;
whatever a server sends becomes a verdict or a failure, never an exception or a hang. Ctrl-C
stops a run early; the report says what finished. The command line is
``sagellm-protocol check URL`` (docs/check.md). Not imported by ``import sagellm_protocol``.
"""

from __future__ import annotations

from ._api import DEFAULT_LATENCY_MAX_TOKENS, DEFAULT_TIMEOUT_S, measure_latency, run_probes
from ._http import MAX_BODY_SIZE, MAX_HEAD_LINE, MAX_STREAM_SIZE
from ._probes import DEADLINE_FACTOR, PROBE_MAX_TOKENS, PROBES
from ._report import Api, CheckReport, LatencyReport, Probe, ProbeResult, Verdict

__all__ = [
    "DEADLINE_FACTOR",
    "DEFAULT_LATENCY_MAX_TOKENS",
    "DEFAULT_TIMEOUT_S",
    "MAX_BODY_SIZE",
    "MAX_HEAD_LINE",
    "MAX_STREAM_SIZE",
    "PROBES",
    "PROBE_MAX_TOKENS",
    "Api",
    "CheckReport",
    "LatencyReport",
    "Probe",
    "ProbeResult",
    "Verdict",
    "measure_latency",
    "run_probes",
]
