"""``sagellm-protocol check``: every probe passes against the app; each broken server fails
exactly the probe it breaks; hostile servers end in a failing probe, in bounded time; the
latency mode measures what the mock engine was told to do.

One uvicorn on a loopback ephemeral port serves every server of this module, told apart by the
path prefix of the URL (``/good``, ``/slow``, ``/broken/<name>``, ``/hostile/<name>``).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sagellm_protocol import PROTOCOL_VERSION_HEADER
from sagellm_protocol.asgi import Receive, Scope, Send, create_app
from sagellm_protocol.check import (
    PROBES,
    CheckReport,
    LatencyReport,
    measure_latency,
    run_probes,
)
from sagellm_protocol.check._latency import run_until_interrupted
from sagellm_protocol.cli import main
from sagellm_protocol.limits import MAX_MESSAGE_SIZE
from sagellm_protocol.testing import MockEngine

from .checking import (
    Call,
    Dispatcher,
    bounded,
    rewritten,
    until_disconnect,
    when,
)
from .servers import running
from .test_serve_command import serving

INTERVAL_MS = 40.0
"""The slow server's time between tokens. The latency test allows its ITL and TPOT medians
anywhere in [0.5, 2] times this: a gap is the engine's sleep plus the time to write, send and
read one frame (a few ms here, more on a loaded machine, and the median sheds the outliers),
and a read that takes two frames at once halves one gap and doubles the next, which leaves the
median in place. The interval is long so that the overhead, which does not scale with it,
stays well inside the band."""
BAND = (0.5 * INTERVAL_MS, 2 * INTERVAL_MS)
HOSTILE_TIMEOUT_S = 0.5
CHAT = "/v1/chat/completions"
GENERATE = "/v1/generate"
SSE_HEAD = [(b"content-type", b"text/event-stream"), (b"x-sagellm-protocol-version", b"0.1")]
JSON_HEAD = [(b"content-type", b"application/json"), (b"x-sagellm-protocol-version", b"0.1")]

# --- broken servers: the app with one thing changed -------------------------------------------

Edit = Callable[[Call], None]


def on_models(change: Callable[[Call], None]) -> Edit:
    def edit(call: Call) -> None:
        if call.path == "/v1/models":
            change(call)

    return edit


def on_whole(path: str, change: Callable[[Any], None]) -> Edit:
    """Change the JSON of a successful whole (not streamed) answer at ``path``."""

    def edit(call: Call) -> None:
        if call.path == path and not call.stream and call.status == 200:
            data = call.json()
            change(data)
            call.set_json(data)

    return edit


def on_stream(path: str, change: Callable[[list[bytes]], list[bytes]]) -> Edit:
    """Change the frames of a stream at ``path``."""

    def edit(call: Call) -> None:
        if call.path == path and call.stream:
            call.set_frames(change(call.frames()))

    return edit


def on_request(key: str, value: Any, change: Callable[[Call], None]) -> Edit:
    """Change the reply to a request whose body has ``key`` equal to ``value``."""

    def edit(call: Call) -> None:
        if isinstance(call.request, dict) and call.request.get(key) == value:
            change(call)

    return edit


def data_of(frame: bytes) -> Any:
    return json.loads(frame.split(b"data: ", 1)[1])


def with_data(frame: bytes, data: Any) -> bytes:
    return frame.split(b"data: ", 1)[0] + b"data: " + json.dumps(data).encode()


def edit_frame(index: int, change: Callable[[Any], None]) -> Callable[[list[bytes]], list[bytes]]:
    def edit(frames: list[bytes]) -> list[bytes]:
        at = index % len(frames)  # -1 is the last frame
        data = data_of(frames[at])
        change(data)
        return [*frames[:at], with_data(frames[at], data), *frames[at + 1 :]]

    return edit


def set_key(path: tuple[Any, ...], value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return change


def drop_key(path: tuple[Any, ...]) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]

    return change


def set_status(status: int) -> Callable[[Call], None]:
    def change(call: Call) -> None:
        call.status = status

    return change


def json_change(change: Callable[[Any], None]) -> Callable[[Call], None]:
    def edit(call: Call) -> None:
        data = call.json()
        change(data)
        call.set_json(data)

    return edit


def add_total(data: Any) -> None:
    data["usage"]["total_tokens"] += 1


def prefix_content(data: Any) -> None:
    data["choices"][0]["message"]["content"] = "Surely," + data["choices"][0]["message"]["content"]


def prefix_text(data: Any) -> None:
    data["output_text"] = "Surely," + data["output_text"]


ERROR_FRAME = {
    "error": {"message": "down", "type": "server_error", "param": None, "code": "unavailable"}
}
FAILED_END = {
    "finish_reason": "error",
    "error": {"code": "unavailable", "message": "the engine stopped"},
}


def more_tokens(path: str, body: Any) -> Any:
    """A server that ignores max_tokens: asks its engine for 24 tokens where 16 were asked."""
    if path == GENERATE and body.get("max_tokens") == 16:
        return {**body, "max_tokens": 24}
    return body


SERVED_BY = {"system_fingerprint": "fp_0123456789", "service_tier": "default"}


def as_openai_writes(call: Call) -> None:
    """The chat answers with the keys OpenAI writes: ``system_fingerprint``, ``service_tier``,
    a null ``logprobs`` and ``refusal``, empty ``annotations``, the usage's token details,
    ``usage: null`` in each chunk and a usage chunk (empty ``choices``) before ``[DONE]``:
    what the package's types may or may not have."""
    if call.path != CHAT or call.status != 200:
        return
    if not call.stream:
        data = call.json()
        data.update(SERVED_BY)
        data["choices"][0]["logprobs"] = None
        data["choices"][0]["message"]["refusal"] = None
        data["choices"][0]["message"]["annotations"] = []
        data["usage"]["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        data["usage"]["completion_tokens_details"] = {"reasoning_tokens": 0}
        call.set_json(data)
        return
    frames, done = call.frames()[:-1], call.frames()[-1]
    chunks = [data_of(frame) for frame in frames]
    for chunk in chunks:
        chunk.update(SERVED_BY)
        chunk.setdefault("usage", None)
        for choice in chunk["choices"]:
            choice["logprobs"] = None
    chunks[0]["choices"][0]["delta"]["refusal"] = None
    if all(chunk["choices"] for chunk in chunks):  # no usage chunk yet: add one
        completion = sum(bool(c["choices"][0]["delta"].get("content")) for c in chunks)
        usage: dict[str, Any] = {"prompt_tokens": 9, "completion_tokens": completion}
        usage["total_tokens"] = 9 + completion
        usage["prompt_tokens_details"] = {"cached_tokens": 0}
        chunks.append({**chunks[-1], "choices": [], "usage": usage})
    call.set_frames([b"data: " + json.dumps(chunk).encode() for chunk in chunks] + [done])


def stream_usage_sum(call: Call) -> None:
    """As OpenAI writes, with a usage chunk whose total is not the sum."""
    as_openai_writes(call)
    if call.path == CHAT and call.stream:
        call.set_frames(edit_frame(-2, add_total)(call.frames()))


# (api, name, the probe it breaks, what the failure says, the edit, a request edit)
BROKEN: list[tuple[str, str, str, str, Edit, Any]] = [
    ("openai", "models-unknown-field", "models", "data[0].extra: is not a field of this message",
     on_models(json_change(set_key(("data", 0, "extra"), 1))), None),
    ("openai", "chat-unknown-field", "chat", "choices[0].surprise: is not a field",
     on_whole(CHAT, set_key(("choices", 0, "surprise"), True)), None),
    ("openai", "chat-escape-in-field", "chat", "choices[0].\\x1b[31m: is not a field",
     on_whole(CHAT, set_key(("choices", 0, "\x1b[31m"), True)), None),
    ("openai", "chat-logprobs", "chat", "choices[0].logprobs",
     on_whole(CHAT, set_key(("choices", 0, "logprobs"), {"content": []})), None),
    ("openai", "chat-no-finish-reason", "chat", "choices[0].finish_reason: must be given",
     on_whole(CHAT, set_key(("choices", 0, "finish_reason"), None)), None),
    ("openai", "stream-without-done", "chat.stream", "the stream ended without data: [DONE]",
     on_stream(CHAT, lambda frames: frames[:-1]), None),
    ("openai", "stream-data-after-done", "chat.stream", "data after data: [DONE]",
     on_stream(CHAT, lambda frames: [*frames, frames[1]]), None),
    ("openai", "stream-role-not-first", "chat.stream",
     "frame 1: choices[0].delta.role: the first chunk gives the role assistant",
     on_stream(CHAT, edit_frame(0, drop_key(("choices", 0, "delta", "role")))), None),
    ("openai", "stream-two-finish-reasons", "chat.stream",
     "frame 3: a chunk with choices after the one with the finish_reason",
     on_stream(CHAT, edit_frame(1, set_key(("choices", 0, "finish_reason"), "stop"))), None),
    ("openai", "stream-error-frame", "chat.stream",
     "frame 3: an error frame (unavailable) ended the stream",
     on_stream(CHAT, lambda f: [*f[:2], with_data(f[2], ERROR_FRAME), *f[3:]]), None),
    ("openai", "stream-unknown-field", "chat.stream",
     "frame 2: choices[0].delta.surprise: is not a field",
     on_stream(CHAT, edit_frame(1, set_key(("choices", 0, "delta", "surprise"), 1))), None),
    ("openai", "usage-sum", "usage",
     "usage.total_tokens: must equal prompt_tokens + completion_tokens",
     on_whole(CHAT, add_total), None),
    ("openai", "stream-usage-sum", "usage",
     "the stream: usage.total_tokens: must equal prompt_tokens + completion_tokens",
     stream_usage_sum, None),
    ("openai", "not-deterministic", "deterministic",
     "the stream's content differs from the whole answer's from character 0 on",
     on_whole(CHAT, prefix_content), None),
    ("openai", "error-value-unnamed", "error.value",
     "error.param: must name max_tokens (it is null)",
     on_request("max_tokens", 0, json_change(set_key(("error", "param"), None))), None),
    ("openai", "error-type-status", "error.type", "status 422, expected 400",
     on_request("temperature", "hot", set_status(422)), None),
    ("openai", "error-model-unnamed", "error.model", "error.param: must name model (it is null)",
     on_request("model", "sagellm-check-no-such-model",
                json_change(lambda d: d["error"].update(param=None, code=None))), None),
    ("openai", "content-type", "content-type",
     "GET /v1/models: Content-Type is text/plain, expected application/json",
     on_models(lambda call: call.set_header("content-type", "text/plain")), None),
    ("openai", "stream-content-type", "content-type",
     "POST /v1/chat/completions (stream): Content-Type is application/json, expected "
     "text/event-stream",
     on_stream(CHAT, lambda frames: frames), None),
    ("openai", "version-malformed", "version",
     "GET /v1/models: X-SageLLM-Protocol-Version is 0.2, not 0.1 or 0.1.N",
     on_models(lambda call: call.set_header(PROTOCOL_VERSION_HEADER, "0.2")), None),
    ("native", "models-unknown-field", "models", "data[0].extra: is not a field of this message",
     on_models(json_change(set_key(("data", 0, "extra"), 1))), None),
    ("native", "health-status", "health", 'status: must be "ok"',
     lambda call: call.set_json({"status": "fine"}) if call.path == "/health" else None, None),
    ("native", "generate-unknown-field", "generate", "surprise: is not a field of this message",
     on_whole(GENERATE, set_key(("surprise",), 1)), None),
    ("native", "generate-other-request", "generate",
     "request_id, trace_id: must be the request's own",
     on_whole(GENERATE, set_key(("request_id",), "someone-else")), None),
    ("native", "stream-done", "generate.stream", "a native stream has no data: [DONE] terminator",
     on_stream(GENERATE, lambda frames: [*frames, b"data: [DONE]"]), None),
    ("native", "stream-after-end", "generate.stream", "no event may follow the end event",
     on_stream(GENERATE, lambda frames: [*frames, frames[1]]), None),
    ("native", "stream-end-text", "generate.stream",
     "output_text must equal the concatenation of the chunks",
     on_stream(GENERATE, edit_frame(-1, prefix_text)), None),
    ("native", "stream-event-line", "generate.stream",
     "the event: line does not match the data's event tag",
     on_stream(GENERATE, lambda f: [f[0], f[1].replace(b"event: delta", b"event: end"), *f[2:]]),
     None),
    ("native", "stream-error-end", "generate.stream",
     "the stream ended with an error (unavailable) although the request was valid",
     on_stream(GENERATE, edit_frame(-1, lambda data: data.update(FAILED_END))), None),
    ("native", "usage-over-max-tokens", "usage", "more than the max_tokens asked (16)",
     lambda call: None, more_tokens),
    ("native", "not-deterministic", "deterministic",
     "output_text: the stream's differs from the whole answer's from character 0 on",
     on_whole(GENERATE, prefix_text), None),
    ("native", "error-value-unnamed", "error.value", "errors: none has param max_tokens",
     on_request("max_tokens", 0, json_change(set_key(("errors", 0, "param"), None))), None),
    ("native", "error-type-code", "error.type", "errors[0].code: must be invalid_argument",
     on_request("temperature", "hot", json_change(set_key(("errors", 0, "code"), "unavailable"))),
     None),
    ("native", "error-model-envelope", "error.model",
     'not the native envelope {"errors": [...]}: errors: is required',
     on_request("model", "sagellm-check-no-such-model",
                lambda call: call.set_json({"detail": "Not Found"})), None),
    ("native", "content-type", "content-type",
     "GET /health: Content-Type is text/plain, expected application/json",
     lambda c: c.set_header("content-type", "text/plain") if c.path == "/health" else None, None),
    ("native", "version-missing", "version", "GET /health: has no X-SageLLM-Protocol-Version",
     lambda c: c.set_header(PROTOCOL_VERSION_HEADER, None) if c.path == "/health" else None,
     None),
]  # fmt: skip


def stream_as_json(call: Call) -> None:
    if call.stream:
        call.set_header("content-type", "application/json")


# The stream's content type is broken by a header edit, not a frame edit.
BROKEN = [
    (api, name, probe, text, stream_as_json if name == "stream-content-type" else edit, req)
    for api, name, probe, text, edit, req in BROKEN
]

# --- hostile servers ----------------------------------------------------------------------------


async def start(send: Send, head: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": head})


async def body(send: Send, data: bytes, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


ROLE_CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"mock-7b",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
)
START_EVENT = b'event: start\ndata: {"event":"start","request_id":"x","trace_id":"y"}\n\n'
MEBIBYTE = 1 << 20


async def hang(scope: Scope, receive: Receive, send: Send) -> None:
    await until_disconnect(receive)


async def hang_mid_stream(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send, SSE_HEAD)
    await body(send, ROLE_CHUNK)
    await until_disconnect(receive)


async def close_mid_stream(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send, SSE_HEAD)
    await body(send, ROLE_CHUNK)  # then return without ending the reply: uvicorn closes


async def close_mid_native_stream(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send, SSE_HEAD)
    await body(send, START_EVENT[:30])


async def not_json(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send, JSON_HEAD)
    await body(send, b"<html>Service Unavailable</html>", more=False)


async def endless_line(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send, SSE_HEAD)
    await body(send, b"data: ")
    for _ in range(MAX_MESSAGE_SIZE // MEBIBYTE + 2):
        await body(send, b"a" * MEBIBYTE)
    await until_disconnect(receive)


async def huge_declared(scope: Scope, receive: Receive, send: Send) -> None:
    declared = str(MAX_MESSAGE_SIZE + 1).encode()
    await start(send, [*JSON_HEAD, (b"content-length", declared)])
    await body(send, b"{")
    await until_disconnect(receive)


async def huge_undeclared(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send, JSON_HEAD)
    await body(send, b'{"id": "')
    for _ in range(MAX_MESSAGE_SIZE // MEBIBYTE + 2):
        await body(send, b"a" * MEBIBYTE)
    await until_disconnect(receive)


async def trickle(scope: Scope, receive: Receive, send: Send) -> None:
    """A comment line every 0.1 s, for ever: each read comes in time, the reply never ends."""
    await start(send, SSE_HEAD)
    watcher = asyncio.ensure_future(until_disconnect(receive))
    while not watcher.done():
        await body(send, b": still here\n")
        await asyncio.sleep(0.1)


# (api, name, path, streamed, app, the probe that fails, what it says)
HOSTILE = [
    ("openai", "hang", CHAT, False, hang, "chat", "timed out"),
    ("openai", "hang-mid-stream", CHAT, True, hang_mid_stream, "chat.stream", "timed out"),
    ("openai", "close-mid-stream", CHAT, True, close_mid_stream, "chat.stream",
     "the server closed the connection mid-reply"),
    ("openai", "not-json", CHAT, False, not_json, "chat",
     "the message is not valid JSON (expected value at line 1 column 1)"),
    ("openai", "endless-line", CHAT, True, endless_line, "chat.stream",
     f"frame 1: a line is longer than the limit of {MAX_MESSAGE_SIZE} bytes"),
    ("openai", "huge-declared", CHAT, False, huge_declared, "chat",
     f"the body is larger than the limit of {MAX_MESSAGE_SIZE} bytes"),
    ("openai", "huge-undeclared", CHAT, False, huge_undeclared, "chat",
     f"the body is larger than the limit of {MAX_MESSAGE_SIZE} bytes"),
    ("openai", "trickle", CHAT, True, trickle, "chat.stream",
     "timed out (the whole reply took too long)"),
    ("native", "close-mid-stream", GENERATE, True, close_mid_native_stream, "generate.stream",
     "the server closed the connection mid-reply"),
    ("native", "endless-line", GENERATE, True, endless_line, "generate.stream",
     f"frame 1: larger than the limit of {MAX_MESSAGE_SIZE} bytes"),
]  # fmt: skip


# --- the server ---------------------------------------------------------------------------------


def without_version(call: Call) -> None:
    call.set_header(PROTOCOL_VERSION_HEADER, None)


@pytest.fixture(scope="module")
def dispatcher() -> Dispatcher:
    good = create_app(MockEngine())
    apps = {
        "good": good,
        "slow": create_app(MockEngine(token_interval_ms=INTERVAL_MS)),
        "plain-openai": rewritten(good, without_version),
        "as-openai-writes": rewritten(good, as_openai_writes),
    }
    for api, name, _, _, edit, request_edit in BROKEN:
        apps[f"broken/{api}-{name}"] = rewritten(good, edit, request_edit=request_edit)
    for api, name, path, streamed, raw, _, _ in HOSTILE:
        apps[f"hostile/{api}-{name}"] = when(good, path, streamed, raw)
    return Dispatcher(apps, good)


@pytest.fixture(scope="module")
def base(dispatcher: Dispatcher) -> Iterator[str]:
    with running(dispatcher) as port:
        yield f"http://127.0.0.1:{port}"


def probe(url: str, **options: Any) -> CheckReport:
    report: CheckReport = bounded(lambda: run_probes(url, **options))
    return report


def verdicts(report: CheckReport) -> dict[str, str]:
    return {result.id: result.verdict for result in report.results}


def ids(api: str) -> list[str]:
    return [p.id for p in PROBES if p.api == api]


# --- against the app ----------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["openai", "native"])
def test_every_probe_passes_against_the_app(base: str, api: str) -> None:
    report = probe(f"{base}/good", api=api, deterministic=True)
    assert verdicts(report) == dict.fromkeys(ids(api), "PASS"), report.results
    assert report.ok
    assert report.model == "mock-7b"


@pytest.mark.parametrize("api", ["openai", "native"])
def test_deterministic_is_skipped_unless_asked_for(base: str, api: str) -> None:
    report = probe(f"{base}/good", api=api)
    assert verdicts(report)["deterministic"] == "SKIP"
    assert report.ok


def test_the_version_header_is_optional_for_an_openai_server(base: str) -> None:
    report = probe(f"{base}/plain-openai")
    expected = dict.fromkeys(ids("openai"), "PASS") | {"version": "SKIP", "deterministic": "SKIP"}
    assert verdicts(report) == expected


def test_the_keys_openai_writes_pass(base: str) -> None:
    report = probe(f"{base}/as-openai-writes", deterministic=True)
    assert verdicts(report) == dict.fromkeys(ids("openai"), "PASS"), report.results


def test_the_version_header_is_required_from_a_native_server(base: str) -> None:
    report = probe(f"{base}/plain-openai", api="native")
    (result,) = [r for r in report.results if r.verdict == "FAIL"]
    assert result.id == "version"
    assert "GET /v1/models: has no X-SageLLM-Protocol-Version" in result.message


def test_a_model_not_listed_fails_the_models_probe(base: str) -> None:
    report = probe(f"{base}/good", model="not-served")
    results = {r.id: r for r in report.results}
    assert results["models"].verdict == "FAIL"
    assert results["models"].message == "data: does not list the model given with --model"


def test_a_trailing_v1_in_the_url_is_the_server_root(base: str) -> None:
    assert probe(f"{base}/good/v1").ok


# --- broken servers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "name", "probe_id", "text"),
    [row[:4] for row in BROKEN],
    ids=[f"{row[0]}-{row[1]}" for row in BROKEN],
)
def test_a_broken_server_fails_exactly_its_probe(
    base: str, api: str, name: str, probe_id: str, text: str
) -> None:
    report = probe(f"{base}/broken/{api}-{name}", api=api, deterministic=True)
    failed = [result for result in report.results if result.verdict == "FAIL"]
    assert [result.id for result in failed] == [probe_id], report.results
    assert text in failed[0].message
    assert not report.ok


def test_every_probe_has_a_broken_server() -> None:
    broken = {(api, probe_id) for api, _, probe_id, *_ in BROKEN}
    assert broken == {(p.api, p.id) for p in PROBES}


def test_text_from_the_server_is_escaped(base: str) -> None:
    report = probe(f"{base}/broken/openai-chat-escape-in-field")
    assert all("\x1b" not in result.message for result in report.results)


# --- hostile servers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "name", "probe_id", "text"),
    [(row[0], row[1], row[5], row[6]) for row in HOSTILE],
    ids=[f"{row[0]}-{row[1]}" for row in HOSTILE],
)
def test_a_hostile_server_fails_a_probe_in_bounded_time(
    base: str, api: str, name: str, probe_id: str, text: str
) -> None:
    report = probe(f"{base}/hostile/{api}-{name}", api=api, timeout=HOSTILE_TIMEOUT_S)
    result = next(result for result in report.results if result.id == probe_id)
    assert (result.verdict, result.message) == ("FAIL", text)
    assert [r.id for r in report.results] == ids(api)  # every probe ran after it


# Raw replies from a TCP server that is not an HTTP server (or a broken one).
RAW = {
    "not-http": (b"SSH-2.0-OpenSSH_9.6\r\n", "the reply is not HTTP/1.x"),
    "bad-status": (b"HTTP/1.1 2OO OK\r\n\r\n", "the reply has a malformed status line"),
    "long-header": (
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n",
        "a line of the reply head is longer than 16384 bytes",
    ),
    "many-headers": (
        b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n",
        "the reply has more than 128 headers",
    ),
    "folded-header": (
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n",
        "the reply has a malformed header line",
    ),
    "bad-chunk": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n",
        "the reply has a malformed chunk size",
    ),
    "bad-length": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
        "the reply has a malformed Content-Length",
    ),
    "short-body": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
        "the server closed the connection mid-reply",
    ),
    "gzip": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
        "the reply has a Content-Encoding although none was asked for",
    ),
    "silence": (b"", "the server closed the connection mid-reply"),
}


