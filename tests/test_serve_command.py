"""``sagellm-protocol serve``, run as a user runs it: a subprocess on a free loopback port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sagellm_protocol._serve import GRACEFUL_SHUTDOWN_S

from .scripts import run_cli

STOP_TIMEOUT_S = 15


@contextmanager
def serving(*options: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``serve --port 0 OPTIONS`` in a subprocess; (process, base URL). Killed if still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sagellm_protocol", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("sagellm-protocol serve: listening on http://127.0.0.1:"), line
        yield process, line.split(" on ", 1)[1].split()[0]
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=STOP_TIMEOUT_S)


def get(url: str) -> tuple[int, object]:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.status, json.loads(reply.read())


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_answers_then_stops_cleanly(stop: signal.Signals) -> None:
    with serving("--model", "m-1", "--model", "m-2") as (process, url):
        assert get(f"{url}/health") == (200, {"status": "ok"})
        status, models = get(f"{url}/v1/models")
        assert status == 200
        assert [model["id"] for model in models["data"]] == ["m-1", "m-2"]  # type: ignore[index]
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
    assert process.returncode == 0
    assert "Traceback" not in stderr


def test_serve_fault_options_reach_the_engine() -> None:
    request = {
        "request_id": "r",
        "trace_id": "t",
        "model": "mock-7b",
        "prompt": "Hi",
        "max_tokens": 8,
        "stream": False,
    }
    with serving("--fault", "resource_exhausted", "--fault-after", "1") as (process, url):
        post = urllib.request.Request(
            f"{url}/v1/generate",
            data=json.dumps(request).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(post, timeout=10)
        response = json.loads(caught.value.read())
        process.send_signal(signal.SIGTERM)
    assert caught.value.code == 429
    assert response["error"]["code"] == "resource_exhausted"
    assert len(response["output_tokens"]) == 1


def test_serve_without_uvicorn_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from sagellm_protocol.cli import main\n"
        "sys.exit(main(['serve', '--port', '0']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == (
        "sagellm-protocol: error: serve needs uvicorn: pip install 'isagellm-protocol[serve]'\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--fault", "oops"], "argument --fault: invalid choice"),
        (["--fault-after", "2"], "--fault-after needs a fault"),
        (["--port", "70000"], "must be a port number"),
        (["--token-interval-ms", "-5"], "must be a number of milliseconds >= 0"),
        (["--host", "256.1.1.1"], "cannot listen on 256.1.1.1:0"),
        (["--model", ""], "each model name must be a string of 1 to 256 characters"),
    ],
)
def test_serve_usage_errors_are_one_line(options: list[str], message: str) -> None:
    result = run_cli("serve", "--port", "0", *options)
    assert result.returncode == 2
    assert message in result.stderr


def test_serve_writes_nothing_per_request_on_stdout() -> None:
    # A harness reads the listening line and nothing more: per-request lines on stdout would
    # fill the pipe and stall the server.
    with serving() as (process, url):
        for _ in range(20):
            assert get(f"{url}/health")[0] == 200
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=STOP_TIMEOUT_S)
    assert stdout == ""


def test_a_stream_open_when_the_server_stops_ends_in_band() -> None:
    request = {
        "request_id": "r",
        "trace_id": "t",
        "model": "mock-7b",
        "prompt": "Hi",
        "max_tokens": 200,
        "stream": True,
    }
    # One token per grace period and a second outlasts the grace period after SIGTERM.
    interval_ms = str((GRACEFUL_SHUTDOWN_S + 1) * 1000)
    with serving("--token-interval-ms", interval_ms) as (process, url):
        post = urllib.request.Request(
            f"{url}/v1/generate",
            data=json.dumps(request).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(post, timeout=30) as reply:
            first = reply.readline()
            process.send_signal(signal.SIGTERM)
            rest = reply.read()
        _, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
    frames = [frame for frame in (first + rest).split(b"\n\n") if frame.strip()]
    last = frames[-1].decode()
    assert last.startswith("event: end\n")
    end = json.loads(last.split("data: ", 1)[1])
    assert end["finish_reason"] == "error"
    assert end["error"] == {
        "code": "unavailable",
        "message": "the server is stopping",
        "retryable": True,
    }
    assert "Traceback" not in stderr
