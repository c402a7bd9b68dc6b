"""The ``sagellm-protocol`` command line (also ``python -m sagellm_protocol``).

Subcommands:

* ``schema --out DIR`` writes the JSON Schema bundle; ``schema --check DIR`` reports drift
  between a bundle and the models (exit 1 on drift).
* ``compat OLD_DIR NEW_DIR [--json] [--strict] [--allow FILE]`` compares two bundles; exit 1
  when a change breaks old sender -> new receiver (with ``--strict``, also on new sender -> old
  receiver warnings). ``--allow`` lets through the reviewed changes a file lists
  (``compat.load_allowances``); an allowance that names no change is an error too.
* ``validate [--type T] [--stream] FILE|-`` checks recorded traffic (a JSON object or array,
  JSON lines, or an SSE stream), read as a stream: one line per problem,
  ``FILE:LINE: Type.param: code: message``, then a summary; exit 1 if any message is invalid
  or there is none, 2 if the input cannot be read (a message beyond the size limit included).
* ``demo`` runs a request through the MockEngine and shows the stream, the Response, the
  OpenAI-shaped result and the Metrics.
* ``serve`` runs the MockEngine behind the HTTP app (``sagellm_protocol.asgi``) on uvicorn
  (extra ``serve``) until Ctrl-C or SIGTERM.
* ``check URL`` probes a live server: contract conformance (one line per probe, exit 1 if
  one fails), or with ``--requests N`` the client-side latency of N streamed requests
  (``sagellm_protocol.check``).
* ``version`` prints the package and protocol versions.

Usage errors and unreadable input end with a one-line message and exit status 2. Not imported
by ``import sagellm_protocol``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ._version import PROTOCOL_VERSION, __version__

if TYPE_CHECKING:
    from .errors import Error

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    """A problem with the command line or its input files: one line, exit status 2."""


def _cmd_schema(args: argparse.Namespace) -> int:
    from .schema import check_bundle, write_bundle

    if args.out is not None:
        written = write_bundle(args.out)
        print(f"wrote {len(written)} files to {args.out}")
        return EXIT_OK
    if not Path(args.check).is_dir():
        raise _UsageError(f"{args.check}: no such directory")
    problems = check_bundle(args.check)
    for problem in problems:
        print(f"{args.check}/{problem}")
    if problems:
        print(f"schema bundle in {args.check} is out of date: {len(problems)} problem(s)")
        return EXIT_FAILED
    print(f"schema bundle in {args.check} matches the models")
    return EXIT_OK


def _cmd_compat(args: argparse.Namespace) -> int:
    from .compat import compare_bundles, load_allowances

    for directory in (args.old, args.new):
        if not Path(directory).is_dir():
            raise _UsageError(f"{directory}: no such directory")
    try:
        allowances = load_allowances(args.allow) if args.allow is not None else []
    except (OSError, ValueError) as exc:
        raise _UsageError(f"cannot read the allowances: {exc}") from None
    try:
        report = compare_bundles(args.old, args.new)
    except (OSError, ValueError, KeyError) as exc:
        raise _UsageError(f"cannot read the bundles: {exc}") from None
    unused = report.allow(allowances)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for line in report.lines():
            print(line)
    for allowance in unused:
        print(
            f"{args.allow}: allows {allowance.location}: {allowance.kind.replace('_', ' ')}, "
            "which is not a change between these bundles (remove it)",
            file=sys.stderr,
        )
    status = report.exit_status(strict=args.strict)
    return EXIT_FAILED if unused else status


def _open_input(source: str) -> tuple[str, BinaryIO]:
    """(name to report, binary stream) of a file or of standard input (``-``)."""
    if source == "-":
        return "<stdin>", sys.stdin.buffer
    path = Path(source)
    if not path.exists():
        raise _UsageError(f"{source}: no such file")
    if path.is_dir():
        raise _UsageError(f"{source}: is a directory, not a file")
    try:
        return source, path.open("rb")
    except OSError as exc:
        raise _UsageError(f"{source}: cannot be read ({exc.strerror})") from None


def _cmd_validate(args: argparse.Namespace) -> int:
    from ._traffic import InputError, StreamChecker, check, known_types, read_messages
    from .errors import Error, ErrorCode

    if args.type is not None and args.type not in known_types():
        raise _UsageError(f"unknown --type {args.type!r}; known types: {', '.join(known_types())}")
    name, stream = _open_input(args.file)
    count = invalid = 0
    grammar: StreamChecker | None = StreamChecker() if args.stream else None

    def report(line: int, where: str | None, error: Error) -> None:
        rule = error.message
        if error.param and rule.startswith(f"{error.param}: "):
            rule = rule[len(error.param) + 2 :]
        print(f"{name}:{line}: {where or 'message'}: {error.code.value}: {rule}")

    first_event: Any = None
    try:
        with stream:
            for message in read_messages(stream, name):
                count += 1
                finding = check(message, args.type)
                if grammar is None and (
                    message.sse or (count == 2 and first_event is not None and _is_event(finding))
                ):
                    # SSE, or a sequence of events (the first two are): a stream to follow.
                    grammar = StreamChecker()
                    if first_event is not None:
                        first, first_finding = first_event
                        for error in _follow(grammar, first, first_finding):
                            invalid += 1  # the first event was valid: its problem is new
                            report(first.line, first_finding.type_name, error)
                if count == 1 and _is_event(finding):
                    first_event = (message, finding)
                problems = list(finding.errors)
                if grammar is not None and _is_event(finding):
                    problems += _follow(grammar, message, finding)
                if not problems:
                    continue
                invalid += 1
                for error in problems:
                    where = ".".join(part for part in (finding.type_name, error.param) if part)
                    report(message.line, where, error)
                if finding.more:
                    more = f"and {finding.more} more problem{'s' if finding.more != 1 else ''}"
                    print(f"{name}:{message.line}: {finding.type_name or 'message'}: {more}")
    except InputError as exc:
        raise _UsageError(str(exc)) from None
    except OSError as exc:
        raise _UsageError(f"{name}: cannot be read ({exc.strerror})") from None
    unended = Error(
        code=ErrorCode.INVALID_ARGUMENT,
        message="stream grammar: the stream that starts here has no end event",
    )
    for line in grammar.unfinished() if grammar is not None else []:
        invalid += 1
        report(line, "StreamEvent", unended)
    noun = "message" if count == 1 else "messages"
    if not count:
        print("0 messages: the input holds no message")
        return EXIT_FAILED
    print(f"{count} {noun}, {invalid} invalid")
    return EXIT_FAILED if invalid else EXIT_OK


def _follow(grammar: Any, message: Any, finding: Any) -> list[Error]:
    """The stream grammar problem of ``message``, an event, as a list (empty or one)."""
    if finding.errors:
        grammar.invalid(message)
        return []
    found = grammar.add(finding.decoded, message.line)
    return [] if found is None else [found]


def _is_event(finding: Any) -> bool:
    from .registry import STREAM_EVENT, STREAM_EVENT_TYPES

    names = {STREAM_EVENT, *(model.__name__ for model in STREAM_EVENT_TYPES.values())}
    return finding.type_name in names


def _cmd_demo(args: argparse.Namespace) -> int:
    from .openai_compat import to_chat_completion
    from .sse import encode_event
    from .streaming import StreamAssembler
    from .testing import MockEngine
    from .types import Request

    request = Request(
        request_id="req-demo-1",
        trace_id="trace-demo-1",
        model="mock-7b",
        prompt="Explain the protocol in one sentence.",
        max_tokens=args.max_tokens,
        stream=True,
        temperature=0.7,
    )
    engine = MockEngine(seed=args.seed)
    print("== Request")
    print(request.model_dump_json(exclude_none=True))
    print("\n== Stream (server-sent events)")
    assembler = StreamAssembler()
    for event in engine.stream(request):
        assembler.add(event)
        sys.stdout.write(encode_event(event).decode("utf-8"))
    response = assembler.response()
    print("== Response (assembled from the stream)")
    print(response.model_dump_json(exclude_none=True, exclude={"metrics"}))
    print("\n== OpenAI chat.completion")
    print(
        to_chat_completion(
            response, model=request.model, prompt_tokens=assembler.prompt_tokens or 0
        ).model_dump_json(exclude_none=True)
    )
    print("\n== Metrics")
    metrics = response.metrics
    tpot, tbt = metrics.tpot_ms or 0.0, metrics.tbt_ms or 0.0
    print(f"  TTFT {metrics.ttft_ms:.1f} ms, TPOT {tpot:.1f} ms, TBT {tbt:.1f} ms")
    print(
        f"  throughput {metrics.throughput_tps:.1f} tokens/s, "
        f"{len(response.output_tokens)} tokens, peak memory {metrics.peak_mem_mb} MB"
    )
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    from ._serve import ServeError, serve
    from .testing import MockEngine

    try:
        engine = MockEngine(
            args.seed,
            fault=args.fault,
            fault_after_tokens=args.fault_after,
            models=args.model or ["mock-7b"],
            token_interval_ms=args.token_interval_ms,
        )
    except ValueError as exc:
        raise _UsageError(str(exc).replace("fault_after_tokens", "--fault-after")) from None
    try:
        serve(engine, host=args.host, port=args.port)
    except ServeError as exc:
        raise _UsageError(str(exc)) from None
    return EXIT_OK


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError("must be a port number, 0 to 65535 (0: any free port)")
    return int(text)


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a number of milliseconds >= 0")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError("must be an integer > 0")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError("must be an integer >= 0")
    return int(text)


def _add_serve(commands: Any) -> None:
    from .errors import ErrorCode

    serve = commands.add_parser(
        "serve",
        help="serve the mock engine over HTTP (native and OpenAI endpoints)",
        description=(
            "Serve the MockEngine over HTTP until Ctrl-C or SIGTERM: POST /v1/generate, "
            "/v1/chat/completions, /v1/completions, /v1/embeddings (501), GET /v1/models and "
            "/health. Needs the serve extra (uvicorn)."
        ),
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=_port, default=8000, help="port to listen on (default 8000; 0: a free port)"
    )
    serve.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help="a model name to serve (repeatable; default mock-7b)",
    )
    serve.add_argument(
        "--seed", type=int, default=0, help="seed of requests that give none (default 0)"
    )
    serve.add_argument(
        "--fault",
        choices=[code.value for code in ErrorCode],
        metavar="CODE",
        help="make every request fail with this error code: "
        + ", ".join(code.value for code in ErrorCode),
    )
    serve.add_argument(
        "--fault-after",
        type=_count,
        metavar="N",
        help="with --fault: fail after N tokens (default 0)",
    )
    serve.add_argument(
        "--token-interval-ms",
        type=_milliseconds,
        default=0.0,
        metavar="MS",
        help="time between streamed tokens, in ms (default 0)",
    )
    serve.set_defaults(handler=_cmd_serve)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds > 0")
    return value


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError("must be 'NAME: VALUE'")
    return name.strip(), value.strip()


class _Progress:
    """A progress bar on a terminal: ``[#####.....] 5/10``, redrawn in place."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.drawn = False

    def __call__(self, finished: int, total: int) -> None:
        filled = 30 * finished // total
        self._stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {finished}/{total}")
        self._stream.flush()
        self.drawn = True

    def end(self) -> None:
        if self.drawn:
            self._stream.write("\n")
            self._stream.flush()


def _cmd_check(args: argparse.Namespace) -> int:
    from .check import DEFAULT_LATENCY_MAX_TOKENS, measure_latency, run_probes
    from .check._api import checked_target

    if args.requests is None:
        for option, given in (
            ("--concurrency", args.concurrency),
            ("--max-tokens", args.max_tokens),
        ):
            if given is not None:
                raise _UsageError(f"{option} applies to the latency mode: give --requests too")
    elif args.deterministic:
        raise _UsageError("--deterministic applies to the probes, not to --requests")
    headers = tuple(args.header or ())
    try:  # every argument is judged before the JSON file is opened or anything is sent
        checked_target(args.url, args.api, args.timeout, headers)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    options: dict[str, Any] = {"api": args.api, "model": args.model, "timeout": args.timeout}
    try:
        output = open(args.json, "w", encoding="utf-8") if args.json is not None else None  # noqa: SIM115
    except OSError as exc:
        raise _UsageError(f"{args.json}: cannot be written ({exc.strerror})") from None
    report: Any
    try:
        if args.requests is None:
            report = run_probes(
                args.url,
                deterministic=args.deterministic,
                headers=headers,
                on_result=lambda result: print(result.line(), flush=True),
                **options,
            )
            print(report.summary())
        else:
            progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
            try:
                report = measure_latency(
                    args.url,
                    requests=args.requests,
                    concurrency=args.concurrency or 1,
                    max_tokens=args.max_tokens or DEFAULT_LATENCY_MAX_TOKENS,
                    headers=headers,
                    on_progress=progress,
                    **options,
                )
            finally:
                if progress is not None:
                    progress.end()
            for line in report.lines():
                print(line)
        if output is not None:
            json.dump(report.to_json(), output, indent=2)
            output.write("\n")
    except KeyboardInterrupt:  # outside the run itself, which reports what finished
        print("sagellm-protocol check: interrupted", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if output is not None:
            output.close()
    return EXIT_OK if report.ok else EXIT_FAILED


def _add_check(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="probe a live server: contract conformance, or latency with --requests",
        description=(
            "Probe the server at URL (http://HOST:PORT, its root): a fixed list of conformance "
            "probes, one line each (PASS, FAIL with the field path and the rule, SKIP with why), "
            "exit 1 if one fails; with --requests, the client-side latency of N streamed "
            "requests instead (exit 1 unless every request succeeded). Probes: docs/check.md."
        ),
    )
    check.add_argument(
        "url", metavar="URL", help="the server's base URL, e.g. http://127.0.0.1:8000"
    )
    check.add_argument(
        "--api",
        choices=["openai", "native"],
        default="openai",
        help="check the OpenAI endpoints (default) or the native /v1/generate",
    )
    check.add_argument(
        "--model", metavar="M", help="the model to ask for (default: the first of /v1/models)"
    )
    check.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="time allowed for the connect and each read (default 30)",
    )
    check.add_argument(
        "--deterministic",
        action="store_true",
        help="also require a streamed answer to equal the whole answer",
    )
    check.add_argument(
        "--header",
        type=_header,
        action="append",
        metavar="'NAME: VALUE'",
        help="a header to send with every request (repeatable)",
    )
    check.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH")
    latency = check.add_argument_group("latency mode")
    latency.add_argument(
        "--requests", type=_positive, metavar="N", help="measure latency over N streamed requests"
    )
    latency.add_argument(
        "--concurrency", type=_positive, metavar="C", help="requests in flight at once (default 1)"
    )
    latency.add_argument(
        "--max-tokens", type=_positive, metavar="K", help="max_tokens of each request (default 64)"
    )
    check.set_defaults(handler=_cmd_check)


def _cmd_version(args: argparse.Namespace) -> int:
    del args
    print(f"sagellm-protocol {__version__} (protocol {PROTOCOL_VERSION})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="sagellm-protocol",
        description="Tools for the sageLLM Protocol v0.1 contract.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    schema = commands.add_parser(
        "schema",
        help="write or check the JSON Schema bundle",
        description="Write or check the JSON Schema bundle.",
    )
    target = schema.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", metavar="DIR", help="write the bundle into DIR")
    target.add_argument(
        "--check", metavar="DIR", help="exit 1 if the bundle in DIR differs from the models"
    )
    schema.set_defaults(handler=_cmd_schema)

    compat = commands.add_parser(
        "compat",
        help="compare two schema bundles for breaking changes",
        description=(
            "Compare two schema bundles. Exit 1 when a message valid under OLD is invalid under "
            "NEW (old sender -> new receiver); new sender -> old receiver problems are warnings."
        ),
    )
    compat.add_argument("old", metavar="OLD_DIR", help="the older bundle")
    compat.add_argument("new", metavar="NEW_DIR", help="the newer bundle")
    compat.add_argument("--json", action="store_true", help="print the report as JSON")
    compat.add_argument("--strict", action="store_true", help="let warnings fail too")
    compat.add_argument(
        "--allow",
        metavar="FILE",
        help="a JSON file of reviewed changes to let through (each with its reason)",
    )
    compat.set_defaults(handler=_cmd_compat)

    validate = commands.add_parser(
        "validate",
        help="check recorded traffic against the contract",
        description=(
            "Check every message of FILE (or standard input: -), given as a JSON object, a JSON "
            "array, JSON lines or a server-sent events stream, read as a stream. Each message is "
            "checked as --type, or as the type its fields fit best. Exit 1 if any message is "
            "invalid or there is none; 2 if the input cannot be read or holds a message larger "
            "than the size limit (16 MiB)."
        ),
    )
    validate.add_argument("file", metavar="FILE", help="the input file, or - for standard input")
    validate.add_argument(
        "--type", metavar="T", help="message type name, e.g. Request or StreamEvent"
    )
    validate.add_argument(
        "--stream",
        action="store_true",
        help="check the stream grammar per request_id (automatic for SSE, and for JSON lines "
        "that start with a stream event)",
    )
    validate.set_defaults(handler=_cmd_validate)

    demo = commands.add_parser(
        "demo",
        help="run a request through the mock engine",
        description=(
            "Run a Request through the MockEngine: the stream, the Response, the OpenAI result "
            "and the Metrics."
        ),
    )
    demo.add_argument("--seed", type=int, default=1, help="MockEngine seed (default 1)")
    demo.add_argument(
        "--max-tokens",
        type=_positive,
        default=24,
        help="max_tokens of the request, an integer > 0 (default 24)",
    )
    demo.set_defaults(handler=_cmd_demo)

    _add_serve(commands)
    _add_check(commands)

    version = commands.add_parser(
        "version", help="print the package and protocol versions", description="Print the versions."
    )
    version.set_defaults(handler=_cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except _UsageError as exc:
        print(f"sagellm-protocol: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("sagellm-protocol: error: out of memory", file=sys.stderr)
        return EXIT_USAGE
    return status
