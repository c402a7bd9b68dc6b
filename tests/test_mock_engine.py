"""MockEngine: deterministic, valid, grammar-abiding, with injectable faults."""

from __future__ import annotations

import asyncio
import math

import pytest

from sagellm_protocol import (
    ErrorCode,
    Request,
    Response,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
    decode,
    encode,
)
from sagellm_protocol.engine import EmbeddingEngine, Engine
from sagellm_protocol.sse import SSEDecoder, encode_event
from sagellm_protocol.streaming import StreamAssembler, assemble
from sagellm_protocol.testing import VOCABULARY, MockEngine, example


def a_request(**overrides: object) -> Request:
    return example(Request, **overrides)


def test_stream_is_accepted_by_the_assembler_and_equals_generate() -> None:
    engine = MockEngine(seed=7)
    request = a_request(max_tokens=64)
    events = list(engine.stream(request))
    assert isinstance(events[0], StreamEventStart)
    assert isinstance(events[-1], StreamEventEnd)
    assert all(isinstance(event, StreamEventDelta) for event in events[1:-1])
    assert assemble(events) == engine.generate(request)


def test_equal_seeds_give_equal_responses_and_other_seeds_differ() -> None:
    request = a_request(max_tokens=64)
    first, again = MockEngine(seed=1).generate(request), MockEngine(seed=1).generate(request)
    assert first == again
    assert first.metrics == again.metrics
    others = {MockEngine(seed=seed).generate(request).output_text for seed in range(2, 12)}
    assert len(others) > 5


def test_text_and_tokens_come_from_the_vocabulary() -> None:
    response = MockEngine(seed=3).generate(a_request(max_tokens=64))
    assert response.output_text == "".join(VOCABULARY[token] for token in response.output_tokens)


@pytest.mark.parametrize("seed", range(1000))
def test_many_seeds_and_token_limits_give_valid_responses(seed: int) -> None:
    max_tokens = 1 + seed % 70
    request = a_request(request_id=f"req-{seed}", max_tokens=max_tokens)
    response = MockEngine(seed=seed).generate(request)
    assert decode(Response, encode(response)) == response
    assert len(response.output_tokens) <= max_tokens
    if response.finish_reason == "length":
        assert len(response.output_tokens) == max_tokens
    else:
        assert response.finish_reason == "stop"
    assert response.metrics.timestamps is not None
    itl = response.metrics.itl_list
    assert itl is not None
    assert len(itl) == max(0, len(response.output_tokens) - 1)


def test_length_at_max_tokens_and_stop_below_it() -> None:
    capped = [MockEngine(seed=seed).generate(a_request(max_tokens=1)) for seed in range(50)]
    assert all(len(response.output_tokens) == 1 for response in capped)
    assert "length" in {response.finish_reason for response in capped}
    roomy = [MockEngine(seed=seed).generate(a_request(max_tokens=64)) for seed in range(50)]
    assert {response.finish_reason for response in roomy} == {"stop"}  # natural lengths are <= 64


def test_a_stop_string_ends_the_output_before_it() -> None:
    free = MockEngine(seed=11).generate(a_request(max_tokens=64))
    assert len(free.output_tokens) >= 4
    stop = VOCABULARY[free.output_tokens[2]]
    request = a_request(max_tokens=64, metadata={"openai": {"stop": [stop]}})
    stopped = MockEngine(seed=11).generate(request)
    assert stopped.finish_reason == "stop"
    assert stop not in stopped.output_text
    assert free.output_text.startswith(stopped.output_text)
    assert len(stopped.output_tokens) <= 2


def test_a_single_stop_string_works_too() -> None:
    free = MockEngine(seed=11).generate(a_request(max_tokens=64))
    stop = VOCABULARY[free.output_tokens[1]]
    stopped = MockEngine(seed=11).generate(
        a_request(max_tokens=64, metadata={"openai": {"stop": stop}})
    )
    assert stop not in stopped.output_text


@pytest.mark.parametrize(
    "code", [ErrorCode.RESOURCE_EXHAUSTED, ErrorCode.UNAVAILABLE, ErrorCode.DEADLINE_EXCEEDED]
)
@pytest.mark.parametrize("after", [None, 0, 3])
def test_fault_fails_mid_stream_with_a_valid_error(code: ErrorCode, after: int | None) -> None:
    engine = MockEngine(seed=5, fault=code, fault_after_tokens=after)
    request = a_request(max_tokens=64)
    events = list(engine.stream(request))
    deltas = [event for event in events if isinstance(event, StreamEventDelta)]
    assert len(deltas) == (after or 0)
    end = events[-1]
    assert isinstance(end, StreamEventEnd)
    assert end.finish_reason == "error"
    assert end.error is not None
    assert end.error.code is code
    assert end.error.is_retryable
    response = assemble(events)
    assert response == engine.generate(request)
    assert response.metrics.error_rate == 1.0


