"""The conformance probes: a fixed list per API, run in order against a live server.

A probe sends requests (or reads the replies of the probes before it) and judges one thing,
so that one flaw of a server fails one probe: the content type and the version header of
every reply are probes of their own, and so is the usage sum. A probe that needs what an
earlier one did not get is skipped, saying so.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeAlias

from pydantic import Field

from .._base import ProtocolModel
from ..codec import PROTOCOL_VERSION_HEADER, decode
from ..errors import Error, ErrorCode, ProtocolError
from ..http import JSON_MEDIA_TYPE, negotiate_version
from ..openai_types import (
    ChatCompletionResponse,
    ModelListResponse,
    OpenAIErrorResponse,
)
from ..sse import SSE_MEDIA_TYPE
from ..types import Response
from ._exchange import Exchange, exchange, printable
from ._http import Target
from ._report import Api, Probe, ProbeResult, Verdict
from ._streams import CHUNK_HAS_USAGE, ChatStream, NativeStream, described, validated

__all__ = [
    "DEADLINE_FACTOR",
    "NATIVE_HEADERS",
    "PROBES",
    "PROBE_MAX_TOKENS",
    "PROMPT",
    "UNKNOWN_MODEL",
    "ProbeRun",
    "first_model",
]

PROMPT = "In one sentence: what is a wire protocol?"
"""The user message (OpenAI) or prompt (native) the probes send."""

PROBE_MAX_TOKENS = 16
"""``max_tokens`` of the probes' valid requests, in tokens."""

UNKNOWN_MODEL = "sagellm-check-no-such-model"
"""The model name the ``error.model`` probe asks for."""

DEADLINE_FACTOR = 4
"""A probe's reply must be complete within this many times ``--timeout``."""

_CHAT = "/v1/chat/completions"
_GENERATE = "/v1/generate"
_VERSION_HEADER = PROTOCOL_VERSION_HEADER.lower()
NATIVE_HEADERS = ((PROTOCOL_VERSION_HEADER, "0.1"),)
"""Sent with every native request: the protocol version asked for."""

Outcome: TypeAlias = tuple[Verdict, str]


def _probe(id: str, api: Api, sends: str, requires: str) -> Probe:
    return Probe(id=id, api=api, sends=sends, requires=requires)


_MODELS_SENDS = "`GET /v1/models`"
_MODELS_REQUIRES = (
    "200; a `ModelListResponse`, strictly (a field outside the type fails, naming it); at "
    "least one model; the `--model` given, if any, among them. Without `--model` the probes "
    "use the first model listed"
)
_CONTENT_TYPE_REQUIRES = (
    "every reply above: `text/event-stream` for a 200 to a streamed request, "
    "`application/json` for any other"
)
_DETERMINISTIC_SENDS = "nothing; compares the two answers of the probes above"

