"""The example scripts run and show what they promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_basic_usage_runs_and_shows_a_rejected_request() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "basic_usage.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Rejected request: HTTP 400 (invalid_argument, gRPC INVALID_ARGUMENT)" in result.stdout
    assert "max_tokens: must be greater than 0" in result.stdout
    assert "a private prompt" not in result.stdout


def test_serve_demo_shows_the_loopback_round_trip() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "serve_demo.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert lines[1].startswith("sagellm-protocol serve: listening on http://127.0.0.1:")
    streamed_at = lines.index("== Streamed, as it arrives (stream=True)")
    whole_at = lines.index("== Not streamed")
    streamed = lines[streamed_at + 1 : whole_at - 1]  # the text, up to the blank line
    assert streamed
    assert lines[whole_at + 1 : whole_at + 1 + len(streamed)] == streamed  # the same answer
    assert (
        "HTTP 400, code invalid_argument: temperature: must be less than or equal to 2.0" in lines
    )
    assert lines[-1] == "server stopped, exit status 0"


def test_serve_demo_says_why_the_server_did_not_start(tmp_path: Path) -> None:
    (tmp_path / "uvicorn.py").write_text('raise ImportError("no uvicorn here")\n')
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "serve_demo.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])},
    )
    assert result.returncode == 2
    assert "the server did not start (exit status 2):" in result.stdout
    assert "serve needs uvicorn" in result.stderr
    assert "Traceback" not in result.stderr
