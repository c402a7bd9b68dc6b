"""The measurements behind ``make bench`` (started by benchmarks/run.py; see there).

One process, one pydantic, both packages: the original ``isagellm-protocol==0.1.0`` is
imported from its ``sagellm_protocol`` directory, the objects the workloads need are kept, its
modules are removed from ``sys.modules``, and then this project's package is imported from
``src/`` (both by ``import_package``, which leaves ``sys.path`` alone). Only the original's
public API is called.

Every workload is timed in rounds; in each round every contender runs one batch, in an order
that alternates from round to round, and the round's ratio is ours / theirs. Reported: the
median of those per-round ratios and its interquartile range. Batches are timed in CPU time of
this thread (``time.thread_time_ns``), so that a shared, busy machine (time spent descheduled)
does not leak into the ratios; import time (f) is wall time of whole subprocesses, as the
issue asks, with their CPU time shown beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, Literal

import msgspec
import pydantic
import pydantic_core
from pydantic import BaseModel, TypeAdapter

import serving

# --- the contenders ----------------------------------------------------------------------------


@dataclass
class Original:
    """The original package's classes, kept after its modules left sys.modules."""

    version: str
    directory: str
    Request: Any
    Response: Any
    StreamEventDelta: Any
    events: Any  # TypeAdapter(StreamEvent), built once


def import_package(directory: str) -> ModuleType:
    """Import the package in ``directory`` as ``sagellm_protocol``, submodules from there too."""
    spec = importlib.util.spec_from_file_location(
        "sagellm_protocol",
        os.path.join(directory, "__init__.py"),
        submodule_search_locations=[directory],
    )
    if spec is None or spec.loader is None:
        raise RuntimeError(f"no package in {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sagellm_protocol"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["sagellm_protocol"]
        raise
    return module


def load_original(directory: str) -> tuple[Original, str]:
    """Import the original from ``directory`` alone; return it and a directory holding only it.

    The holder (a symlink to ``directory`` as ``sagellm_protocol``) is what the import-time
    subprocesses get as their ``PYTHONPATH``.
    """
    holder = tempfile.mkdtemp(prefix="sagellm-original-")
    os.symlink(directory, os.path.join(holder, "sagellm_protocol"))
    try:
        original = import_package(directory)
        kept = Original(
            version=str(getattr(original, "__version__", "?")),
            directory=directory,
            Request=original.Request,
            Response=original.Response,
            StreamEventDelta=original.StreamEventDelta,
            events=TypeAdapter(original.StreamEvent),
        )
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "sagellm_protocol"]:
            del sys.modules[name]
    return kept, holder