PROBES: tuple[Probe, ...] = (
    _probe("models", "openai", _MODELS_SENDS, _MODELS_REQUIRES),
    _probe(
        "chat",
        "openai",
        "`POST /v1/chat/completions`: one user message, `max_tokens` 16, `temperature` 0",
        "200; a `ChatCompletionResponse`, strictly (the usage sum is left to `usage`; keys "
        "OpenAI writes that the type lacks are let through: `system_fingerprint`, "
        "`service_tier`, a null `logprobs` or `refusal`, empty `annotations`, the usage's "
        "`*_tokens_details`); one choice, index 0, role `assistant`, a `finish_reason`",
    ),
    _probe(
        "chat.stream",
        "openai",
        "the same with `stream: true` (and `stream_options.include_usage` when the package's "
        "chunk type has a `usage` field)",
        "200; every `data:` a `ChatCompletionStreamResponse`, strictly (as for `chat`, and a "
        "chunk's `usage`, null or the counts); one `id`; the first "
        "chunk gives role `assistant`; one choice (index 0) per chunk; exactly one "
        "`finish_reason`, in the last chunk with choices; after it at most a usage chunk "
        "(empty `choices`); `data: [DONE]` last, nothing after it; no error frame",
    ),
    _probe(
        "usage",
        "openai",
        "nothing; reads the usage of `chat` (and of `chat.stream`'s usage chunk)",
        "`total_tokens` = `prompt_tokens` + `completion_tokens`; `completion_tokens` <= "
        "`max_tokens`, and = `max_tokens` when `finish_reason` is `length`; the usage chunk "
        "when `include_usage` was asked",
    ),
    _probe(
        "deterministic",
        "openai",
        f"{_DETERMINISTIC_SENDS} (only with `--deterministic`)",
        "the streamed contents concatenated equal the whole answer's content; the same "
        "`finish_reason`",
    ),
    _probe(
        "error.value",
        "openai",
        "`POST /v1/chat/completions` with `max_tokens: 0`",
        "400; an OpenAI error envelope (`OpenAIErrorResponse`), strictly; `param` `max_tokens`",
    ),
    _probe(
        "error.type",
        "openai",
        '`POST /v1/chat/completions` with `temperature: "hot"`',
        "400; an OpenAI error envelope, strictly; `param` `temperature`",
    ),
    _probe(
        "error.model",
        "openai",
        f"`POST /v1/chat/completions` for the model `{UNKNOWN_MODEL}`",
        "404; an OpenAI error envelope, strictly; `param` `model` or `code` `model_not_found`",
    ),
    _probe("content-type", "openai", "nothing; reads every reply above", _CONTENT_TYPE_REQUIRES),
    _probe(
        "version",
        "openai",
        "nothing; reads every reply above",
        "`X-SageLLM-Protocol-Version`, where a reply has it, is `0.1` or `0.1.N`; SKIP when no "
        "reply has it (optional for an OpenAI server)",
    ),
    _probe(
        "models",
        "native",
        _MODELS_SENDS,
        f"{_MODELS_REQUIRES}. SKIP on 404 when `--model` is given",
    ),
    _probe("health", "native", "`GET /health`", '200; the JSON object `{"status": "ok"}`'),
    _probe(
        "generate",
        "native",
        "`POST /v1/generate`: a `Request` with `max_tokens` 16, `stream: false`, and "
        "`X-SageLLM-Protocol-Version: 0.1`",
        "200; a `Response`, strictly; the request's own `request_id` and `trace_id`; no error",
    ),
    _probe(
        "generate.stream",
        "native",
        "the same with `stream: true`",
        "200; every frame a stream event, strictly (`sse.SSEDecoder`); the stream grammar "
        "(`streaming.StreamAssembler`: one start, deltas, one end, the same ids, the end equal "
        "to the deltas), nothing after the end, no `[DONE]`; the request's ids; no error end",
    ),
    _probe(
        "usage",
        "native",
        "nothing; reads the answers of `generate` and `generate.stream`",
        "at most `max_tokens` output tokens, and exactly `max_tokens` when `finish_reason` is "
        "`length`",
    ),
    _probe(
        "deterministic",
        "native",
        f"{_DETERMINISTIC_SENDS} (only with `--deterministic`)",
        "the assembled stream equals the whole answer: `output_text`, `output_tokens`, "
        "`finish_reason`",
    ),
    _probe(
        "error.value",
        "native",
        "`POST /v1/generate` with `max_tokens: 0`",
        '400; the native envelope `{"errors": [Error, ...]}`, strictly; an `invalid_argument` '
        "error with `param` `max_tokens`",
    ),
    _probe(
        "error.type",
        "native",
        '`POST /v1/generate` with `temperature: "hot"`',
        "400; the native envelope, strictly; an `invalid_argument` error with `param` "
        "`temperature`",
    ),
    _probe(
        "error.model",
        "native",
        f"`POST /v1/generate` for the model `{UNKNOWN_MODEL}`",
        "404; the native envelope, strictly; an error with `param` `model`",
    ),
    _probe("content-type", "native", "nothing; reads every reply above", _CONTENT_TYPE_REQUIRES),
    _probe(
        "version",
        "native",
        "nothing; reads every reply above",
        "every reply has `X-SageLLM-Protocol-Version`, and it is `0.1` or `0.1.N`",
    ),
)
"""Every probe, in the order they run (the OpenAI ones, then the native ones)."""


class _NativeErrors(ProtocolModel):
    """The native error envelope."""

    errors: Annotated[list[Error], Field(min_length=1)]
    """Every problem, at least one."""


