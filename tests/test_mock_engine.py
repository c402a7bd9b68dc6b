"""MockEngine: deterministic, valid, grammar-abiding, with injectable faults."""

from __future__ import annotations

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
