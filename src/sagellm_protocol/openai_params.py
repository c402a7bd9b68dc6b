"""What the OpenAI adapters do with each parameter a client sends: the parameter tables.

Every parameter of the OpenAI chat completions and legacy completions APIs that today's
``openai`` client can send has exactly one fate:

* ``mapped``: read into a ``Request`` field (``detail`` names it);
* ``carried``: passed on in ``Request.metadata["openai"]`` under its OpenAI name, for the
  engine to honour (``detail`` says what it is);
* ``no-op``: accepted and dropped, because no value of it asks the engine for anything;
* ``refused``: ``invalid_argument`` naming the parameter, because it asks for something the
  engine cannot do (``detail`` is the rule the error states). Null, and the values in
  ``no_op_values``, ask for nothing and are accepted.

A null value of any optional parameter means "not given". Parameters outside the tables are
refused as unknown fields, as OpenAI refuses them. docs/openai.md's tables are generated from
these (``scripts/gen_docs.py``), and the tests compare them with the installed ``openai``
client's parameters. Not imported by ``import sagellm_protocol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

__all__ = [
    "CHAT_MESSAGE_FIELDS",
    "CHAT_PARAMETERS",
    "COMPLETION_PARAMETERS",
    "EXTENSIONS",
    "Fate",
    "Parameter",
    "same_json",
]

Fate: TypeAlias = Literal["mapped", "carried", "no-op", "refused"]
"""What the adapter does with a parameter."""


def same_json(value: Any, other: Any) -> bool:
    """True if two JSON values are the same value of the same JSON type (``true`` is not
    ``1``, ``1`` is not ``1.0``)."""
    if type(value) is not type(other):
        return False
    if isinstance(value, dict):
        return value.keys() == other.keys() and all(
            same_json(item, other[key]) for key, item in value.items()
        )
    if isinstance(value, list):
        return len(value) == len(other) and all(map(same_json, value, other))
    return bool(value == other)


@dataclass(frozen=True)
class Parameter:
    """One parameter of an OpenAI request and its fate."""

    name: str
    """The parameter's OpenAI name (a path such as ``messages[].content`` for a message field)."""
    fate: Fate
    """What the adapter does with it."""
    detail: str
    """Mapped: the Request field; carried: what it is; no-op: why; refused: the rule the error
    message states after the parameter's path."""
    no_op_values: tuple[Any, ...] = ()
    """For a refused parameter: the values besides null that ask for nothing (accepted)."""

    def asks_nothing(self, value: Any) -> bool:
        """True if ``value`` (a JSON value) asks for nothing: null, or one of ``no_op_values``."""
        return value is None or any(same_json(value, allowed) for allowed in self.no_op_values)


def _table(*parameters: Parameter) -> Mapping[str, Parameter]:
    return {parameter.name: parameter for parameter in parameters}


_NO_TOOLS = "(this server calls no tools)"
_TEXT_ONLY = "(this server reads and writes text only)"

EXTENSIONS = frozenset({"session_id", "trace_id"})
"""Parameters of the tables that OpenAI does not have: sageLLM extensions."""

CHAT_PARAMETERS: Mapping[str, Parameter] = _table(
    Parameter(
        "messages", "mapped", "Request.prompt, rendered by `render` (see the message fields)"
    ),
    Parameter("model", "mapped", "Request.model"),
    Parameter("audio", "refused", f"must be null {_TEXT_ONLY}"),
    Parameter("frequency_penalty", "carried", "penalty on token frequency, in [-2, 2]"),
    Parameter(
        "function_call",
        "refused",
        f'must be "none" or "auto" {_NO_TOOLS}',
        ("none", "auto"),
    ),
    Parameter("functions", "refused", f"must be empty {_NO_TOOLS}", ([],)),
    Parameter(
        "logit_bias", "carried", "bias per token id (decimal string) to a number in [-100, 100]"
    ),
    Parameter(
        "logprobs",
        "refused",
        "must be false (this server returns no log probabilities)",
        (False,),
    ),
    Parameter(
        "max_completion_tokens",
        "mapped",
        "Request.max_tokens; given with a different max_tokens, refused naming both",
    ),
    Parameter("max_tokens", "mapped", "Request.max_tokens (default 1024)"),
    Parameter("metadata", "carried", "the client's tags, an object of strings"),
    Parameter("modalities", "refused", f'must be ["text"] {_TEXT_ONLY}', (["text"],)),
    Parameter("moderation", "refused", "must be null (this server runs no moderation)"),
    Parameter("n", "refused", "must be 1 (this server generates one choice)", (1,)),
    Parameter("parallel_tool_calls", "no-op", "there are never tools to call"),
    Parameter("prediction", "refused", "must be null (this server takes no predicted output)"),
    Parameter("presence_penalty", "carried", "penalty on tokens present, in [-2, 2]"),
    Parameter("prompt_cache_key", "carried", "a key that groups requests sharing a prefix"),
    Parameter("prompt_cache_options", "carried", "prompt caching options, an object"),
    Parameter("prompt_cache_retention", "carried", "how long a cached prefix is kept"),
    Parameter(
        "reasoning_effort",
        "refused",
        'must be "none" (this server does not reason before answering)',
        ("none",),
    ),
    Parameter(
        "response_format",
        "refused",
        "must be of type text (this server writes plain text only)",
        ({"type": "text"},),
    ),
    Parameter("safety_identifier", "carried", "the end user's identifier, for abuse monitoring"),
    Parameter("seed", "carried", "an integer: the same seed and request give the same output"),
    Parameter("service_tier", "carried", "the processing tier asked for"),
    Parameter("stop", "carried", "a stop string or a list of them"),
    Parameter("store", "refused", "must be false (this server stores no completions)", (False,)),
    Parameter("stream", "mapped", "Request.stream"),
    Parameter(
        "stream_options",
        "carried",
        "include_usage: a last chunk with the usage; include_obfuscation is accepted "
        "(no obfuscation is written)",
    ),
    Parameter(
        "temperature",
        "mapped",
        'Request.temperature; 0 is carried as metadata["openai"]["temperature"]',
    ),
    Parameter("tool_choice", "refused", f'must be "none" or "auto" {_NO_TOOLS}', ("none", "auto")),
    Parameter("tools", "refused", f"must be empty {_NO_TOOLS}", ([],)),
    Parameter(
        "top_logprobs",
        "refused",
        "must be 0 (this server returns no log probabilities)",
        (0,),
    ),
    Parameter("top_p", "mapped", "Request.top_p"),
    Parameter("user", "carried", "the end user's identifier"),
    Parameter(
        "verbosity", "refused", "must be null (this server does not tune the answer's length)"
    ),
    Parameter("web_search_options", "refused", "must be null (this server does not search)"),
    Parameter("session_id", "carried", "a session identifier (a sageLLM extension)"),
    Parameter("trace_id", "mapped", "Request.trace_id (a sageLLM extension)"),
)
"""The fate of every parameter of ``POST /v1/chat/completions``."""

