"""The example scripts run and show what they promise."""

from __future__ import annotations

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