def first_model(listing: Any) -> str | None:
    """The id of the first model of a ``/v1/models`` body (parsed JSON), if it has one."""
    data = listing.get("data") if isinstance(listing, dict) else None
    first = data[0] if isinstance(data, list) and data else None
    model = first.get("id") if isinstance(first, dict) else None
    return model if isinstance(model, str) and model else None


def _ids() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:16]
    return f"check-{tag}", f"check-trace-{tag}"


@dataclass
class ProbeRun:
    """One run of the probes: the options, every exchange so far, and what probes found."""

    target: Target
    api: Api
    given_model: str | None
    timeout: float
    deterministic: bool
    headers: tuple[tuple[str, str], ...]
    model: str | None = None
    results: list[ProbeResult] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False
    """Set by ``stop``: no probe starts after it."""

    def stop(self) -> None:
        """Start no more probes (Ctrl-C)."""
        self.stopped = True

    async def run(self, on_result: Callable[[ProbeResult], None] | None) -> None:
        """Run every probe of the API in order; each result goes to ``results`` at once."""
        self.model = self.given_model
        steps = _OPENAI_STEPS if self.api == "openai" else _NATIVE_STEPS
        for probe in (probe for probe in PROBES if probe.api == self.api):
            if self.stopped:
                return
            try:
                verdict, message = await steps[probe.id](self)
            except Exception as exc:  # a bug of the checker: one failing probe, not a traceback
                verdict = "FAIL"
                message = f"the checker failed on this probe ({type(exc).__name__})"
            result = ProbeResult(probe.id, verdict, printable(message, 1000))
            self.results.append(result)
            if on_result is not None:
                on_result(result)

    async def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        consumer: ChatStream | NativeStream | None = None,
    ) -> Exchange:
        """One exchange with the server, recorded for the content-type and version probes."""
        headers = self.headers + (NATIVE_HEADERS if self.api == "native" else ())
        record = await exchange(
            self.target,
            method,
            path,
            body=body,
            headers=headers,
            timeout=self.timeout,
            deadline=DEADLINE_FACTOR * self.timeout,
            consumer=consumer,
        )
        self.exchanges.append(record)
        return record

    def chat_body(self, **changes: Any) -> dict[str, Any]:
        """A valid chat completion request for the model, with ``changes``."""
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": PROBE_MAX_TOKENS,
            "temperature": 0,
        }
        return {**body, **changes}

    def native_body(self, request_id: str, trace_id: str, **changes: Any) -> dict[str, Any]:
        """A valid native Request for the model, with ``changes``."""
        body = {
            "request_id": request_id,
            "trace_id": trace_id,
            "model": self.model,
            "prompt": PROMPT,
            "max_tokens": PROBE_MAX_TOKENS,
            "stream": False,
        }
        return {**body, **changes}


def _pass(message: str) -> Outcome:
    return "PASS", message


def _fail(message: str) -> Outcome:
    return "FAIL", message


def _skip(message: str) -> Outcome:
    return "SKIP", message


_NO_MODEL = _skip("no model to use: the model list gave none (give --model)")

# --- probes of both APIs ------------------------------------------------------------------


async def _models(run: ProbeRun) -> Outcome:
    record = await run.send("GET", "/v1/models")
    if record.status == 404 and run.api == "native" and run.given_model is not None:
        return _skip("no model list here (404); the --model given is used")
    problem = record.problem(200)
    if problem is not None:
        return _fail(problem)
    if run.model is None:
        run.model = first_model(record.json())
    try:
        listing = validated(ModelListResponse, record.body)
    except ProtocolError as exc:
        return _fail(described(exc))
    names = [model.id for model in listing.data]
    if not names:
        return _fail("data: lists no model")
    if run.given_model is not None and run.given_model not in names:
        return _fail("data: does not list the model given with --model")
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return _pass(f"{len(names)} listed: {', '.join(names[:3])}{more}")


async def _content_type(run: ProbeRun) -> Outcome:
    judged = [record for record in run.exchanges if record.head is not None]
    if not judged:
        return _skip("no reply came to judge")
    problems = []
    for record in judged:
        assert record.head is not None
        expected = SSE_MEDIA_TYPE if record.stream and record.status == 200 else JSON_MEDIA_TYPE
        given = record.head.header("content-type")
        media_type = None if given is None else given.split(";", 1)[0].strip().lower()
        if media_type != expected:
            shown = "missing" if given is None else printable(given, 80)
            problems.append(f"{record.label}: Content-Type is {shown}, expected {expected}")
    return _verdict(problems, f"{len(judged)} replies")


