"""The mock backend over HTTP: ``sagellm-protocol serve`` driven by the real openai client.

Starts the server on a free loopback port, streams an answer (printed as it arrives), asks for
a whole answer, sends one request the server refuses, and stops the server. Run it with
``make demo`` (or ``python examples/serve_demo.py`` where the package is installed with its
``serve`` extra and the ``openai`` client).
"""

from __future__ import annotations

import signal
import subprocess
import sys

import openai
from openai.types.chat import ChatCompletionMessageParam

SERVE = ["serve", "--port", "0", "--seed", "1", "--token-interval-ms", "40"]
QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What does a protocol package do?"}
]


def main() -> int:
    """Start the server, talk to it over loopback, stop it; the exit status of the server."""
    print("$ sagellm-protocol " + " ".join(SERVE))
    server = subprocess.Popen(
        [sys.executable, "-m", "sagellm_protocol", *SERVE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,  # a few lines at start and stop; shown if the server fails
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    if " on " not in line:  # the server did not start: say why, from its own words
        _, errors = server.communicate(timeout=30)
        print(f"the server did not start (exit status {server.returncode}):")
        print(errors.strip() or line, file=sys.stderr)
        return server.returncode or 2
    try:
        print(line)
        url = line.split(" on ", 1)[1].split()[0]
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)

        print("\n== Streamed, as it arrives (stream=True)")
        stream = client.chat.completions.create(
            model="mock-7b", messages=QUESTION, max_tokens=24, stream=True
        )
        for chunk in stream:
            print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()

        print("\n== Not streamed")
        answer = client.chat.completions.create(model="mock-7b", messages=QUESTION, max_tokens=24)
        usage = answer.usage
        print(answer.choices[0].message.content)
        if usage is not None:
            print(
                f"finish_reason={answer.choices[0].finish_reason}; usage: "
                f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
            )

        print("\n== Refused: temperature 3 is outside [0, 2]")
        try:
            client.chat.completions.create(model="mock-7b", messages=QUESTION, temperature=3)
        except openai.BadRequestError as exc:
            error = exc.body if isinstance(exc.body, dict) else {}
            print(f"HTTP {exc.status_code}, code {exc.code}: {error.get('message')}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    print(f"\nserver stopped, exit status {server.returncode}")
    return server.returncode


if __name__ == "__main__":
    sys.exit(main())
