"""Servers for the tests of ``sagellm-protocol check``: the real app, the app with one thing
broken on purpose, and hostile apps, all behind one ASGI dispatcher chosen by path prefix."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sagellm_protocol.asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Call", "Dispatcher", "bounded", "frames_of", "rewritten", "when"]

RUN_LIMIT_S = 60.0  # far above any run here: reaching it means the checker hung


def bounded(work: Callable[[], Any], limit: float = RUN_LIMIT_S) -> Any:
    """``work()`` in a thread; fails the test if it has not returned within ``limit`` s."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed back to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"the run did not end within {limit} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@dataclass
class Call:
    """One request the wrapped app answered, and its whole reply, open to edits."""

    path: str
    request: Any
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def stream(self) -> bool:
        return self.header("content-type") == "text/event-stream"

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        return next((v.decode() for k, v in self.headers if k == key), None)

    def set_header(self, name: str, value: str | None) -> None:
        key = name.lower().encode()
        self.headers = [(k, v) for k, v in self.headers if k != key]
        if value is not None:
            self.headers.append((key, value.encode()))

    def json(self) -> Any:
        return json.loads(self.body)

    def set_json(self, data: Any) -> None:
        self.body = json.dumps(data).encode()

    def frames(self) -> list[bytes]:
        return frames_of(self.body)

    def set_frames(self, frames: list[bytes]) -> None:
        self.body = b"".join(frame + b"\n\n" for frame in frames)


def frames_of(body: bytes) -> list[bytes]:
    """The SSE frames of a body written by the app (each ends with a blank line)."""
    return body.split(b"\n\n")[:-1]


async def _read_request(receive: Receive) -> bytes | None:
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def rewritten(
    app: ASGIApp,
    edit: Callable[[Call], None],
    *,
    request_edit: Callable[[str, Any], Any] | None = None,
) -> ASGIApp:
    """``app`` with each reply buffered whole and passed to ``edit`` (streams included), and
    each JSON request body passed through ``request_edit(path, body)`` first."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = await _read_request(receive)
        if body is None:
            return
        request = _parsed(body)
        if request_edit is not None and request is not None:
            request = request_edit(scope["path"], request)
            body = json.dumps(request).encode()
        reply: dict[str, Any] = {"parts": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                reply["status"], reply["headers"] = message["status"], list(message["headers"])
            else:
                reply["parts"].append(message.get("body", b""))

        await app(scope, _replaying(body, receive), capture)
        call = Call(
            scope["path"], request, reply["status"], reply["headers"], b"".join(reply["parts"])
        )
        edit(call)
        headers = [(k, v) for k, v in call.headers if k != b"content-length"]
        if not call.stream:
            headers.append((b"content-length", str(len(call.body)).encode()))
        await send({"type": "http.response.start", "status": call.status, "headers": headers})
        await send({"type": "http.response.body", "body": call.body, "more_body": False})

    return wrapped


Raw = Callable[[Scope, Receive, Send], Awaitable[None]]


def when(app: ASGIApp, path: str, stream: bool, raw: Raw) -> ASGIApp:
    """``app``, except that a request to ``path`` whose ``stream`` flag is ``stream`` is
    answered by ``raw`` (which may read ``receive`` for the disconnect)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != path:
            await app(scope, receive, send)
            return
        body = await _read_request(receive)
        if body is None:
            return
        request = _parsed(body)
        if isinstance(request, dict) and bool(request.get("stream")) == stream:
            await raw(scope, receive, send)
        else:
            await app(scope, _replaying(body, receive), send)

    return wrapped


async def until_disconnect(receive: Receive) -> None:
    """Wait until the client goes away (what a hung server does meanwhile: nothing)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class Dispatcher:
    """One ASGI app for many servers: ``/<name>/...`` is served by ``apps[name]`` with the
    prefix taken off the path; a name may hold one slash (``broken/usage``)."""

    def __init__(self, apps: Mapping[str, ASGIApp], lifespan: ASGIApp) -> None:
        self.apps = dict(apps)
        self._lifespan = lifespan
        self.finished: Counter[str] = Counter()
        """Requests answered so far by each app, for tests that wait for progress (a hung
        app of an earlier test may finish at any time, so each app is counted apart)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._lifespan(scope, receive, send)
            return
        for name, app in self.apps.items():
            prefix = f"/{name}"
            if scope["path"].startswith(prefix + "/"):
                path = scope["path"][len(prefix) :]
                inner = {**scope, "path": path, "raw_path": path.encode()}
                try:
                    await app(inner, receive, send)
                finally:
                    self.finished[name] += 1
                return
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