async def _version(run: ProbeRun) -> Outcome:
    judged = [record for record in run.exchanges if record.head is not None]
    if not judged:
        return _skip("no reply came to judge")
    missing, malformed = [], []
    for record in judged:
        assert record.head is not None
        value = record.head.header(_VERSION_HEADER)
        if value is None:
            missing.append(record.label)
            continue
        try:
            negotiate_version(value)
        except ProtocolError:
            malformed.append(
                f"{record.label}: {PROTOCOL_VERSION_HEADER} is {printable(value, 40)}, "
                "not 0.1 or 0.1.N"
            )
    if run.api == "native":
        malformed += [f"{label}: has no {PROTOCOL_VERSION_HEADER}" for label in missing]
    if malformed:
        return _verdict(malformed, "")
    if len(missing) == len(judged):
        return _skip(f"no reply has {PROTOCOL_VERSION_HEADER} (optional for an OpenAI server)")
    return _pass(f"{len(judged) - len(missing)} replies carry a 0.1 version")


def _verdict(problems: Sequence[str], passed: str) -> Outcome:
    if not problems:
        return _pass(passed)
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return _fail("; ".join(problems[:3]) + more)


def _usage_problems(where: str, prompt: int, completion: int, total: int, finish: Any) -> list[str]:
    problems = []
    if total != prompt + completion:
        problems.append(
            f"{where}: usage.total_tokens: must equal prompt_tokens + completion_tokens "
            f"({prompt} + {completion}, not {total})"
        )
    problems.extend(_token_count_problems(f"{where}: usage.completion_tokens", completion, finish))
    return problems


def _token_count_problems(where: str, count: int, finish: Any) -> list[str]:
    if count > PROBE_MAX_TOKENS:
        return [f"{where}: {count} tokens, more than the max_tokens asked ({PROBE_MAX_TOKENS})"]
    if finish == "length" and count != PROBE_MAX_TOKENS:
        return [
            f"{where}: finish_reason is length, so there must be max_tokens "
            f"({PROBE_MAX_TOKENS}) tokens, not {count}"
        ]
    return []


def _first_difference(first: Sequence[Any], second: Sequence[Any]) -> int:
    return next(
        (i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b),
        min(len(first), len(second)),
    )


# --- OpenAI ---------------------------------------------------------------------------------


async def _chat(run: ProbeRun) -> Outcome:
    if run.model is None:
        return _NO_MODEL
    record = await run.send("POST", _CHAT, run.chat_body())
    problem = record.problem(200)
    if problem is not None:
        return _fail(problem)
    try:
        answer = validated(ChatCompletionResponse, record.body)
    except ProtocolError as exc:
        return _fail(described(exc))
    if len(answer.choices) != 1 or answer.choices[0].index != 0:
        return _fail("choices: must hold one choice, index 0 (n = 1 was asked)")
    choice = answer.choices[0]
    if choice.message.role != "assistant":
        return _fail("choices[0].message.role: must be assistant")
    if choice.finish_reason is None:
        return _fail("choices[0].finish_reason: must be given in a whole answer")
    run.found["chat"] = (answer, record.json())
    tokens = answer.usage.completion_tokens
    return _pass(f"{tokens} tokens, finish_reason {choice.finish_reason}")


async def _chat_stream(run: ProbeRun) -> Outcome:
    if run.model is None:
        return _NO_MODEL
    body = run.chat_body(stream=True)
    if CHUNK_HAS_USAGE:
        body["stream_options"] = {"include_usage": True}
    stream = ChatStream()
    record = await run.send("POST", _CHAT, body, consumer=stream)
    problem = record.problem(200) or record.violation
    if problem is not None:
        return _fail(problem)
    run.found["chat.stream"] = stream
    return _pass(f"{stream.chunks} chunks, finish_reason {stream.finish_reason}, then data: [DONE]")


