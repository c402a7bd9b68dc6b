"""The latency mode: streamed requests timed on the client's clock, turned into Metrics with
the package's own definitions (``metrics.metrics_from_timings``) and summarized."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProtocolError
from ..metrics import metrics_from_timings
from ..timestamps import Timestamps
from ..types import Metrics
from ._exchange import exchange
from ._http import Target
from ._probes import DEADLINE_FACTOR, NATIVE_HEADERS, PROMPT, first_model
from ._report import Api
from ._streams import ChatStream, NativeStream, described

__all__ = ["LatencyRun", "run_until_interrupted"]

_RECANCEL_S = 0.2  # how long a cancelled run has before it is cancelled again, in seconds


@dataclass
class LatencyRun:
    """One latency run: the options, and the requests' outcomes as they finish."""

    target: Target
    api: Api
    model: str | None
    requests: int
    concurrency: int
    max_tokens: int
    timeout: float
    headers: tuple[tuple[str, str], ...]
    on_progress: Callable[[int, int], None] | None = None
    metrics: list[Metrics] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    problem: str | None = None
    stopped: bool = False
    """Set by ``stop``: no request starts after it."""

    def stop(self) -> None:
        """Start no more requests (Ctrl-C)."""
        self.stopped = True

    async def run(self) -> None:
        """Find the model if none was given, then send the requests, ``concurrency`` at once."""
        if self.model is None:
            self.model = await self._first_model()
            if self.model is None:
                return
        indexes = iter(range(self.requests))

        async def worker() -> None:
            for index in indexes:  # one iterator shared: each request is sent once
                if self.stopped:
                    return
                outcome = await self._one(index)
                if isinstance(outcome, Metrics):
                    self.metrics.append(outcome)
                else:
                    self.failures.append(outcome)
                if self.on_progress is not None:
                    self.on_progress(len(self.metrics) + len(self.failures), self.requests)

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, self.requests))))

    async def _first_model(self) -> str | None:
        record = await exchange(
            self.target,
            "GET",
            "/v1/models",
            headers=self.headers,
            timeout=self.timeout,
            deadline=DEADLINE_FACTOR * self.timeout,
        )
        problem = record.problem(200)
        model = first_model(record.json()) if problem is None else None
        if model is None:
            reason = problem or "it names no model"
            self.problem = f"no model to use: GET /v1/models failed ({reason}); give --model"
        return model

    async def _one(self, index: int) -> Metrics | str:
        """One streamed request: its Metrics, or why it failed."""
        stream: ChatStream | NativeStream
        if self.api == "openai":
            stream = ChatStream()
            path, headers = "/v1/chat/completions", self.headers
            body: dict[str, Any] = {
                "model": self.model,
                "messages": [{"role": "user", "content": f"{PROMPT} ({index})"}],
                "max_tokens": self.max_tokens,
                "stream": True,
            }
        else:
            tag = uuid.uuid4().hex[:16]
            stream = NativeStream(f"check-{tag}", f"check-trace-{tag}")
            path, headers = "/v1/generate", self.headers + NATIVE_HEADERS
            body = {
                "request_id": f"check-{tag}",
                "trace_id": f"check-trace-{tag}",
                "model": self.model,
                "prompt": f"{PROMPT} ({index})",
                "max_tokens": self.max_tokens,
                "stream": True,
            }
        record = await exchange(
            self.target, "POST", path, body=body, headers=headers, timeout=self.timeout,
            consumer=stream,
        )  # fmt: skip
        problem = record.problem(200) or record.violation
        if problem is not None:
            return problem
        sent, ended = record.sent_at, stream.ended_at
        assert ended is not None  # a stream that passed its checks has ended
        times = Timestamps(queued_at=sent, scheduled_at=sent, executed_at=sent, completed_at=ended)
        try:
            return metrics_from_timings(times, stream.token_times)
        except ProtocolError as exc:
            return f"the timings give no metrics: {described(exc)}"


def run_until_interrupted(work: Coroutine[Any, Any, None], stop: Callable[[], None]) -> bool:
    """Run ``work`` in a new event loop until it ends or Ctrl-C (SIGINT) stops it, which
    calls ``stop`` (so that nothing new starts) and cancels what is in flight. True when it
    was stopped. (In a thread other than the main one, Ctrl-C is left to Python.)"""
    return asyncio.run(_until_interrupted(work, stop))


async def _until_interrupted(work: Coroutine[Any, Any, None], stop: Callable[[], None]) -> bool:
    loop = asyncio.get_running_loop()
    interrupt = asyncio.Event()
    task = asyncio.ensure_future(work)
    try:
        loop.add_signal_handler(signal.SIGINT, interrupt.set)
        installed = True
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or Windows
        installed = False
    stopper = asyncio.ensure_future(interrupt.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
    if task.done():
        task.result()  # a bug of the checker surfaces here
        return False
    stop()
    task.cancel()
    while not (await asyncio.wait({task}, timeout=_RECANCEL_S))[0]:
        task.cancel()  # before Python 3.12 wait_for can lose a cancel: ask again
    with contextlib.suppress(asyncio.CancelledError):
        task.result()
    return True
