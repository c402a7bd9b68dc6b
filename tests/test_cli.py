"""The command line, run as a user runs it: subprocesses, exit codes, output, standard input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagellm_protocol import (
    PROTOCOL_VERSION,
    Request,
    Response,
    StreamEventDelta,
    __version__,
    cli,
    encode,
)
from sagellm_protocol import _traffic as traffic
from sagellm_protocol.limits import MAX_MESSAGE_SIZE
from sagellm_protocol.sse import encode_event
from sagellm_protocol.streaming import split_response
from sagellm_protocol.testing import example

from .scripts import run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "traffic.jsonl"


def test_version() -> None:
    result = run_cli("version")
    expected = f"sagellm-protocol {__version__} (protocol {PROTOCOL_VERSION})\n"
    assert (result.returncode, result.stdout) == (0, expected)


@pytest.mark.parametrize(
    "command", [[], ["schema"], ["compat"], ["validate"], ["demo"], ["serve"], ["version"]]
)
def test_help(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: sagellm-protocol")


def test_no_command_is_a_usage_error() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage:" in result.stderr


SAMPLE_REPORT = [
    f"{SAMPLE}:9: Request.max_tokens: invalid_argument: must be greater than 0",
    f"{SAMPLE}:20: Request.temperatur: invalid_argument: "
    "is not a field of this message (unknown fields are rejected)",
    f"{SAMPLE}:30: StreamEventDelta.chunk_tokens[0]: invalid_argument: "
    "must be greater than or equal to 0",
    f"{SAMPLE}:39: ChatCompletionUsage.total_tokens: invalid_argument: "
    "must equal prompt_tokens + completion_tokens",
    f"{SAMPLE}:47: Request.stream: invalid_argument: must be a boolean (true or false)",
    "47 messages, 5 invalid",
]


def test_validate_the_sample_traffic() -> None:
    result = run_cli("validate", str(SAMPLE))
    assert result.returncode == 1
    assert result.stdout.splitlines() == SAMPLE_REPORT


def test_validate_from_standard_input() -> None:
    result = run_cli("validate", "-", stdin=SAMPLE.read_bytes())
    assert result.returncode == 1
    assert (
        result.stdout.splitlines()[0]
        == "<stdin>:9: Request.max_tokens: invalid_argument: must be greater than 0"
    )


def test_a_valid_json_object(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(example(Request).model_dump(exclude_none=True), indent=2))
    result = run_cli("validate", str(path))
    assert (result.returncode, result.stdout) == (0, "1 message, 0 invalid\n")


def test_a_json_array_reports_element_lines(tmp_path: Path) -> None:
    good = example(Request).model_dump(exclude_none=True)
    path = tmp_path / "requests.json"
    path.write_text(
        "[\n" + json.dumps(good) + ",\n\n" + json.dumps({**good, "max_tokens": -1}) + "\n]\n"
    )
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}:4: Request.max_tokens: invalid_argument: must be greater than 0",
        "2 messages, 1 invalid",
    ]


def test_an_sse_stream_reports_frame_lines(tmp_path: Path) -> None:
    events = split_response(example(Response), tokens_per_delta=1)
    wire = b"".join(encode_event(event) for event in events)
    bad = wire.replace(b'"chunk_tokens":[17]', b'"chunk_tokens":[-17]')
    path = tmp_path / "stream.sse"
    path.write_bytes(b": a comment\n" + bad + b"data: [DONE]\n\n")
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}:8: StreamEventDelta.chunk_tokens[0]: invalid_argument: "
        "must be greater than or equal to 0",
        "4 messages, 1 invalid",
    ]


def test_an_event_line_that_disagrees_is_reported(tmp_path: Path) -> None:
    frame = encode_event(example(StreamEventDelta)).replace(b"event: delta", b"event: end")
    path = tmp_path / "stream.sse"
    path.write_bytes(frame)
    result = run_cli("validate", str(path))
    assert result.stdout.splitlines()[0].startswith(
        f"{path}:1: StreamEventDelta.event: invalid_argument: the event: line"
    )


def test_type_is_forced_with_type(tmp_path: Path) -> None:
    path = tmp_path / "delta.json"
    path.write_bytes(encode(example(StreamEventDelta)))
    assert run_cli("validate", "--type", "StreamEventDelta", str(path)).returncode == 0
    assert run_cli("validate", "--type", "StreamEvent", str(path)).returncode == 0
    result = run_cli("validate", "--type", "Request", str(path))
    assert result.returncode == 1
    assert (
        f"{path}:1: Request.request_id" not in result.stdout
    )  # ids are fine; other fields are not
    assert (
        f"{path}:1: Request.event: invalid_argument: is not a field of this message"
        in result.stdout
    )


def test_closest_type_is_reported_when_none_fits(tmp_path: Path) -> None:
    path = tmp_path / "almost.jsonl"
    path.write_text(
        json.dumps({**example(Request).model_dump(exclude_none=True), "max_tokens": 0}) + "\n"
    )
    result = run_cli("validate", str(path))
    assert (
        result.stdout.splitlines()[0]
        == f"{path}:1: Request.max_tokens: invalid_argument: must be greater than 0"
    )


def test_invalid_json_lines_are_messages_too(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(encode(example(Request)).decode() + "\n{not json\n")
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(
        f"{path}:2: message: invalid_argument: the message is not valid JSON"
    )
    assert result.stdout.splitlines()[-1] == "2 messages, 1 invalid"


def _findings(*values: object) -> list[tuple[str | None, list[str | None]]]:
    found = [traffic.check(traffic.Message(1, json.dumps(value))) for value in values]
    return [(f.type_name, [e.param for e in f.errors]) for f in found]


def test_the_type_the_fields_fit_best_is_chosen() -> None:
    assert _findings({"role": "user", "content": "hi"}, {"role": "robot"}) == [
        ("ChatMessage", []),
        ("ChatMessage", ["role", "content"]),
    ]


def test_a_message_that_fits_no_type_is_blamed_on_none() -> None:
    finding = traffic.check(traffic.Message(1, '{"hello": "world"}'))
    assert finding.type_name is None
    assert finding.errors[0].message.startswith("the message fits no message type")


def test_a_type_without_required_fields_is_only_checked_when_named(tmp_path: Path) -> None:
    path = tmp_path / "delta.json"
    path.write_text('{"role": "assistant"}')
    assert run_cli("validate", "--type", "ChatCompletionStreamDelta", str(path)).returncode == 0
    assert "ChatMessage.content" in run_cli("validate", str(path)).stdout


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory, not a file"),
        (lambda p: p.write_bytes(b'{"prompt": "\xff"}'), "is not UTF-8 text"),
    ],
    ids=["missing", "directory", "not UTF-8"],
)
def test_unreadable_input_is_a_one_line_error(tmp_path: Path, setup: object, expected: str) -> None:
    path = tmp_path / "input"
    setup(path)  # type: ignore[operator]
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"sagellm-protocol: error: {path}: {expected}"


def test_unknown_type_name_is_a_usage_error() -> None:
    result = run_cli("validate", "--type", "Nope", str(SAMPLE))
    assert result.returncode == 2
    assert "unknown --type 'Nope'" in result.stderr


def test_empty_input_is_a_failure() -> None:
    result = run_cli("validate", "-", stdin=b"\n\n")
    assert (result.returncode, result.stdout) == (1, "0 messages: the input holds no message\n")


def test_demo_shows_the_round_trip() -> None:
    result = run_cli("demo")
    assert result.returncode == 0
    sections = [
        "== Request",
        "== Stream (server-sent events)",
        "== Response",
        "== OpenAI",
        "== Metrics",
    ]
    assert all(section in result.stdout for section in sections)
    assert "event: start" in result.stdout
    assert "event: end" in result.stdout
    assert "TTFT" in result.stdout


def test_demo_is_deterministic_for_a_seed() -> None:
    # Everything before the OpenAI result (whose "created" is the current time) repeats.
    first, second = run_cli("demo", "--seed", "3").stdout, run_cli("demo", "--seed", "3").stdout
    assert first.split("== OpenAI")[0] == second.split("== OpenAI")[0]
    assert (
        first.split("== OpenAI")[0] != run_cli("demo", "--seed", "4").stdout.split("== OpenAI")[0]
    )


@pytest.mark.parametrize(
    "content",
    ["[" * 50_000 + "]" * 50_000, '{"a":' * 50_000 + "1" + "}" * 50_000, "[" + "[" * 50_000 + "\n"],
    ids=["deep array", "deep object", "deep unfinished array"],
)
def test_deeply_nested_input_is_reported_not_crashed_on(tmp_path: Path, content: str) -> None:
    # Found by `make fuzz`: format detection once used a recursive parser.
    path = tmp_path / "deep.json"
    path.write_text(content)
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "1 message, 1 invalid"


def test_a_source_without_line_ends_is_refused_at_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "endless"
    path.write_bytes(b"0" * (MAX_MESSAGE_SIZE + 10))
    result = run_cli("validate", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "line 1 is longer than the size limit of 16777216 bytes" in result.stderr


def test_a_long_json_array_is_read_element_by_element(tmp_path: Path) -> None:
    count = 20_000
    good = encode(example(Request)).decode()
    path = tmp_path / "many.json"
    bad = (
        encode(example(Request, max_tokens=1)).decode().replace('"max_tokens":1', '"max_tokens":0')
    )
    path.write_text("[\n" + ",\n".join([good] * (count - 1) + [bad]) + "\n]\n")
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == f"{path}:{count + 1}: Request.max_tokens: invalid_argument: must be greater than 0"
    )
    assert lines[-1] == f"{count} messages, 1 invalid"


def test_an_sse_frame_left_unfinished_is_an_error(tmp_path: Path) -> None:
    events = split_response(example(Response), tokens_per_delta=1)
    wire = b"".join(encode_event(event) for event in events)
    path = tmp_path / "cut.sse"
    path.write_bytes(wire[:-1])  # the last blank line is missing
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert "the input ended inside this SSE frame" in result.stdout


def test_sse_input_is_checked_against_the_stream_grammar(tmp_path: Path) -> None:
    events = split_response(example(Response), tokens_per_delta=1)
    path = tmp_path / "no-end.sse"
    path.write_bytes(b"".join(encode_event(event) for event in events[:-1]))
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}:1: StreamEvent: invalid_argument: stream grammar: the stream that starts here "
        "has no end event",
        f"{len(events) - 1} messages, 1 invalid",
    ]


def test_json_lines_are_checked_against_the_grammar_with_stream(tmp_path: Path) -> None:
    events = split_response(example(Response), tokens_per_delta=1)
    path = tmp_path / "events.jsonl"
    lines = [encode(event).decode() for event in [events[0], events[-1]]]
    path.write_text("\n".join([encode(example(Request)).decode(), *lines]) + "\n")
    assert run_cli("validate", str(path)).returncode == 0
    result = run_cli("validate", "--stream", str(path))
    assert result.returncode == 1
    assert "stream grammar: event 1: output_text must equal" in result.stdout


def test_a_bad_argument_value_is_a_usage_error() -> None:
    result = run_cli("demo", "--max-tokens", "0")
    assert result.returncode == 2
    assert "--max-tokens: must be an integer > 0" in result.stderr


def test_running_out_of_memory_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def exhausted(args: object) -> int:
        raise MemoryError

    monkeypatch.setattr(cli, "_cmd_version", exhausted)
    assert cli.main(["version"]) == 2
    assert capsys.readouterr().err == "sagellm-protocol: error: out of memory\n"
