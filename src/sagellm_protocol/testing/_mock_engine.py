"""``MockEngine``: a deterministic stand-in for an inference engine, for tests without a GPU."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from ..errors import Error, ErrorCode
from ..metrics import metrics_from_timings
from ..openai_types import ModelInfo
from ..streaming import StreamAssembler
from ..timestamps import Timestamps
from ..types import (
    FinishReason,
    Metrics,
    Request,
    Response,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
)

__all__ = ["VOCABULARY", "MockEngine"]

VOCABULARY: tuple[str, ...] = (
    " the", " a", " model", " token", " stream", " engine", " cache", " request", " reply",
    " fast", " small", " kind", " clear", " result", " and", " of", " to", " is", " in", " on",
    " we", " it", " that", " with", " for", " as", " this", " will", " can", " data", " time",
    " text", " word", " line", " page", " test", " mock", " value", " field", " rule", " check",
    " protocol", " message", " metric", " batch", " queue", " block", " layer", " head", " step",
    ",", ".", "!", "?", " 你好", " 世界", " 🙂", " ok", " yes", " no", " done", "\n",
    " more", " end",
)  # fmt: skip
"""The mock vocabulary: token id ``i`` is the text ``VOCABULARY[i]``."""

_FAULT_MESSAGES = {
    ErrorCode.INVALID_ARGUMENT: "mock engine: the request was refused",
    ErrorCode.RESOURCE_EXHAUSTED: "mock engine: KV cache is full",
    ErrorCode.UNAVAILABLE: "mock engine: the backend is unavailable",
    ErrorCode.DEADLINE_EXCEEDED: "mock engine: the request timed out",
    ErrorCode.NOT_IMPLEMENTED: "mock engine: this feature is not implemented",
}

_EPOCH = 1_700_000_000.0  # simulated Unix time of the first request (seconds)


@dataclass(frozen=True)
class _Piece:
    """One delta of the simulated output."""

    text: str
    tokens: list[int]
    arrival: float


class MockEngine:
    """Turns a Request into a valid Response or a valid stream, deterministically.

    Output is drawn from ``VOCABULARY`` by a generator seeded with the seed, the prompt and
    the sampling parameters (``temperature``, ``top_p``), never the request or trace id; the
    seed is the request's own ``metadata["openai"]["seed"]`` (an integer) when it has one,
    else ``seed``. Timings are simulated (never read from the clock), so equal seeds give
    equal Responses, Metrics included. Generation stops with ``stop`` at a seed-determined
    length (1 to 64 tokens), or when a stop string from ``metadata["openai"]["stop"]``
    appears (the output ends before it), and with ``length`` at ``max_tokens``.

    ``fault`` (an ``ErrorCode``) makes the engine fail: the stream ends after
    ``fault_after_tokens`` deltas (default 0) with an End carrying the Error, and
    ``generate`` returns the matching error Response.

    It is also an ``engine.Engine`` for the serving layer: ``models()`` lists ``models``
    (default ``("mock-7b",)``), and ``astream`` gives the same events as ``stream``,
    ``token_interval_ms`` milliseconds apart (default 0: the events only yield to the loop).
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        fault: ErrorCode | str | None = None,
        fault_after_tokens: int | None = None,
        engine_id: str = "mock-engine-0",
        models: Sequence[str] = ("mock-7b",),
        token_interval_ms: float = 0.0,
    ) -> None:
        if isinstance(models, str) or not models:
            raise ValueError("models must be a non-empty sequence of model names")
        if not isinstance(token_interval_ms, (int, float)) or not 0 <= token_interval_ms < math.inf:
            raise ValueError("token_interval_ms must be a finite number >= 0")
        self.model_names: tuple[str, ...] = tuple(models)
        """The names of the models served."""
        self.token_interval_ms = float(token_interval_ms)
        """Time between two events of ``astream``, in ms."""
        try:
            self._models = [ModelInfo(id=name, created=int(_EPOCH)) for name in self.model_names]
        except ValidationError:
            raise ValueError(
                "models: each model name must be a string of 1 to 256 characters"
            ) from None
        self.seed = seed
        self.fault = None if fault is None else ErrorCode(fault)
        if fault_after_tokens is not None and (
            type(fault_after_tokens) is not int or fault_after_tokens < 0
        ):
            raise ValueError("fault_after_tokens must be an integer >= 0")
        if fault_after_tokens is not None and fault is None:
            raise ValueError("fault_after_tokens needs a fault")
        self.fault_after_tokens = fault_after_tokens
        self.engine_id = engine_id

    def generate(self, request: Request) -> Response:
        """The Response for ``request`` (the assembled ``stream``)."""
        assembler = StreamAssembler()
        for event in self.stream(request):
            assembler.add(event)
        return assembler.response()

    def models(self) -> list[ModelInfo]:
        """The models served (``engine.Engine``)."""
        return list(self._models)

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        """``stream`` as an async iterator, ``token_interval_ms`` between events (``Engine``)."""
        interval = self.token_interval_ms / 1000
        for event in self.stream(request):
            await asyncio.sleep(interval if type(event) is StreamEventDelta else 0)
            yield event

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        """The stream of events for ``request``: start, deltas, end."""
        rng = random.Random(
            f"{_seed(request, self.seed)}\x00{request.temperature}\x00{request.top_p}"
            f"\x00{request.prompt}"
        )
        prompt_tokens = max(1, len(request.prompt) // 4)
        queued = _EPOCH + rng.uniform(0, 3600)
        scheduled = queued + rng.uniform(0.0005, 0.005)
        executed = scheduled + 0.0002 * prompt_tokens + rng.uniform(0.005, 0.02)
        pieces, finish = self._pieces(request, rng, executed)
        error = None
        if self.fault is not None:
            pieces = pieces[: self.fault_after_tokens or 0]
            finish = "error"
            error = Error(code=self.fault, message=_FAULT_MESSAGES[self.fault])
        completed = (pieces[-1].arrival if pieces else executed) + rng.uniform(0.0001, 0.001)
        request_id, trace_id, engine_id = request.request_id, request.trace_id, self.engine_id
        yield StreamEventStart(
            request_id=request_id,
            trace_id=trace_id,
            prompt_tokens=prompt_tokens,
            engine_id=engine_id,
        )
        for piece in pieces:
            yield StreamEventDelta(
                request_id=request_id,
                trace_id=trace_id,
                chunk=piece.text,
                chunk_tokens=piece.tokens,
                engine_id=engine_id,
            )
        tokens = [token for piece in pieces for token in piece.tokens]
        metrics = self._metrics(
            Timestamps(
                queued_at=queued,
                scheduled_at=scheduled,
                executed_at=executed,
                completed_at=completed,
            ),
            [piece.arrival for piece in pieces for _ in piece.tokens],
            prompt_tokens + len(tokens),
            failed=error is not None,
        )
        yield StreamEventEnd(
            output_text="".join(piece.text for piece in pieces),
            output_tokens=tokens,
            finish_reason=finish,
            metrics=metrics,
            error=error,
            request_id=request_id,
            trace_id=trace_id,
            engine_id=engine_id,
        )

    def _pieces(
        self, request: Request, rng: random.Random, start: float
    ) -> tuple[list[_Piece], FinishReason]:
        natural_length = rng.randint(1, 64)
        count = min(natural_length, request.max_tokens)
        finish: FinishReason = "length" if request.max_tokens < natural_length else "stop"
        arrival = start
        pieces = []
        for _ in range(count):
            arrival += rng.uniform(0.008, 0.03)
            token = rng.randrange(len(VOCABULARY))
            pieces.append(_Piece(VOCABULARY[token], [token], arrival))
        return _cut_at_stop(pieces, _stop_strings(request), finish)

    @staticmethod
    def _metrics(
        timestamps: Timestamps, token_times: list[float], kv_tokens: int, *, failed: bool
    ) -> Metrics:
        return metrics_from_timings(
            timestamps,
            token_times,
            peak_mem_mb=512 + kv_tokens // 8,
            error_rate=1.0 if failed else 0.0,
            kv_used_tokens=kv_tokens,
            component_trace=["sagellm-protocol.testing.MockEngine"],
        )


def _seed(request: Request, default: int) -> int:
    """The request's own ``metadata["openai"]["seed"]`` (an integer), else ``default``."""
    carried = (request.metadata or {}).get("openai")
    seed = carried.get("seed") if isinstance(carried, dict) else None
    return seed if type(seed) is int else default


def _stop_strings(request: Request) -> list[str]:
    """The stop strings a chat request carried into ``metadata["openai"]["stop"]``."""
    carried = (request.metadata or {}).get("openai")
    stop = carried.get("stop") if isinstance(carried, dict) else None
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list):
        return [item for item in stop if isinstance(item, str) and item]
    return []


def _cut_at_stop(
    pieces: Sequence[_Piece], stops: list[str], finish: FinishReason
) -> tuple[list[_Piece], FinishReason]:
    """End the output before the first stop string (the stop string itself is not output)."""
    text = "".join(piece.text for piece in pieces)
    positions = [index for index in (text.find(stop) for stop in stops) if index >= 0]
    if not positions:
        return list(pieces), finish
    cut = min(positions)
    kept: list[_Piece] = []
    offset = 0
    for piece in pieces:
        end = offset + len(piece.text)
        if end <= cut:
            kept.append(piece)
        else:
            if offset < cut:  # the piece the stop string starts in: keep its text before it
                kept.append(_Piece(piece.text[: cut - offset], [], piece.arrival))
            break
        offset = end
    return kept, "stop"
