"""The input limits (SECURITY.md): size, nesting, identifiers, error paths, duplicate keys."""

from __future__ import annotations

import json

import pytest

from sagellm_protocol import ProtocolError, Request, StreamEventDelta, decode, encode, limits
from sagellm_protocol.sse import SSEDecoder, encode_event
from sagellm_protocol.testing import example, example_data

MiB = 1024 * 1024


def _padded(size: int) -> bytes:
    """A valid Request whose JSON text is exactly ``size`` bytes (padding in the prompt)."""
    base = encode(example(Request, prompt=""))
    return base.replace(b'"prompt":""', b'"prompt":"' + b"x" * (size - len(base)) + b'"')


def _size_refused(data: object, **options: object) -> bool:
    try:
        decode(Request, data, **options)  # type: ignore[call-overload]
    except ProtocolError as exc:
        return "larger than the size limit" in exc.error.message
    return False


def test_size_limit_boundary_in_bytes() -> None:
    assert len(_padded(1000)) == 1000
    assert decode(Request, _padded(1000), max_size=1000).prompt == "x" * (
        1000 - len(encode(example(Request, prompt="")))
    )
    assert _size_refused(_padded(1001), max_size=1000)


def test_the_default_limit_is_16_mib() -> None:
    assert decode(Request, _padded(16 * MiB)).prompt.startswith("x")
    assert _size_refused(_padded(16 * MiB + 1))


def test_the_limit_can_be_raised() -> None:
    assert decode(Request, _padded(16 * MiB + 1), max_size=17 * MiB).prompt.startswith("x")


@pytest.mark.parametrize(
    "form", [bytearray, memoryview, lambda b: b.decode()], ids=["bytearray", "memoryview", "str"]
)
def test_size_limit_applies_to_every_text_form(form: object) -> None:
    assert not _size_refused(form(_padded(500)), max_size=500)  # type: ignore[operator]
    assert _size_refused(form(_padded(501)), max_size=500)  # type: ignore[operator]


class _ShortBytes(bytes):
    def __len__(self) -> int:
        return 1


class _ShortStr(str):
    def __len__(self) -> int:
        return 1


@pytest.mark.parametrize(
    "form",
    [_ShortBytes, lambda b: _ShortStr(b.decode()), lambda b: memoryview(b).cast("I")],
    ids=["bytes subclass", "str subclass", "memoryview of 4-byte items"],
)
def test_size_limit_counts_bytes_whatever_the_length_says(form: object) -> None:
    assert not _size_refused(form(_padded(504)), max_size=504)  # type: ignore[operator]
    assert _size_refused(form(_padded(504)), max_size=503)  # type: ignore[operator]


def test_size_limit_counts_utf8_bytes_of_a_str() -> None:
    text = encode(example(Request, prompt="é" * 300)).decode()  # 2 bytes per "é"
    size = len(text.encode())
    assert len(text) < size
    assert not _size_refused(text, max_size=size)
    assert _size_refused(text, max_size=size - 1)


def test_size_is_checked_before_parsing() -> None:
    garbage = b"{" + b"[" * (2 * MiB)
    with pytest.raises(ProtocolError, match="larger than the size limit of 1024 bytes"):
        decode(Request, garbage, max_size=1024)


def test_a_mapping_is_not_measured() -> None:
    data = {**example_data(Request), "prompt": "x" * 5000}
    assert decode(Request, data, max_size=10).prompt == "x" * 5000


DUPLICATED = (
    b'{"request_id":"r","trace_id":"t","model":"m","prompt":"p",'
    b'"max_tokens":0,"max_tokens":8,"stream":false}'
)


def test_duplicate_keys_last_value_wins_by_default() -> None:
    assert decode(Request, DUPLICATED).max_tokens == 8
    assert decode(Request, DUPLICATED, duplicate_keys="last").max_tokens == 8


def test_duplicate_keys_can_be_refused() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(Request, DUPLICATED, duplicate_keys="reject")
    assert [(e.param, e.message) for e in caught.value.errors] == [
        ("max_tokens", "max_tokens: appears twice in one object (duplicate keys are refused)")
    ]


def test_every_nested_duplicate_is_reported_with_its_path() -> None:
    body = (
        '{"model":"m","messages":[{"role":"user","content":"a","content":"b"}],'
        '"metadata":1,"stop":"x","stop":"y","stop":"z"}'
    )
    from sagellm_protocol import ChatCompletionRequest

    with pytest.raises(ProtocolError) as caught:
        decode(ChatCompletionRequest, body, duplicate_keys="reject")
    # An object's own duplicate keys first, then those inside its values.
    assert [e.param for e in caught.value.errors] == ["stop", "messages[0].content"]