@pytest.fixture(scope="module")
def raw_port() -> Iterator[int]:
    """A TCP server that answers ``/<name>/...`` with ``RAW[name]`` and closes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    head += connection.recv(4096)
                name = head.split(b" ", 2)[1].split(b"/")[1].decode()
                connection.sendall(RAW[name][0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("name", list(RAW))
def test_a_reply_that_is_not_sound_http_fails_the_probe_that_got_it(
    raw_port: int, name: str
) -> None:
    report = probe(f"http://127.0.0.1:{raw_port}/{name}", timeout=HOSTILE_TIMEOUT_S)
    assert (report.results[0].id, report.results[0].verdict) == ("models", "FAIL")
    assert report.results[0].message == RAW[name][1]


def test_nothing_listening_fails_without_waiting() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    report = probe(f"http://127.0.0.1:{port}")
    assert report.results[0].message == "connection refused"
    assert not report.ok


# --- latency ------------------------------------------------------------------------------------


def latency(url: str, **options: Any) -> LatencyReport:
    report: LatencyReport = bounded(lambda: measure_latency(url, **options))
    return report


@pytest.mark.parametrize("api", ["openai", "native"])
def test_latency_agrees_with_the_engine_token_interval(base: str, api: str) -> None:
    report = latency(f"{base}/slow", api=api, requests=4, concurrency=2, max_tokens=8)
    assert report.ok, report.failures
    summary = report.summary
    assert summary is not None
    assert summary.count == 4
    assert summary.itl_ms is not None
    assert summary.tpot_ms is not None
    assert BAND[0] <= summary.itl_ms.p50 <= BAND[1]
    assert BAND[0] <= summary.tpot_ms.p50 <= BAND[1]


def test_latency_metrics_follow_the_package_definitions(base: str) -> None:
    report = latency(f"{base}/good", requests=3, concurrency=3, max_tokens=8)
    for metrics in report.metrics:
        times = metrics.timestamps
        assert times is not None
        assert times.queued_at == times.scheduled_at == times.executed_at
        e2e_ms = (times.completed_at - times.queued_at) * 1000
        assert metrics.ttft_ms <= e2e_ms
        assert metrics.itl_list is not None
        assert len(metrics.itl_list) == 7  # 8 tokens (one per content delta), 7 gaps


def test_latency_counts_failed_requests(base: str) -> None:
    report = latency(
        f"{base}/hostile/openai-close-mid-stream", requests=3, concurrency=2, model="mock-7b"
    )
    assert not report.ok
    assert report.metrics == ()
    assert report.failures == ("the server closed the connection mid-reply",) * 3
    assert report.summary is None
    assert "failed: the server closed the connection mid-reply (3 requests)" in report.lines()


def test_latency_without_a_model_sends_nothing(raw_port: int) -> None:
    report = latency(f"http://127.0.0.1:{raw_port}/not-http", requests=2)
    assert not report.ok
    assert report.problem == (
        "no model to use: GET /v1/models failed (the reply is not HTTP/1.x); give --model"
    )


# --- the command line -----------------------------------------------------------------------------


def run_main(*args: str, tty: bool = False) -> tuple[int, str, str]:
    """``main(args)`` in this process: (exit status, stdout, stderr); stderr a terminal or not."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return tty

    out, err = io.StringIO(), Terminal()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = bounded(lambda: main(list(args)))
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    finally:
        sys.stdout, sys.stderr = saved
    return status, out.getvalue(), err.getvalue()