def test_fault_by_name() -> None:
    response = MockEngine(fault="not_implemented").generate(a_request())
    assert response.error is not None
    assert response.error.code is ErrorCode.NOT_IMPLEMENTED


def test_fault_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="needs a fault"):
        MockEngine(fault_after_tokens=2)
    with pytest.raises(ValueError, match=">= 0"):
        MockEngine(fault="unavailable", fault_after_tokens=-1)
    with pytest.raises(ValueError, match="not a valid ErrorCode"):
        MockEngine(fault="melted")


def test_stream_survives_sse() -> None:
    engine = MockEngine(seed=2)
    request = a_request(max_tokens=40)
    decoder, assembler = SSEDecoder(), StreamAssembler()
    for event in engine.stream(request):
        for decoded in decoder.feed(encode_event(event)):
            assembler.add(decoded)
    decoder.close()
    assert assembler.response() == engine.generate(request)


# --- the Engine interface, and what the output depends on ------------------------------------


def test_output_does_not_depend_on_request_or_trace_ids() -> None:
    engine = MockEngine(seed=4)
    one = engine.generate(a_request(request_id="r-1", trace_id="t-1", max_tokens=64))
    other = engine.generate(a_request(request_id="r-2", trace_id="t-2", max_tokens=64))
    assert (one.output_text, one.output_tokens, one.metrics) == (
        other.output_text,
        other.output_tokens,
        other.metrics,
    )


def test_output_depends_on_the_prompt_and_the_sampling_parameters() -> None:
    engine = MockEngine(seed=4)
    base = engine.generate(a_request(max_tokens=64)).output_text
    assert engine.generate(a_request(max_tokens=64, prompt="Another prompt")).output_text != base
    assert engine.generate(a_request(max_tokens=64, temperature=0.2)).output_text != base
    assert engine.generate(a_request(max_tokens=64, top_p=0.5)).output_text != base


def test_a_requests_own_seed_wins_over_the_engines() -> None:
    seeded = a_request(max_tokens=64, metadata={"openai": {"seed": 9}})
    assert MockEngine(seed=1).generate(seeded) == MockEngine(seed=2).generate(seeded)
    assert (
        MockEngine(seed=1).generate(seeded).output_text
        == MockEngine(seed=9).generate(a_request(max_tokens=64)).output_text
    )


@pytest.mark.parametrize("seed", [True, "9", 9.0, None])
def test_a_seed_that_is_not_an_integer_is_not_used(seed: object) -> None:
    request = a_request(max_tokens=64, metadata={"openai": {"seed": seed}})
    assert MockEngine(seed=1).generate(request) == MockEngine(seed=1).generate(
        a_request(max_tokens=64)
    )


def collect_async(engine: MockEngine, request: Request) -> list[object]:
    async def run() -> list[object]:
        return [event async for event in engine.astream(request)]

    return asyncio.run(run())


def test_astream_gives_the_events_of_stream() -> None:
    engine = MockEngine(seed=6)
    request = a_request(max_tokens=64)
    assert collect_async(engine, request) == list(engine.stream(request))


def test_the_token_interval_is_slept_before_each_delta(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", record)
    engine = MockEngine(seed=6, token_interval_ms=25)
    events = collect_async(engine, a_request(max_tokens=5))
    deltas = sum(isinstance(event, StreamEventDelta) for event in events)
    assert slept == [0] + [0.025] * deltas + [0]


def test_it_is_an_engine_that_does_not_embed() -> None:
    engine = MockEngine(models=["a", "b"])
    assert isinstance(engine, Engine)
    assert not isinstance(engine, EmbeddingEngine)
    assert [model.id for model in engine.models()] == ["a", "b"]
    assert [model.id for model in MockEngine().models()] == ["mock-7b"]


@pytest.mark.parametrize(
    "options",
    [
        {"models": []},
        {"models": "mock"},
        {"token_interval_ms": -1},
        {"token_interval_ms": math.inf},
    ],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"models|token_interval_ms"):
        MockEngine(**options)  # type: ignore[arg-type]