def test_refusing_duplicates_does_not_change_other_verdicts() -> None:
    wire = encode(example(Request))
    assert decode(Request, wire, duplicate_keys="reject") == example(Request)
    with pytest.raises(ProtocolError) as caught:
        decode(Request, b"{not json", duplicate_keys="reject")
    assert caught.value.error.message.startswith("the message is not valid JSON")
    assert decode(Request, example_data(Request), duplicate_keys="reject") == example(Request)


def test_option_values_are_checked() -> None:
    with pytest.raises(ValueError, match="duplicate_keys must be"):
        decode(Request, b"{}", duplicate_keys="first")  # type: ignore[call-overload]


def test_sse_decoder_refuses_a_huge_line_without_buffering_it() -> None:
    decoder = SSEDecoder(max_frame_size=1000)
    decoder.feed(b"data: " + b"x" * 900)
    with pytest.raises(ProtocolError, match="frame 1: larger than the limit of 1000 bytes"):
        decoder.feed(b"x" * 200)


def _sse_verdict(chunks: list[bytes], max_frame_size: int) -> str:
    decoder = SSEDecoder(max_frame_size=max_frame_size)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
        decoder.close()
    except ProtocolError as exc:
        return exc.error.message
    return "accepted"


@pytest.mark.parametrize("kind", [b"data: ", b"event: ", b"id: ", b"retry: ", b"x-other: ", b": "])
@pytest.mark.parametrize("length", [31, 32, 33, 40])
def test_sse_size_verdict_is_the_same_for_every_chunking_and_line_kind(
    kind: bytes, length: int
) -> None:
    stream = kind + b"1" * (length - len(kind)) + b"\n\n"
    whole = _sse_verdict([stream], 32)
    assert ("limit of 32 bytes" in whole) == (length > 32)
    for cut in range(1, len(stream)):
        assert _sse_verdict([stream[:cut], stream[cut:]], 32) == whole


def test_sse_lines_of_every_kind_count_toward_the_frame_size() -> None:
    frame = b"event: delta\nid: 1234567890\nretry: 10\ndata: 1\n\n"
    assert "larger than the limit of 32 bytes" in _sse_verdict([frame], 32)


def test_sse_decoder_refuses_a_huge_frame_of_many_lines() -> None:
    decoder = SSEDecoder(max_frame_size=1000)
    with pytest.raises(ProtocolError, match="frame 1: larger than the limit of 1000 bytes"):
        decoder.feed(b"data: xxxxxxxxxx\n" * 100)


def test_sse_decoder_limit_is_per_frame() -> None:
    frame = encode_event(example(StreamEventDelta))
    decoder = SSEDecoder(max_frame_size=len(frame))
    assert len(decoder.feed(frame * 50)) == 50


def test_identifier_and_depth_limits_are_errors_naming_the_field() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(Request, {**example_data(Request), "request_id": "x" * 257})
    assert caught.value.error.param == "request_id"
    deep: object = 1
    for _ in range(33):
        deep = {"k": deep}
    with pytest.raises(ProtocolError) as caught:
        decode(Request, json.dumps({**example_data(Request), "metadata": deep}))
    assert caught.value.error.param is not None
    assert caught.value.error.param.startswith("metadata.k")


def test_security_md_states_the_limits_the_code_enforces() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "SECURITY.md").read_text(encoding="utf-8")
    assert f"{limits.MAX_MESSAGE_SIZE // MiB} MiB" in text
    assert f"| {limits.MAX_METADATA_DEPTH} (`MAX_METADATA_DEPTH`)" in text
    assert f"| {limits.MAX_IDENTIFIER_LENGTH} characters (`MAX_IDENTIFIER_LENGTH`)" in text
    assert f"{limits.MAX_PARAM_LENGTH} characters in `param`" in text


def test_many_duplicated_keys_are_listed_up_to_the_cap_and_counted() -> None:
    count = 20_000
    pairs = ",".join(f'"k{i}":1,"k{i}":2' for i in range(count))
    text = encode(example(Request))[:-1].decode() + ',"metadata":{' + pairs + "}}"
    with pytest.raises(ProtocolError) as caught:
        decode(Request, text, duplicate_keys="reject")
    params = [error.param for error in caught.value.errors]
    assert params == [f"metadata.k{i}" for i in range(limits.MAX_REPORTED_ERRORS)]
    assert caught.value.more == count - limits.MAX_REPORTED_ERRORS