def test_check_command_against_serve_passes_and_prints_the_latency_table() -> None:
    with serving() as (process, url):
        probes = subprocess.run(
            [sys.executable, "-m", "sagellm_protocol", "check", url, "--deterministic"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        measured = subprocess.run(
            [sys.executable, "-m", "sagellm_protocol", "check", url, "--api", "native",
             "--requests", "6", "--concurrency", "3", "--max-tokens", "8"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        process.send_signal(signal.SIGTERM)
    assert probes.returncode == 0, probes.stdout
    lines = probes.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["PASS", i] for i in ids("openai")]
    assert lines[-1] == "10 probes (openai, model mock-7b): 10 passed, 0 failed, 0 skipped"
    assert measured.returncode == 0, measured.stdout
    assert measured.stdout.startswith("6 of 6 requests finished (native, model mock-7b, ")
    assert [line.split()[0] for line in measured.stdout.splitlines()[1:7]] == [
        "p50", "TTFT", "TPOT", "ITL", "E2E", "throughput",
    ]  # fmt: skip
    assert measured.stderr == ""  # no progress bar when stderr is not a terminal


def test_a_failing_probe_is_exit_status_1(base: str) -> None:
    status, out, _ = run_main("check", f"{base}/broken/openai-usage-sum")
    assert status == 1
    assert "FAIL  usage " in out
    assert out.endswith("10 probes (openai, model mock-7b): 8 passed, 1 failed, 1 skipped\n")


def test_a_timeout_is_a_failing_probe(base: str) -> None:
    status, out, _ = run_main("check", f"{base}/hostile/openai-hang", "--timeout", "0.3")
    assert status == 1
    assert "FAIL  chat             timed out\n" in out


def test_json_report_of_the_probes(base: str, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    status, _, _ = run_main("check", f"{base}/good", "--api", "native", "--json", str(path))
    report = json.loads(path.read_text(encoding="utf-8"))
    assert status == 0
    assert [result["id"] for result in report["results"]] == ids("native")
    assert (report["mode"], report["passed"], report["failed"]) == ("probes", 10, 0)


def test_json_report_of_the_latency(base: str, tmp_path: Path) -> None:
    path = tmp_path / "latency.json"
    status, out, _ = run_main(
        "check", f"{base}/good", "--requests", "2", "--max-tokens", "4", "--json", str(path)
    )
    report = json.loads(path.read_text(encoding="utf-8"))
    assert status == 0
    assert out.startswith("2 of 2 requests finished")
    assert (report["mode"], report["succeeded"], report["failed"]) == ("latency", 2, 0)
    assert report["summary"]["count"] == 2
    assert len(report["metrics"]) == 2


def test_failed_requests_are_exit_status_1(base: str) -> None:
    url = f"{base}/hostile/openai-close-mid-stream"
    status, out, _ = run_main("check", url, "--requests", "2", "--model", "mock-7b")
    assert status == 1
    assert out.startswith("2 of 2 requests finished (openai, model mock-7b, concurrency 1, ")
    assert "0 succeeded, 2 failed" in out


def test_progress_bar_on_a_terminal_only(base: str) -> None:
    _, _, shown = run_main(
        "check", f"{base}/good", "--requests", "3", "--max-tokens", "2", tty=True
    )
    _, _, quiet = run_main("check", f"{base}/good", "--requests", "3", "--max-tokens", "2")
    assert shown.endswith(f"\r[{'#' * 30}] 3/3\n")
    assert shown.count("\r") == 3
    assert quiet == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.org"], "URL: must start with http:// or https://"),
        (["http://"], "URL: has no host"),
        (["http://127.0.0.1:99999"], "URL: not a valid URL"),
        (["http://h/?q=1"], "URL: must not have a query"),
        (["http://h", "--concurrency", "2"], "--concurrency applies to the latency mode"),
        (["http://h", "--max-tokens", "2"], "--max-tokens applies to the latency mode"),
        (["http://h", "--requests", "2", "--deterministic"], "--deterministic applies to"),
        (["http://h", "--requests", "0"], "must be an integer > 0"),
        (["http://h", "--timeout", "0"], "must be a number of seconds > 0"),
        (["http://h", "--timeout", "nan"], "must be a number of seconds > 0"),
        (["http://h", "--header", "no colon"], "must be 'NAME: VALUE'"),
        (["http://h", "--header", "Bad Name: x"], "a name must be letters, digits and dashes"),
        (["http://h", "--api", "grpc"], "invalid choice"),
        (["http://h", "--json", "/no/such/dir/r.json"], "cannot be written"),
    ],
)
def test_bad_arguments_are_exit_status_2(args: list[str], message: str) -> None:
    status, out, err = run_main("check", *args)
    assert status == 2
    assert message in err
    assert out == ""


def test_bad_arguments_write_no_json_file(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    status, _, err = run_main("check", "ftp://example.org", "--json", str(path))
    assert status == 2
    assert "URL: must start with http:// or https://" in err
    assert not path.exists()


def test_ctrl_c_in_latency_mode_reports_what_finished(base: str, dispatcher: Dispatcher) -> None:
    before = dispatcher.finished["slow"]
    command = [sys.executable, "-m", "sagellm_protocol", "check", f"{base}/slow",
               "--requests", "1000", "--concurrency", "2", "--max-tokens", "8"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while dispatcher.finished["slow"] < before + 6 and time.monotonic() < deadline:
            time.sleep(0.02)  # the model list and five streams, of which the command has
            # read all but the (at most two) still in flight
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, (out, err)
    assert "Traceback" not in err
    head = out.splitlines()[0]
    assert " of 1000 requests finished (" in head
    assert head.endswith(", 0 failed, interrupted")
    assert int(head.split()[0]) >= 3
    assert "TTFT" in out


def test_ctrl_c_stops_a_run_that_swallows_the_cancel() -> None:
    caught: list[str] = []
    stopped: list[bool] = []

    async def nap() -> None:  # what wait_for can do with a cancel before Python 3.12
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            caught.append("cancelled")

    async def stubborn() -> None:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        await nap()
        await nap()

    assert run_until_interrupted(stubborn(), lambda: stopped.append(True))
    assert caught == ["cancelled", "cancelled"]  # cancelled again, not left to sleep
    assert stopped == [True]


# --- the docs -------------------------------------------------------------------------------------


def probe_table(api: str) -> str:
    rows = ["| probe | sends | requires |", "|---|---|---|"]
    rows += [f"| `{p.id}` | {p.sends} | {p.requires} |" for p in PROBES if p.api == api]
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("api", ["openai", "native"])
def test_the_docs_list_every_probe_as_the_code_has_it(api: str) -> None:
    text = (Path(__file__).parents[1] / "docs" / "check.md").read_text(encoding="utf-8")
    assert probe_table(api) in text, f"docs/check.md: the {api} table is not PROBES"