async def _openai_usage(run: ProbeRun) -> Outcome:
    chat = run.found.get("chat")
    if chat is None:
        return _skip("needs the answer of chat, which did not pass")
    answer, raw = chat
    usage = raw.get("usage") if isinstance(raw, dict) else None
    if not isinstance(usage, dict):
        return _skip("the usage of chat could not be read as JSON")
    counts = usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]
    finish = answer.choices[0].finish_reason
    problems = _usage_problems("the whole answer", *counts, finish)
    stream: ChatStream | None = run.found.get("chat.stream")
    if stream is not None:
        if stream.usage is None:
            if CHUNK_HAS_USAGE:
                problems.append("the stream has no usage chunk although include_usage was asked")
        else:
            streamed = stream.usage
            problems += _usage_problems(
                "the stream",
                streamed["prompt_tokens"],
                streamed["completion_tokens"],
                streamed["total_tokens"],
                stream.finish_reason,
            )
    prompt, completion, total = counts
    return _verdict(problems, f"{prompt} + {completion} = {total} tokens")


async def _openai_deterministic(run: ProbeRun) -> Outcome:
    if not run.deterministic:
        return _skip("not asked for (--deterministic)")
    chat, stream = run.found.get("chat"), run.found.get("chat.stream")
    if chat is None or stream is None:
        return _skip("needs chat and chat.stream to pass")
    choice = chat[0].choices[0]
    whole, streamed = choice.message.content, "".join(stream.content)
    if whole != streamed:
        return _fail(
            "the stream's content differs from the whole answer's from character "
            f"{_first_difference(whole, streamed)} on ({len(streamed)} and {len(whole)} "
            "characters)"
        )
    if choice.finish_reason != stream.finish_reason:
        return _fail(
            f"finish_reason: {stream.finish_reason} in the stream, {choice.finish_reason} "
            "in the whole answer"
        )
    return _pass(f"the stream assembles to the whole answer ({len(whole)} characters)")


async def _openai_error(
    run: ProbeRun, changes: dict[str, Any], status: int, param: str, code: str | None = None
) -> Outcome:
    if run.model is None and "model" not in changes:
        return _NO_MODEL
    record = await run.send("POST", _CHAT, run.chat_body(**changes))
    problem = record.problem(status)
    if problem is not None:
        return _fail(problem)
    try:
        error = decode(OpenAIErrorResponse, record.body).error
    except ProtocolError as exc:
        return _fail(f"not an OpenAI error envelope: {described(exc)}")
    if error.param != param and (code is None or error.code != code):
        given = "null" if error.param is None else printable(error.param, 80)
        return _fail(f"error.param: must name {param} (it is {given})")
    return _pass(f"{status}, param {param}" if error.param == param else f"{status}, code {code}")


_OPENAI_STEPS: dict[str, Callable[[ProbeRun], Awaitable[Outcome]]] = {
    "models": _models,
    "chat": _chat,
    "chat.stream": _chat_stream,
    "usage": _openai_usage,
    "deterministic": _openai_deterministic,
    "error.value": lambda run: _openai_error(run, {"max_tokens": 0}, 400, "max_tokens"),
    "error.type": lambda run: _openai_error(run, {"temperature": "hot"}, 400, "temperature"),
    "error.model": lambda run: _openai_error(
        run, {"model": UNKNOWN_MODEL}, 404, "model", "model_not_found"
    ),
    "content-type": _content_type,
    "version": _version,
}

# --- native ---------------------------------------------------------------------------------


async def _health(run: ProbeRun) -> Outcome:
    record = await run.send("GET", "/health")
    problem = record.problem(200)
    if problem is not None:
        return _fail(problem)
    body = record.json()
    if not isinstance(body, dict):
        return _fail('the body must be the JSON object {"status": "ok"}')
    extra = sorted(name for name in body if name != "status")
    if extra:
        return _fail(f"{printable(extra[0], 80)}: is not a field of the health reply")
    if body.get("status") != "ok":
        return _fail('status: must be "ok"')
    return _pass('{"status": "ok"}')


async def _generate(run: ProbeRun) -> Outcome:
    if run.model is None:
        return _NO_MODEL
    request_id, trace_id = _ids()
    record = await run.send("POST", _GENERATE, run.native_body(request_id, trace_id))
    problem = record.problem(200)
    if problem is not None:
        return _fail(problem)
    try:
        response = validated(Response, record.body)
    except ProtocolError as exc:
        return _fail(described(exc))
    if (response.request_id, response.trace_id) != (request_id, trace_id):
        return _fail("request_id, trace_id: must be the request's own")
    if response.error is not None:
        return _fail(f"finish_reason: error ({response.error.code.value}) with status 200")
    run.found["generate"] = response
    tokens = len(response.output_tokens)
    return _pass(f"{tokens} tokens, finish_reason {response.finish_reason}")