# msgspec Structs of the same shapes and constraints (the floor for Python). msgspec is strict
# by default (no "1" for 1, no true for 1); what it cannot state (finite floats, the metadata
# depth) is listed in the report.
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
TokenId = Annotated[int, msgspec.Meta(ge=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Ratio = Annotated[float, msgspec.Meta(ge=0, le=1)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(gt=0)]


class MRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    request_id: Id
    trace_id: Id
    model: Id
    prompt: str
    max_tokens: Positive
    stream: bool
    temperature: Annotated[float, msgspec.Meta(gt=0, le=2)] | None = None
    top_p: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    kv_budget_tokens: Positive | None = None
    metadata: dict[str, Any] | None = None


class MError(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    code: Literal[
        "invalid_argument", "resource_exhausted", "unavailable", "deadline_exceeded",
        "not_implemented",
    ]  # fmt: skip
    message: Annotated[str, msgspec.Meta(min_length=1)]
    retryable: bool | None = None
    param: str | None = None


class MMetrics(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    ttft_ms: NonNegative
    throughput_tps: NonNegative
    peak_mem_mb: Count
    error_rate: Ratio
    tbt_ms: NonNegative | None = None
    tpot_ms: NonNegative | None = None
    kv_used_tokens: Count | None = None
    kv_used_bytes: Count | None = None
    prefix_hit_rate: Ratio | None = None
    evict_count: Count | None = None
    evict_ms: NonNegative | None = None
    spec_accept_rate: Ratio | None = None

    def __post_init__(self) -> None:
        if self.tbt_ms is None and self.tpot_ms is None:
            raise ValueError("at least one of tbt_ms and tpot_ms must be given")


class MResponse(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    request_id: Id
    trace_id: Id
    output_text: str
    output_tokens: list[TokenId]
    finish_reason: Literal["stop", "length", "error"]
    metrics: MMetrics
    error: MError | None = None

    def __post_init__(self) -> None:
        if (self.finish_reason == "error") != (self.error is not None):
            raise ValueError("finish_reason must be 'error' exactly when error is given")


class MStart(msgspec.Struct, tag_field="event", tag="start", forbid_unknown_fields=True):
    request_id: Id
    trace_id: Id
    prompt_tokens: Count | None = None
    engine_id: Id | None = None


class MDelta(
    msgspec.Struct, tag_field="event", tag="delta", forbid_unknown_fields=True, omit_defaults=True
):
    request_id: Id
    trace_id: Id
    chunk: str
    chunk_tokens: list[TokenId]
    engine_id: Id | None = None


class MEnd(msgspec.Struct, tag_field="event", tag="end", forbid_unknown_fields=True):
    request_id: Id
    trace_id: Id
    output_text: str
    output_tokens: list[TokenId]
    finish_reason: Literal["stop", "length", "error"]
    metrics: MMetrics
    error: MError | None = None
    engine_id: Id | None = None


# Plain pydantic models of the same shapes: the pydantic-core floor (its own validate_json and
# to_json, nothing around them, none of our rules).
class PlainRequest(BaseModel):
    request_id: str
    trace_id: str
    model: str
    prompt: str
    max_tokens: int
    stream: bool
    temperature: float | None = None
    top_p: float | None = None
    kv_budget_tokens: int | None = None
    metadata: dict[str, Any] | None = None


class PlainDelta(BaseModel):
    event: Literal["delta"] = "delta"
    request_id: str
    trace_id: str
    chunk: str
    chunk_tokens: list[int]


class PlainMetrics(BaseModel):
    ttft_ms: float
    tbt_ms: float | None = None
    tpot_ms: float | None = None
    throughput_tps: float
    peak_mem_mb: int
    error_rate: float
    kv_used_tokens: int | None = None
    kv_used_bytes: int | None = None
    prefix_hit_rate: float | None = None
    evict_count: int | None = None
    evict_ms: float | None = None
    spec_accept_rate: float | None = None


class PlainResponse(BaseModel):
    request_id: str
    trace_id: str
    output_text: str
    output_tokens: list[int]
    finish_reason: Literal["stop", "length", "error"]
    metrics: PlainMetrics


# --- timing ------------------------------------------------------------------------------------


def _batch(function: Callable[[], object], count: int) -> float:
    """CPU seconds of this thread for ``count`` calls."""
    loop = range(count)
    start = time.thread_time_ns()
    for _ in loop:
        function()
    return (time.thread_time_ns() - start) / 1e9


def _calibrate(function: Callable[[], object], target: float) -> int:
    count = 1
    while True:
        spent = _batch(function, count)
        if spent >= target / 4 or count >= 1 << 22:
            return max(1, round(count * target / max(spent, 1e-9)))
        count *= 4


@dataclass
class Result:
    """One workload: per-call times and per-round ratios against each reference."""

    key: str
    title: str
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def per_call(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def ratios(self, name: str, reference: str) -> list[float]:
        return [a / b for a, b in zip(self.seconds[name], self.seconds[reference], strict=True)]


def run_rounds(
    key: str,
    title: str,
    contenders: dict[str, Callable[[], object]],
    rounds: int,
    batch_seconds: float,
) -> Result:
    for function in contenders.values():  # warm up (and build anything lazy)
        function()
    counts = {name: _calibrate(function, batch_seconds) for name, function in contenders.items()}
    result = Result(key, title, {name: [] for name in contenders})
    names = list(contenders)
    gc.collect()
    gc.disable()
    try:
        for index in range(rounds):
            order = names if index % 2 == 0 else names[::-1]
            for name in order:
                spent = _batch(contenders[name], counts[name])
                result.seconds[name].append(spent / counts[name])
    finally:
        gc.enable()
    return result


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


# --- workloads ---------------------------------------------------------------------------------

PROMPT = ("Summarize the following text in three sentences. " * 5)[:200]
METADATA_MIXED = {"user": "u-1042", "tenant": "acme", "priority": 2, "beta": True, "score": 0.75}
METADATA_TEXT = {"user": "u-1042", "tenant": "acme", "session": "s-77", "source": "api"}
METRICS = {
    "ttft_ms": 41.5,
    "tbt_ms": 12.25,
    "tpot_ms": 12.0,
    "throughput_tps": 81.6,
    "peak_mem_mb": 14_336,
    "error_rate": 0.0,
    "kv_used_tokens": 512,
    "kv_used_bytes": 268_435_456,
    "prefix_hit_rate": 0.5,
    "evict_count": 0,
    "evict_ms": 0.0,
    "spec_accept_rate": 0.75,
}


def request_body(metadata: dict[str, Any]) -> bytes:
    fields = {
        "request_id": "req-0001",
        "trace_id": "trace-0001",
        "model": "llama-3-8b-instruct",
        "prompt": PROMPT,
        "max_tokens": 256,
        "stream": True,
        "temperature": 0.7,
        "top_p": 0.9,
        "kv_budget_tokens": 4096,
        "metadata": metadata,
    }
    return json.dumps(fields, separators=(",", ":")).encode()


def _without_nulls(value: Any) -> Any:
    """``value`` without the null members of its objects (ours leaves unset optionals out)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


@dataclass
class Target:
    """A target on ``ours / reference`` (at most ``limit``)."""

    reference: str
    limit: float


@dataclass
class Workload:
    key: str
    title: str
    contenders: dict[str, Callable[[], object]]
    targets: list[Target]
    batch_seconds: float = 0.02
    note: str = ""
    extra: list[tuple[str, str, str]] = field(default_factory=list)
    """More ratios to report: (label, numerator contender, denominator contender)."""


COMPACT = "ours, compact input"
"""The c workloads' contender decoding the compact event (what our encoder writes)."""
FLOOR_COMPACT = "pydantic-core floor, compact input"
FLOOR_FORMAT = "floor / floor, compact input"
"""What the formatting costs pydantic-core alone (its own parsing of spaces and escapes)."""


def event_formats() -> dict[str, tuple[str, bytes]]:
    """The delta event of the c workloads by key: (how it is written, the JSON bytes).

    ``c`` is our encoder's compact output; the others are the same event as other producers
    write it: spaces after separators (``json.dumps``' default), the tag last, non-ASCII text as
    ``\\u`` escapes (``ensure_ascii``), and all of it with a different key order.
    """
    from sagellm_protocol import StreamEventDelta, encode  # noqa: PLC0415

    event = StreamEventDelta(
        request_id="req-0001", trace_id="trace-0001", chunk=" Grüße", chunk_tokens=[1917]
    )
    compact = encode(event)
    fields = json.loads(compact)
    tag_last = {key: value for key, value in fields.items() if key != "event"} | {"event": "delta"}
    reordered = dict(reversed(list(fields.items())))
    formats = {
        "c": ("compact, as encode writes it", compact),
        "c-spaced": ("spaces after separators", json.dumps(fields, ensure_ascii=False).encode()),
        "c-tag-last": (
            "the event tag last",
            json.dumps(tag_last, separators=(",", ":"), ensure_ascii=False).encode(),
        ),
        "c-escaped": (
            "non-ASCII text as \\u escapes",
            json.dumps(fields, separators=(",", ":")).encode(),
        ),
        "c-foreign": (
            "spaces, \\u escapes, keys in reverse order (the tag last)",
            json.dumps(reordered).encode(),
        ),
    }
    for _, body in formats.values():
        if json.loads(body) != fields:
            raise AssertionError("an event format changed the event")
    return formats


def workloads(original: Original | None) -> list[Workload]:  # noqa: PLR0915
    from sagellm_protocol import (  # noqa: PLC0415
        Request,
        Response,
        StreamEvent,
        StreamEventDelta,
        decode,
        encode,
    )
    from sagellm_protocol._pydantic import serializer_of, validator_of  # noqa: PLC0415
    from sagellm_protocol.codec import Decoder  # noqa: PLC0415
    from sagellm_protocol.sse import StreamFramer, encode_event  # noqa: PLC0415
    from sagellm_protocol.streaming import StreamAssembler, split_response  # noqa: PLC0415

    prefix = b"event: delta\ndata: "
    encoder = msgspec.json.Encoder()
    plain_delta_json = serializer_of(PlainDelta).to_json
    framer = StreamFramer("req-0001", "trace-0001")
    chunk, tokens = " world", [1917]

    def ours_a1() -> bytes:
        return encode_event(
            StreamEventDelta(
                request_id="req-0001", trace_id="trace-0001", chunk=" world", chunk_tokens=[1917]
            )
        )

    def msgspec_frame() -> bytes:
        event = MDelta(
            request_id="req-0001", trace_id="trace-0001", chunk=" world", chunk_tokens=[1917]
        )
        return prefix + encoder.encode(event) + b"\n\n"

    def floor_a1() -> bytes:
        event = PlainDelta(
            request_id="req-0001", trace_id="trace-0001", chunk=" world", chunk_tokens=[1917]
        )
        return prefix + plain_delta_json(event) + b"\n\n"

    frames: dict[str, Callable[[], object]] = {"ours": ours_a1}
    if original is not None:
        original_delta = original.StreamEventDelta

        def original_a1() -> bytes:
            event = original_delta(
                request_id="req-0001", trace_id="trace-0001", chunk=" world", chunk_tokens=[1917]
            )
            return f"event: delta\ndata: {event.model_dump_json()}\n\n".encode()

        frames["original"] = original_a1
        if original_a1() != ours_a1():
            raise AssertionError("the original and ours frame a delta differently")
    assert framer.delta(chunk, tokens) == ours_a1() == floor_a1()
    frames.update({"msgspec": msgspec_frame, "pydantic-core floor": floor_a1})

    def ours_a2() -> bytes:
        return framer.delta(" world", [1917])

    framed = {"ours": ours_a2, **{k: v for k, v in frames.items() if k != "ours"}}

    # b: the edge decode of a request.
    mixed, text_only = request_body(METADATA_MIXED), request_body(METADATA_TEXT)
    request_decoder = msgspec.json.Decoder(MRequest)
    plain_request = validator_of(PlainRequest).validate_json

    def request_contenders(body: bytes) -> dict[str, Callable[[], object]]:
        found: dict[str, Callable[[], object]] = {"ours": lambda: decode(Request, body)}
        if original is not None:
            original_request = original.Request
            found["original"] = lambda: original_request.model_validate_json(body)
        found["msgspec"] = lambda: request_decoder.decode(body)
        found["pydantic-core floor"] = lambda: plain_request(body)
        found["ours, validator only"] = lambda: validator_of(Request).validate_json(body)
        return found

    # c: one stream event (a delta, the common one) through the union, as our encoder writes it
    # and as other producers write it: decode cost must not depend on the formatting.
    event_decoder = msgspec.json.Decoder(MStart | MDelta | MEnd)
    plain_delta = validator_of(PlainDelta).validate_json
    held = Decoder(StreamEvent)
    formats = event_formats()
    compact = formats["c"][1]

    def event_contenders(body: bytes) -> dict[str, Callable[[], object]]:
        found: dict[str, Callable[[], object]] = {"ours": lambda: decode(StreamEvent, body)}
        if original is not None:
            original_events = original.events
            found["original"] = lambda: original_events.validate_json(body)
        found["msgspec"] = lambda: event_decoder.decode(body)
        found["pydantic-core floor"] = lambda: plain_delta(body)
        found["ours, held Decoder"] = lambda: held.decode(body)
        if body != compact:
            found[COMPACT] = lambda: decode(StreamEvent, compact)
            found[FLOOR_COMPACT] = lambda: plain_delta(compact)
        return found

    delta_validator = validator_of(StreamEventDelta).validate_json
    events = event_contenders(compact)
    events["ours, validator only"] = lambda: delta_validator(compact)

    # d: encode a Response with 256 output tokens.
    response_fields: dict[str, Any] = {
        "request_id": "req-0001",
        "trace_id": "trace-0001",
        "output_text": "".join(f" tok{i}" for i in range(256)),
        "output_tokens": list(range(1000, 1256)),
        "finish_reason": "length",
        "metrics": METRICS,
    }
    ours_response = Response(**response_fields)
    m_response = msgspec.convert(response_fields, MResponse)
    plain_response = PlainResponse(**response_fields)
    plain_response_json = serializer_of(PlainResponse).to_json
    encodes: dict[str, Callable[[], object]] = {"ours": lambda: encode(ours_response)}
    if original is not None:
        original_response = original.Response(**response_fields)
        encodes["original"] = lambda: original_response.model_dump_json().encode()
        theirs = _without_nulls(json.loads(original_response.model_dump_json()))
        if theirs != json.loads(encode(ours_response)):
            raise AssertionError("the original and ours encode a Response differently")
    encodes["msgspec"] = lambda: encoder.encode(m_response)
    encodes["pydantic-core floor"] = lambda: plain_response_json(plain_response)

    # e: assemble a 512-event stream (start, 510 deltas, end) against decoding it alone.
    long_response = Response(**{**response_fields, "output_tokens": list(range(1000, 1510))})
    wire = [encode(event) for event in split_response(long_response)]
    assert len(wire) == 512

    def decode_only() -> None:
        for body in wire:
            decode(StreamEvent, body)

    def assemble() -> Response:
        assembler = StreamAssembler()
        for body in wire:
            assembler.add(decode(StreamEvent, body))
        return assembler.response()

    assert assemble() == long_response
    streams: dict[str, Callable[[], object]] = {"ours": assemble, "ours, decode only": decode_only}
    if original is not None:
        original_events_adapter = original.events

        def original_decode_only() -> None:
            for body in wire:
                original_events_adapter.validate_json(body)

        streams["original, decode only"] = original_decode_only
    streams["msgspec, decode only"] = lambda: [event_decoder.decode(body) for body in wire]

    with_original = original is not None
    vs_original = [Target("original", 0.0)] if with_original else []
    return [
        Workload(
            "a1",
            "build a StreamEventDelta and frame it (encode_event)",
            frames,
            [Target("original", 0.85)] if with_original else [],
        ),
        Workload(
            "a2",
            "StreamFramer.delta(chunk, chunk_tokens)",
            framed,
            ([Target("original", 0.20)] if with_original else []) + [Target("msgspec", 2.0)],
        ),
        Workload(
            "b",
            "decode a Request from JSON bytes (metadata: str, int, bool, float values)",
            request_contenders(mixed),
            [Target("original", 0.85)] if with_original else [],
        ),
        Workload(
            "b-text",
            "the same, metadata with string values only (as OpenAI's metadata)",
            request_contenders(text_only),
            vs_original,
            note="informational",
        ),
        Workload(
            "c",
            f"decode a StreamEvent (the union) from JSON bytes: {formats['c'][0]}",
            events,
            [Target("original", 0.90)] if with_original else [],
        ),
        *(
            Workload(
                key,
                f"the same event, {title}",
                event_contenders(body),
                [Target("original", 0.90)] * with_original + [Target(COMPACT, 1.05)],
                extra=[(FLOOR_FORMAT, "pydantic-core floor", FLOOR_COMPACT)],
            )
            for key, (title, body) in formats.items()
            if key != "c"
        ),
        Workload(
            "d",
            "encode a Response with 256 output tokens to JSON bytes",
            encodes,
            [Target("original", 0.88)] if with_original else [],
        ),
        Workload(
            "e",
            "assemble a 512-event stream into a Response",
            streams,
            [Target("ours, decode only", 1.5)],
            batch_seconds=0.05,
        ),
    ]


# --- import time (f) ---------------------------------------------------------------------------


def import_times(
    src: str, original_holder: str | None, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of ``python -c "import sagellm_protocol"``, alternating."""
    # name: (code, the directory the package is imported from, by PYTHONPATH)
    commands = {"ours": ("import sagellm_protocol", src)}
    if original_holder is not None:
        commands["original"] = ("import sagellm_protocol", original_holder)
    commands["pydantic alone"] = ("import pydantic; from pydantic import BaseModel", "")
    base = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    base.pop("PYTHONPATH", None)

    def run(command: tuple[str, str]) -> tuple[float, float]:
        code, path = command
        env = {**base, "PYTHONPATH": path} if path else base
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu

    for command in commands.values():  # warm up; writes this project's bytecode caches
        run(command)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            wall, cpu = run(commands[name])
            walls[name].append(wall)
            cpus[name].append(cpu)
    return walls, cpus


# --- the report --------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _git(src: str) -> str:
    root = Path(src).parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes under src/)" if dirty else "")


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f} µs" if seconds < 1e-2 else f"{seconds * 1e3:,.1f} ms"


FLOOR = "floor / original"


@dataclass
class Line:
    """One printed and reported ratio."""

    workload: str
    compared: str
    median: float
    q1: float
    q3: float
    limit: float | None

    @property
    def verdict(self) -> str:
        if self.limit is None:
            return ""
        return "met" if self.median <= self.limit else "MISSED"


def summarize(
    result: Result, targets: list[Target], extra: Sequence[tuple[str, str, str]] = ()
) -> list[Line]:
    lines = []
    limits = {target.reference: target.limit for target in targets}
    for reference in result.seconds:
        if reference == "ours":
            continue
        q1, median, q3 = quartiles(result.ratios("ours", reference))
        limit = limits.get(reference) or None
        lines.append(Line(result.key, f"ours / {reference}", median, q1, q3, limit))
    if "original" in result.seconds and "pydantic-core floor" in result.seconds:
        q1, median, q3 = quartiles(result.ratios("pydantic-core floor", "original"))
        lines.append(Line(result.key, FLOOR, median, q1, q3, None))
    for label, numerator, denominator in extra:
        q1, median, q3 = quartiles(result.ratios(numerator, denominator))
        lines.append(Line(result.key, label, median, q1, q3, None))
    return lines


NOTES = Path(__file__).with_name("notes.md")
"""The fixed part of the report: what each workload does, what was done and tried."""


def measure_serving(
    rounds: int, results: list[Result], lines: list[Line]
) -> list[tuple[Result, int, float | None]]:
    """Run the serving workloads; add their results and ratio lines to ``results``, ``lines``."""
    loop = asyncio.new_event_loop()
    served: list[tuple[Result, int, float | None]] = []
    try:
        for workload in serving.workloads(loop):
            result = run_rounds(workload.key, workload.title, workload.contenders, rounds, 0.02)
            results.append(result)
            served.append((result, workload.tokens_per_call, workload.target))
            targets = [Target("floor app", workload.target)] if workload.target else []
            found = summarize(result, targets)
            lines += found
            for line in found:
                _show(line)
    finally:
        loop.close()
    return served


def serving_table(measured: list[tuple[Result, int, float | None]]) -> list[str]:
    """The serving section: tokens per second of ours and the floor app, and their ratio."""
    out = [
        "## Serving: tokens per second through the ASGI app",
        "",
        f"{serving.TOKENS} tokens per stream, driven in-process through the ASGI interface "
        "(see below). The ratio is ours / floor app per token (median of the per-round "
        "ratios): below 1 is faster.",
        "",
        "| workload | ours (tokens/s) | floor app (tokens/s) | ratio | IQR | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    for result, tokens, target in measured:
        q1, median, q3 = quartiles(result.ratios("ours", "floor app"))
        rates = [tokens / result.per_call(name) for name in ("ours", "floor app")]
        verdict = "" if target is None else ("met" if median <= target else "MISSED")
        out.append(
            f"| {result.key} | {rates[0]:,.0f} | {rates[1]:,.0f} | {median:.3f} | "
            f"{q1:.3f} to {q3:.3f} | {'' if target is None else f'<= {target:g}'} | {verdict} |"
        )
    return [*out, ""]


def report(
    lines: list[Line],
    results: list[Result],
    imports: tuple[dict[str, list[float]], dict[str, list[float]]],
    context: dict[str, str],
    served: list[str],
) -> str:
    out = [
        "# Performance",
        "",
        "Generated by `make bench` (benchmarks/run.py and benchmarks/measure.py); do not edit.",
        "Ratios are ours / the other: below 1 is faster. Each is the median of the per-round",
        "ratios of one run, with its interquartile range (IQR), next to its target.",
        "",
        "## Machine and versions",
        "",
    ]
    out += [f"- {key}: {value}" for key, value in context.items()]
    out += [
        "",
        "## Targets",
        "",
        "| workload | ratio | median | IQR | target | | floor / original |",
        "|---|---|---|---|---|---|---|",
    ]
    floors = {line.workload: line.median for line in lines if line.compared == FLOOR}
    for line in lines:
        if line.limit is not None:
            floor = (
                floors.get(line.workload) if line.compared.startswith("ours / original") else None
            )
            out.append(
                f"| {line.workload} | {line.compared} | {line.median:.3f} | "
                f"{line.q1:.3f} to {line.q3:.3f} | <= {line.limit:g} | {line.verdict} | "
                f"{'' if floor is None else f'{floor:.3f}'} |"
            )
    missed = [line for line in lines if line.verdict == "MISSED"]
    if missed:
        out += [
            "",
            "Missed: "
            + "; ".join(
                f"{m.workload} ({m.compared} = {m.median:.3f}, target {m.limit:g})" for m in missed
            )
            + '. "floor / original" is the pydantic-core floor of the same run (a plain model of'
            + " the same shape, pydantic-core's own work and nothing else; for f, importing"
            + " pydantic alone); what was tried is below.",
        ]
    out += ["", "## Every ratio", "", "| workload | ratio | median | IQR |", "|---|---|---|---|"]
    for line in lines:
        out.append(
            f"| {line.workload} | {line.compared} | {line.median:.3f} | "
            f"{line.q1:.3f} to {line.q3:.3f} |"
        )
    out += ["", *served]
    out += ["## Time per call (median over rounds, CPU time)", ""]
    for result in results:
        out.append(f"**{result.key}** — {result.title}")
        out.append("")
        out += ["| contender | per call |", "|---|---|"]
        out += [f"| {name} | {_us(result.per_call(name))} |" for name in result.seconds]
        out.append("")
    walls, cpus = imports
    out += ['**f** — `python -c "import sagellm_protocol"` (whole subprocess)', ""]
    out += ["| contender | wall (median) | CPU (median) |", "|---|---|---|"]
    out += [
        f"| {name} | {_us(statistics.median(walls[name]))} | {_us(statistics.median(cpus[name]))} |"
        for name in walls
    ]
    out += ["", NOTES.read_text(encoding="utf-8")]
    return "\n".join(out).rstrip() + "\n"


def import_lines(walls: dict[str, list[float]], cpus: dict[str, list[float]]) -> list[Line]:
    """The ratios of workload f: wall time (the target) and CPU time, and the floor."""
    found = []
    for reference in [name for name in walls if name != "ours"]:
        limit = 1.2 if reference == "original" else None
        for kind, times in (("wall", walls), ("CPU", cpus)):
            ratios = [a / b for a, b in zip(times["ours"], times[reference], strict=True)]
            q1, median, q3 = quartiles(ratios)
            found.append(
                Line(
                    "f",
                    f"ours / {reference} ({kind})",
                    median,
                    q1,
                    q3,
                    limit if kind == "wall" else None,
                )
            )
    if "original" in walls:
        ratios = [a / b for a, b in zip(walls["pydantic alone"], walls["original"], strict=True)]
        q1, median, q3 = quartiles(ratios)
        found.append(Line("f", FLOOR, median, q1, q3, None))
    return found


def _show(line: Line) -> None:
    target = f"target <= {line.limit:g}  {line.verdict}" if line.limit is not None else ""
    spread = f"IQR {line.q1:.3f}-{line.q3:.3f}"
    print(
        f"{line.workload:7s} {line.compared:34s} {line.median:7.3f}  {spread}  {target}", flush=True
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", required=True)
    parser.add_argument("--original", default="")
    parser.add_argument("--original-problem", default="")
    parser.add_argument("--report", default="")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, import_rounds = (5, 3) if args.quick else (31, 25)
    serving_rounds = 5 if args.quick else 15

    original: Original | None = None
    holder: str | None = None
    problem = args.original_problem
    if args.original:
        try:
            original, holder = load_original(args.original)
        except Exception as exc:  # reported; the run goes on without it
            problem = f"the original could not be imported: {exc!r}"
    sagellm_protocol = import_package(os.path.join(args.src, "sagellm_protocol"))
    if not sagellm_protocol.__file__ or not sagellm_protocol.__file__.startswith(args.src):
        raise RuntimeError(f"imported {sagellm_protocol.__file__}, not this project's package")

    load = os.getloadavg()
    context = {
        "machine": f"{_cpu_model()}, {os.cpu_count()} cores, {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        "load average at start": ", ".join(f"{value:.2f}" for value in load),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "pydantic": f"{pydantic.VERSION} (pydantic-core {pydantic_core.__version__})",
        "msgspec": msgspec.__version__,
        "this package": f"isagellm-protocol {sagellm_protocol.__version__}, "
        f"commit {_git(args.src)}",
        "original": f"isagellm-protocol {original.version}"
        if original
        else f"not measured: {problem}",
        "rounds": f"{rounds} per workload ({serving_rounds} for serving, "
        f"{import_rounds} for import time)",
    }
    started = time.perf_counter()
    results: list[Result] = []
    lines: list[Line] = []
    for workload in workloads(original):
        result = run_rounds(
            workload.key, workload.title, workload.contenders, rounds, workload.batch_seconds
        )
        results.append(result)
        found = summarize(result, workload.targets, workload.extra)
        lines += found
        for line in found:
            _show(line)
    served = measure_serving(serving_rounds, results, lines)
    walls, cpus = import_times(args.src, holder, import_rounds)
    for line in import_lines(walls, cpus):
        lines.append(line)
        if line.compared.endswith("(wall)"):
            _show(line)
    context["load average at end"] = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    context["duration"] = f"{time.perf_counter() - started:.0f} s of measuring"
    print(f"[bench] measured in {time.perf_counter() - started:.0f} s", flush=True)
    if args.report:
        Path(args.report).write_text(
            report(lines, results, (walls, cpus), context, serving_table(served)),
            encoding="utf-8",
        )
        print(f"[bench] wrote {args.report}", flush=True)
    if holder is not None:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(holder, "sagellm_protocol"))
            os.rmdir(holder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
