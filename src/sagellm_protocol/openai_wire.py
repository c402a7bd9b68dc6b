"""The chat completion request as today's OpenAI clients write it: the adapter's input shape.

``OpenAIChatRequest`` reads every parameter of ``openai_params.CHAT_PARAMETERS``: what it
maps or carries is typed and checked; what it refuses is refused by a field rule naming the
parameter's path unless its value asks for nothing (``refuse_unless_no_op``). A message may be
a ``developer`` message; its content is a string or a list of text parts, or null in an
assistant message. ``OpenAIChatRequest.chat_request()`` gives the contract's
``ChatCompletionRequest`` for it, and ``carried()`` the parameters that only
``Request.metadata["openai"]`` can hold.

These are adapter shapes at the edge, not contract messages: they follow the OpenAI API as it
evolves and are not in the schema bundle. Not imported by ``import sagellm_protocol``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Strict, model_validator
from pydantic_core import PydanticCustomError
from typing_extensions import Self

from ._base import ProtocolModel, rule_error
from ._fields import Flag, Identifier, OrderedList, PositiveCount, Text
from .openai_params import CHAT_MESSAGE_FIELDS, CHAT_PARAMETERS, Parameter
from .openai_types import ChatCompletionRequest, ChatMessage

__all__ = [
    "OpenAIChatMessage",
    "OpenAIChatRequest",
    "StreamOptions",
    "TextPart",
    "refuse_unless_no_op",
    "without_nulls",
]


def refuse_unless_no_op(parameter: Parameter) -> AfterValidator:
    """A field rule that refuses every value of ``parameter`` that asks for something
    (``Parameter.asks_nothing``), with the rule ``parameter.detail``."""

    def check(value: Any) -> Any:
        if not parameter.asks_nothing(value):
            raise PydanticCustomError("rule_unsupported", parameter.detail)
        return value

    return AfterValidator(check)


def without_nulls(data: Any, keep: frozenset[str]) -> Any:
    """A JSON object without its null members, except those named in ``keep``: a null
    optional parameter means "not given", as in the OpenAI API."""
    if isinstance(data, dict) and any(value is None for value in data.values()):
        return {key: value for key, value in data.items() if value is not None or key in keep}
    return data


def _chat(name: str) -> AfterValidator:
    return refuse_unless_no_op(CHAT_PARAMETERS[name])


def _message(name: str) -> AfterValidator:
    return refuse_unless_no_op(CHAT_MESSAGE_FIELDS[name])


_PART_TYPE = CHAT_MESSAGE_FIELDS["content[].type"].detail


class TextPart(ProtocolModel):
    """One text part of a message's content; parts of any other type are refused."""

    type: Literal["text"]
    """Part type: always ``text``."""
    text: Text
    """The part's text."""
    prompt_cache_breakpoint: dict[str, Any] | None = None
    """A prompt caching hint; accepted and not used."""

    @model_validator(mode="before")
    @classmethod
    def _text_parts_only(cls, data: Any) -> Any:
        # One clear error at .type for an image, audio or file part, instead of one per field.
        if isinstance(data, dict) and "type" in data and data["type"] != "text":
            raise rule_error("unsupported", _PART_TYPE, "type")
        return data