CHAT_MESSAGE_FIELDS: Mapping[str, Parameter] = _table(
    Parameter("role", "mapped", "the rendered role; developer is read as system"),
    Parameter(
        "content",
        "mapped",
        "the rendered text: a string, or text parts joined with newlines; null only in an "
        "assistant message (read as empty)",
    ),
    Parameter("content[].text", "mapped", "the part's text"),
    Parameter("content[].type", "refused", "must be text (this server reads text only)"),
    Parameter("content[].prompt_cache_breakpoint", "no-op", "a caching hint"),
    Parameter("name", "carried", 'in metadata["openai"]["names"], one entry per message'),
    Parameter(
        "refusal", "refused", "must be null (send an earlier refusal as the content instead)"
    ),
    Parameter("tool_calls", "refused", f"must be empty {_NO_TOOLS}", ([],)),
    Parameter("function_call", "refused", f"must be null {_NO_TOOLS}"),
    Parameter("tool_call_id", "refused", f"must be null {_NO_TOOLS}"),
    Parameter("audio", "refused", f"must be null {_TEXT_ONLY}"),
)
"""The fate of every field of a chat message (``messages[i].<field>``) and of a content
part (``messages[i].content[j].<field>``)."""

COMPLETION_PARAMETERS: Mapping[str, Parameter] = _table(
    Parameter("model", "mapped", "Request.model"),
    Parameter(
        "prompt",
        "mapped",
        "Request.prompt: a string, or a list of one string; token-id prompts are refused",
    ),
    Parameter("best_of", "refused", "must be 1 (this server generates one candidate)", (1,)),
    Parameter(
        "echo", "refused", "must be false (this server does not repeat the prompt)", (False,)
    ),
    Parameter("frequency_penalty", "carried", "penalty on token frequency, in [-2, 2]"),
    Parameter(
        "logit_bias", "carried", "bias per token id (decimal string) to a number in [-100, 100]"
    ),
    Parameter("logprobs", "refused", "must be null (this server returns no log probabilities)"),
    Parameter("max_tokens", "mapped", "Request.max_tokens (default 16)"),
    Parameter("n", "refused", "must be 1 (this server generates one choice)", (1,)),
    Parameter("presence_penalty", "carried", "penalty on tokens present, in [-2, 2]"),
    Parameter("seed", "carried", "an integer: the same seed and request give the same output"),
    Parameter("stop", "carried", "a stop string or a list of them"),
    Parameter("stream", "mapped", "Request.stream"),
    Parameter(
        "stream_options",
        "carried",
        "include_usage: a last chunk with the usage; include_obfuscation is accepted "
        "(no obfuscation is written)",
    ),
    Parameter("suffix", "refused", "must be null (this server does not fill in text)"),
    Parameter(
        "temperature",
        "mapped",
        'Request.temperature; 0 is carried as metadata["openai"]["temperature"]',
    ),
    Parameter("top_p", "mapped", "Request.top_p"),
    Parameter("user", "carried", "the end user's identifier"),
    Parameter("trace_id", "mapped", "Request.trace_id (a sageLLM extension)"),
)
"""The fate of every parameter of ``POST /v1/completions`` (the legacy text completions)."""
