"""Basic usage of sagellm-protocol: build messages, and turn a rejected input into an Error.

Run it with ``make demo`` (or ``python examples/basic_usage.py`` where the package is installed).
"""

from __future__ import annotations

from pydantic import ValidationError

from sagellm_protocol import (
    PROTOCOL_VERSION,
    ErrorCode,
    Metrics,
    ProtocolError,
    Request,
    Response,
    __version__,
)


def main() -> None:
    """Walk through a request, its response, and a rejected request."""
    print(f"sagellm-protocol {__version__}, Protocol v{PROTOCOL_VERSION}\n")

    # A request, as the engine receives it.
    request = Request(
        request_id="req-001",
        trace_id="trace-001",
        model="llama2-7b",
        prompt="Hello, world!",
        max_tokens=128,
        stream=False,
        temperature=0.7,
    )
    print("Request: ", request.model_dump_json(exclude_none=True))

    # Its response, with the metrics of the run (times in ms, throughput in tokens/s, memory in MB).
    metrics = Metrics(
        ttft_ms=45.2,
        tbt_ms=12.5,
        throughput_tps=80.0,
        peak_mem_mb=24576,
        error_rate=0.0,
    )
    response = Response(
        request_id="req-001",
        trace_id="trace-001",
        output_text="Hi there!",
        output_tokens=[42, 17],
        finish_reason="stop",
        metrics=metrics,
    )
    print("Response:", response.model_dump_json(exclude_none=True))

    # Fail-fast: a bad request is rejected, and every problem becomes an Error naming its field.
    # The input values (here the prompt) never appear in the error text.
    bad = {
        "request_id": "req-002",
        "trace_id": "trace-002",
        "model": "llama2-7b",
        "prompt": "a private prompt",
        "max_tokens": 0,  # must be > 0
        "stream": "yes",  # must be a boolean, not a string
        "temperatur": 0.7,  # misspelt: unknown fields are rejected, not dropped
    }
    try:
        Request.model_validate(bad)
    except ValidationError as exc:
        problem = ProtocolError.from_validation_error(exc)
        code = problem.error.code
        print(
            f"\nRejected request: HTTP {code.http_status} ({code.value}, gRPC {code.grpc_status})"
        )
        for error in problem.errors:
            print(f"  param={error.param!s:<12} {error.message}")
        assert code is ErrorCode.INVALID_ARGUMENT
        assert not problem.error.is_retryable


if __name__ == "__main__":
    main()