class OpenAIChatMessage(ProtocolModel):
    """One message of a chat request as OpenAI clients write it.

    Rule: ``content`` may be null (or missing) only in an assistant message.
    """

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    """Author of the message; ``developer`` is read as ``system``."""
    content: Text | Annotated[list[TextPart], Field(min_length=1), OrderedList] | None = None
    """The text, or a list of text parts (joined with newlines); null in an assistant message."""
    name: Text | None = None
    """Optional name of the author."""
    refusal: Annotated[Any, _message("refusal")] = None
    """An earlier refusal by the assistant: refused unless null."""
    tool_calls: Annotated[Any, _message("tool_calls")] = None
    """Tool calls the assistant made: refused unless empty."""
    function_call: Annotated[Any, _message("function_call")] = None
    """A function call the assistant made: refused."""
    tool_call_id: Annotated[Any, _message("tool_call_id")] = None
    """The tool call a tool message answers: refused."""
    audio: Annotated[Any, _message("audio")] = None
    """Earlier audio of the assistant: refused."""

    @model_validator(mode="after")
    def _content_given(self) -> Self:
        if self.content is None and self.role != "assistant":
            raise rule_error(
                "content",
                "is required (only an assistant message may have null content)",
                "content",
            )
        return self

    def chat_message(self) -> ChatMessage:
        """The contract's ``ChatMessage``: ``developer`` as ``system``, text parts joined with
        newlines, null content as empty."""
        content = self.content
        if content is None:
            text = ""
        elif isinstance(content, str):
            text = content
        else:
            text = "\n".join(part.text for part in content)
        role = "system" if self.role == "developer" else self.role
        return ChatMessage(role=role, content=text, name=self.name)


class StreamOptions(ProtocolModel):
    """``stream_options`` of a streamed request."""

    include_usage: Flag | None = None
    """True for a last chunk with empty ``choices`` and the usage (``usage`` null before it)."""
    include_obfuscation: Flag | None = None
    """Accepted; no ``obfuscation`` field is written."""


_Penalty = Annotated[float, Strict(), Field(ge=-2, le=2)]
_TokenIdText = Annotated[str, Strict(), Field(pattern=r"^[0-9]{1,10}$")]
_Bias = Annotated[float, Strict(), Field(ge=-100, le=100)]

# The contract request's fields that the wire request has under the same name.
_SHARED = (
    "model",
    "temperature",
    "stream",
    "top_p",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "user",
    "session_id",
    "trace_id",
)


