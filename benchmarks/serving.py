"""Serving workloads for ``make bench``: tokens per second through the ASGI app's streaming path.

Driven in-process through the ASGI interface (no sockets, no server): each call runs N
concurrent streams of ``TOKENS`` deltas each on one event loop, every stream a whole ASGI
request (``receive`` gives the JSON body, ``send`` counts the messages). The engine replays
pre-built events and yields to the loop once per event, as an engine producing tokens does.

The floor is an ASGI app that reads the body, then, for each event of the same engine
stream, sends the frame our app sent for it, pre-rendered: no decoding, no validation, no
grammar check, no framing, no disconnect watch. What remains between the two is the app's
own per-request and per-token work.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

TOKENS = 64
"""Deltas per stream."""
CONCURRENCY = (1, 64, 256)
"""Concurrent streams per call."""
TARGET_CONCURRENCY = 64
TARGET = 1.3
"""The app's per-token cost within this factor of the floor's, at ``TARGET_CONCURRENCY``."""

Message = MutableMapping[str, Any]
App = Callable[..., Any]


@dataclass
class ServingWorkload:
    """One measured workload: ours and the floor, and the tokens one call streams."""

    key: str
    title: str
    contenders: dict[str, Callable[[], object]]
    tokens_per_call: int
    target: float | None


def _engine(events: list[Any], model_info: Any) -> Any:
    class ReplayEngine:
        """Replays the same events for every request, one loop turn per event."""

        def models(self) -> list[Any]:
            return [model_info]

        async def astream(self, request: object = None) -> AsyncIterator[Any]:
            for event in events:
                await asyncio.sleep(0)
                yield event

    return ReplayEngine()


def _floor_app(engine: Any, head: list[tuple[bytes, bytes]], frames: list[bytes]) -> App:
    last = frames[len(frames) - 1] if len(frames) > TOKENS + 2 else None  # OpenAI's [DONE]

    async def app(scope: Message, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": head})
        index = 0
        async for _ in engine.astream():
            await send({"type": "http.response.body", "body": frames[index], "more_body": True})
            index += 1
        if last is not None:
            await send({"type": "http.response.body", "body": last, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


async def _one(app: App, path: str, body: bytes, sent: list[Message] | None) -> None:
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if sent is not None:
            sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", b"application/json")],
    }
    await app(scope, receive, send)


def _runner(
    loop: asyncio.AbstractEventLoop, app: App, path: str, body: bytes, streams: int
) -> Callable[[], object]:
    async def run() -> None:
        await asyncio.gather(*(_one(app, path, body, None) for _ in range(streams)))

    return lambda: loop.run_until_complete(run())


def workloads(loop: asyncio.AbstractEventLoop) -> list[ServingWorkload]:
    """The serving workloads (native and OpenAI at each concurrency), checked before timing."""
    from sagellm_protocol import ModelInfo, Request  # noqa: PLC0415
    from sagellm_protocol.asgi import create_app  # noqa: PLC0415
    from sagellm_protocol.testing import MockEngine  # noqa: PLC0415

    request = Request(
        request_id="req-bench",
        trace_id="trace-bench",
        model="bench-model",
        prompt="Summarize the protocol.",
        max_tokens=TOKENS,
        stream=True,
    )
    mock = MockEngine(seed=1)
    events = [event for event in mock.stream(request) if event.event != "delta"]
    delta = next(event for event in mock.stream(request) if event.event == "delta")
    start, end_template = events
    deltas = [delta] * TOKENS
    end = end_template.model_copy(
        update={
            "output_text": delta.chunk * TOKENS,
            "output_tokens": delta.chunk_tokens * TOKENS,
            "finish_reason": "length",
        }
    )
    replayed = [start, *deltas, end]
    engine = _engine(replayed, ModelInfo(id="bench-model", created=0))
    app = create_app(engine)
    bodies = {
        "native": ("/v1/generate", request.model_dump_json().encode()),
        "openai": (
            "/v1/chat/completions",
            json.dumps(
                {
                    "model": "bench-model",
                    "messages": [{"role": "user", "content": "Summarize the protocol."}],
                    "max_tokens": TOKENS,
                    "stream": True,
                }
            ).encode(),
        ),
    }
    found: list[ServingWorkload] = []
    for kind, (path, body) in bodies.items():
        sent: list[Message] = []
        loop.run_until_complete(_one(app, path, body, sent))
        start_message, *body_messages = sent
        frames = [message["body"] for message in body_messages if message["body"]]
        if start_message["status"] != 200 or len(frames) < TOKENS + 2:
            raise AssertionError(f"the {kind} stream did not run: {sent[:2]}")
        floor = _floor_app(engine, start_message["headers"], frames)
        check: list[Message] = []
        loop.run_until_complete(_one(floor, path, body, check))
        if [m.get("body") for m in check] != [m.get("body") for m in sent]:
            raise AssertionError(f"the floor app does not send what ours sends ({kind})")
        found.extend(
            ServingWorkload(
                key=f"s-{kind}-{streams}",
                title=f"{kind} stream of {TOKENS} tokens through the ASGI app, "
                f"{streams} concurrent stream{'s' if streams > 1 else ''}",
                contenders={
                    "ours": _runner(loop, app, path, body, streams),
                    "floor app": _runner(loop, floor, path, body, streams),
                },
                tokens_per_call=TOKENS * streams,
                target=TARGET if streams == TARGET_CONCURRENCY else None,
            )
            for streams in CONCURRENCY
        )
    return found
