"""``sagellm-protocol serve``: the MockEngine behind ``asgi.create_app``, on uvicorn."""

from __future__ import annotations

import signal
import socket
import sys
from types import FrameType
from typing import TextIO

from .asgi import create_app
from .testing import MockEngine

__all__ = ["ServeError", "serve"]

GRACEFUL_SHUTDOWN_S = 5
"""How long open streams may go on after Ctrl-C or SIGTERM, in seconds."""


class ServeError(Exception):
    """The server cannot run (uvicorn missing, address unusable): a one-line reason."""


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listener


def _url(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(engine: MockEngine, *, host: str, port: int, out: TextIO = sys.stdout) -> None:
    """Serve ``engine`` on ``host``:``port`` until Ctrl-C or SIGTERM (then return).

    Port 0 picks a free port. Once the socket listens, one line goes to ``out``:
    ``sagellm-protocol serve: listening on http://HOST:PORT (models: ...)``. Raises
    ``ServeError`` if uvicorn is not installed or the address cannot be used.
    """
    try:
        import uvicorn  # noqa: PLC0415 - the optional extra, needed by this command only
    except ImportError:
        raise ServeError("serve needs uvicorn: pip install 'isagellm-protocol[serve]'") from None
    listener = _bind(host, port)
    config = uvicorn.Config(
        create_app(engine),
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        access_log=False,  # a line per request on stdout fills a pipe nobody reads
    )
    server = uvicorn.Server(config)

    def stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        server.should_exit = True

    # uvicorn handles the signals while it runs, then sends them again to the handlers it
    # found: these, so that a stop ends the command normally (no traceback, exit status 0).
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        models = ", ".join(engine.model_names)
        print(
            f"sagellm-protocol serve: listening on {_url(listener)} (models: {models})",
            file=out,
            flush=True,
        )
        server.run(sockets=[listener])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