class OpenAIChatRequest(ProtocolModel):
    """Body of ``POST /v1/chat/completions`` as today's OpenAI clients write it.

    Every parameter's fate is in ``openai_params.CHAT_PARAMETERS``; a null parameter is read
    as not given. Rule: ``max_tokens`` and ``max_completion_tokens``, when both are given, are
    equal.
    """

    model: Identifier
    """Name of the model to run."""
    messages: Annotated[list[OpenAIChatMessage], Field(min_length=1), OrderedList]
    """The conversation so far; at least one message."""
    temperature: Annotated[float, Strict(), Field(ge=0, le=2)] | None = None
    """Sampling temperature, unitless, in [0, 2]; 0 means greedy decoding."""
    max_tokens: PositiveCount | None = None
    """Most output tokens to generate, in tokens; > 0."""
    max_completion_tokens: PositiveCount | None = None
    """Most output tokens to generate, in tokens; > 0 (OpenAI's name for ``max_tokens``)."""
    stream: Flag | None = None
    """True to receive ``chat.completion.chunk`` server-sent events."""
    top_p: Annotated[float, Strict(), Field(gt=0, le=1)] | None = None
    """Nucleus sampling probability mass, in (0, 1]."""
    stream_options: StreamOptions | None = None
    """Options of a streamed answer."""
    stop: Text | Annotated[list[Text], OrderedList] | None = None
    """A stop string or a list of them."""
    presence_penalty: _Penalty | None = None
    """Penalty for tokens already present, unitless, in [-2, 2]."""
    frequency_penalty: _Penalty | None = None
    """Penalty proportional to token frequency so far, unitless, in [-2, 2]."""
    seed: Annotated[int, Strict()] | None = None
    """Seed of the sampling: the same seed and request give the same output."""
    logit_bias: dict[_TokenIdText, _Bias] | None = None
    """Bias added to the logit of each token id (a decimal string), in [-100, 100]."""
    user: Text | None = None
    """End-user identifier given by the client."""
    safety_identifier: Text | None = None
    """End-user identifier for abuse monitoring (OpenAI's successor of ``user``)."""
    metadata: dict[Annotated[str, Strict()], Text] | None = None
    """The client's tags: an object of strings."""
    prompt_cache_key: Text | None = None
    """A key that groups requests sharing a prompt prefix, for caching."""
    prompt_cache_options: dict[Annotated[str, Strict()], Any] | None = None
    """Prompt caching options."""
    prompt_cache_retention: Text | None = None
    """How long a cached prompt prefix is kept."""
    service_tier: Text | None = None
    """The processing tier asked for."""
    parallel_tool_calls: Flag | None = None
    """Whether tools may be called in parallel: accepted, there are never tools."""
    n: Annotated[Annotated[int, Strict()] | None, _chat("n")] = None
    """Number of choices: only 1."""
    logprobs: Annotated[Flag | None, _chat("logprobs")] = None
    """Whether to return log probabilities: only false."""
    top_logprobs: Annotated[Annotated[int, Strict()] | None, _chat("top_logprobs")] = None
    """Most likely tokens to return per position: only 0."""
    store: Annotated[Flag | None, _chat("store")] = None
    """Whether to store the completion: only false."""
    tools: Annotated[Any, _chat("tools")] = None
    """Tools the model may call: refused unless empty."""
    tool_choice: Annotated[Any, _chat("tool_choice")] = None
    """Which tool to call: only ``none`` or ``auto``."""
    functions: Annotated[Any, _chat("functions")] = None
    """Functions the model may call (deprecated): refused unless empty."""
    function_call: Annotated[Any, _chat("function_call")] = None
    """Which function to call (deprecated): only ``none`` or ``auto``."""
    response_format: Annotated[Any, _chat("response_format")] = None
    """Output format: only ``{"type": "text"}``."""
    audio: Annotated[Any, _chat("audio")] = None
    """Audio output parameters: refused."""
    modalities: Annotated[Any, _chat("modalities")] = None
    """Output modalities: only ``["text"]``."""
    moderation: Annotated[Any, _chat("moderation")] = None
    """Moderation of input and output: refused."""
    prediction: Annotated[Any, _chat("prediction")] = None
    """Predicted output: refused."""
    reasoning_effort: Annotated[Any, _chat("reasoning_effort")] = None
    """Reasoning effort: only ``none``."""
    verbosity: Annotated[Any, _chat("verbosity")] = None
    """Verbosity of the answer: refused."""
    web_search_options: Annotated[Any, _chat("web_search_options")] = None
    """Web search: refused."""
    session_id: Text | None = None
    """Session identifier given by the client (a sageLLM extension)."""
    trace_id: Identifier | None = None
    """Trace identifier for end-to-end correlation (a sageLLM extension)."""

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_not_given(cls, data: Any) -> Any:
        return without_nulls(data, frozenset({"model", "messages"}))

    @model_validator(mode="after")
    def _one_token_limit(self) -> Self:
        given = (self.max_tokens, self.max_completion_tokens)
        if None not in given and given[0] != given[1]:
            raise rule_error(
                "token_limit",
                "must equal max_tokens when both are given (max_completion_tokens replaces "
                "max_tokens)",
                "max_completion_tokens",
            )
        return self

    def chat_request(self) -> ChatCompletionRequest:
        """The contract's ``ChatCompletionRequest``: the shared parameters the client gave,
        the messages as ``ChatMessage``, ``max_completion_tokens`` as ``max_tokens``."""
        given: dict[str, Any] = {
            name: getattr(self, name) for name in _SHARED if name in self.model_fields_set
        }
        limit = self.max_completion_tokens or self.max_tokens
        if limit is not None:
            given["max_tokens"] = limit
        messages = [message.chat_message() for message in self.messages]
        return ChatCompletionRequest(messages=messages, **given)

    def carried(self) -> dict[str, Any]:
        """The carried parameters that ``ChatCompletionRequest`` has no field for, by their
        OpenAI names, as JSON values (those the client gave)."""
        found: dict[str, Any] = {}
        for name in type(self).model_fields:
            if name not in self.model_fields_set:
                continue
            parameter = CHAT_PARAMETERS.get(name)
            if parameter is None or parameter.fate != "carried" or name in _SHARED:
                continue
            value = getattr(self, name)
            found[name] = value.model_dump(exclude_none=True) if name == "stream_options" else value
        return found