async def _generate_stream(run: ProbeRun) -> Outcome:
    if run.model is None:
        return _NO_MODEL
    request_id, trace_id = _ids()
    stream = NativeStream(request_id, trace_id)
    body = run.native_body(request_id, trace_id, stream=True)
    record = await run.send("POST", _GENERATE, body, consumer=stream)
    problem = record.problem(200) or record.violation
    if problem is not None:
        return _fail(problem)
    response = stream.response()
    run.found["generate.stream"] = response
    return _pass(f"{stream.events} events, finish_reason {response.finish_reason}")


async def _native_usage(run: ProbeRun) -> Outcome:
    answers = {
        name: response
        for name, response in (
            ("the whole answer", run.found.get("generate")),
            ("the stream", run.found.get("generate.stream")),
        )
        if response is not None
    }
    if not answers:
        return _skip("needs generate or generate.stream to pass")
    problems = [
        problem
        for where, response in answers.items()
        for problem in _token_count_problems(
            f"{where}: output_tokens", len(response.output_tokens), response.finish_reason
        )
    ]
    counts = " and ".join(str(len(response.output_tokens)) for response in answers.values())
    return _verdict(problems, f"{counts} output tokens (max_tokens {PROBE_MAX_TOKENS})")


async def _native_deterministic(run: ProbeRun) -> Outcome:
    if not run.deterministic:
        return _skip("not asked for (--deterministic)")
    whole, streamed = run.found.get("generate"), run.found.get("generate.stream")
    if whole is None or streamed is None:
        return _skip("needs generate and generate.stream to pass")
    if streamed.output_tokens != whole.output_tokens:
        return _fail(
            "output_tokens: the stream's differ from the whole answer's from token "
            f"{_first_difference(whole.output_tokens, streamed.output_tokens)} on"
        )
    if streamed.output_text != whole.output_text:
        return _fail(
            "output_text: the stream's differs from the whole answer's from character "
            f"{_first_difference(whole.output_text, streamed.output_text)} on"
        )
    if streamed.finish_reason != whole.finish_reason:
        return _fail(
            f"finish_reason: {streamed.finish_reason} in the stream, {whole.finish_reason} "
            "in the whole answer"
        )
    return _pass(f"the stream assembles to the whole answer ({len(whole.output_tokens)} tokens)")


async def _native_error(run: ProbeRun, changes: dict[str, Any], status: int, param: str) -> Outcome:
    if run.model is None and "model" not in changes:
        return _NO_MODEL
    body = run.native_body(*_ids(), **changes)
    record = await run.send("POST", _GENERATE, body)
    problem = record.problem(status)
    if problem is not None:
        return _fail(problem)
    try:
        errors = decode(_NativeErrors, record.body).errors
    except ProtocolError as exc:
        return _fail(f'not the native envelope {{"errors": [...]}}: {described(exc)}')
    named = [index for index, error in enumerate(errors) if error.param == param]
    if not named:
        return _fail(f"errors: none has param {param}")
    if status == 400 and errors[named[0]].code is not ErrorCode.INVALID_ARGUMENT:
        return _fail(f"errors[{named[0]}].code: must be invalid_argument")
    return _pass(f"{status}, param {param}")


_NATIVE_STEPS: dict[str, Callable[[ProbeRun], Awaitable[Outcome]]] = {
    "models": _models,
    "health": _health,
    "generate": _generate,
    "generate.stream": _generate_stream,
    "usage": _native_usage,
    "deterministic": _native_deterministic,
    "error.value": lambda run: _native_error(run, {"max_tokens": 0}, 400, "max_tokens"),
    "error.type": lambda run: _native_error(run, {"temperature": "hot"}, 400, "temperature"),
    "error.model": lambda run: _native_error(run, {"model": UNKNOWN_MODEL}, 404, "model"),
    "content-type": _content_type,
    "version": _version,
}
