"""LangChain's ChatOpenAI against the served app over loopback: it sends
``max_completion_tokens``, ``seed`` and ``stream_options`` and gets answers with usage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from sagellm_protocol import Request, StreamEvent
from sagellm_protocol.asgi import create_app
from sagellm_protocol.testing import MockEngine

from .servers import running

MESSAGES = [SystemMessage("Answer briefly."), HumanMessage("Tell me about streams.")]


class RecordingEngine(MockEngine):
    """MockEngine that keeps the Requests it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []

    def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        return super().astream(request)


@pytest.fixture(scope="module")
def engine() -> RecordingEngine:
    return RecordingEngine()


@pytest.fixture(scope="module")
def llm(engine: RecordingEngine) -> Iterator[ChatOpenAI]:
    with running(create_app(engine)) as port:
        yield ChatOpenAI(
            model="mock-7b",
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key="none",
            max_tokens=20,  # type: ignore[call-arg]
            seed=4,
            stream_usage=True,
            max_retries=0,
            timeout=30,
        )


def test_invoke_answers_with_usage(llm: ChatOpenAI) -> None:
    answer = llm.invoke(MESSAGES)
    assert isinstance(answer.content, str)
    assert answer.content
    assert answer.usage_metadata is not None
    assert 0 < answer.usage_metadata["output_tokens"] <= 20
    assert answer.usage_metadata["total_tokens"] == (
        answer.usage_metadata["input_tokens"] + answer.usage_metadata["output_tokens"]
    )


def test_stream_assembles_to_the_invoked_answer_with_its_usage(llm: ChatOpenAI) -> None:
    answer = llm.invoke(MESSAGES)
    chunks = list(llm.stream(MESSAGES))
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert isinstance(total, AIMessageChunk)
    assert total.content == answer.content
    assert total.usage_metadata == answer.usage_metadata


def test_what_langchain_sends_is_mapped_and_carried(
    llm: ChatOpenAI, engine: RecordingEngine
) -> None:
    list(llm.stream(MESSAGES))
    request = engine.requests[-1]
    assert (request.max_tokens, request.stream) == (20, True)
    assert request.prompt.startswith("system: Answer briefly.\n")
    assert request.metadata is not None
    carried = request.metadata["openai"]
    assert (carried["seed"], carried["stream_options"]) == (4, {"include_usage": True})


def test_tools_are_refused_as_a_bad_request_naming_them(llm: ChatOpenAI) -> None:
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as caught:
        llm.bind_tools([tool]).invoke(MESSAGES)
    assert (caught.value.status_code, caught.value.param) == (400, "tools")
