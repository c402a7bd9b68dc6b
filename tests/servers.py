"""A real uvicorn on an ephemeral loopback port, started and stopped by the tests, and raw HTTP."""

from __future__ import annotations

import importlib
import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from sagellm_protocol.asgi import ASGIApp

# Newer openai releases use their own fork of httpx (httpx2); older ones use httpx.
http: Any = importlib.import_module("httpx2" if importlib.util.find_spec("httpx2") else "httpx")

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


@contextmanager
def running(app: ASGIApp) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 on a free port (yielded) in a thread; stop it afterwards."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    port: int = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        listener.close()
        if thread.is_alive():
            raise RuntimeError("uvicorn did not stop")


def raw_exchange(port: int, request: bytes, *, timeout: float = 10.0) -> tuple[int, bytes, bytes]:
    """Send ``request`` as it is; (status, raw header block, body) of the reply, read until the
    server closes the connection (send ``Connection: close``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        received = bytearray()
        while len(received) < 1 << 20:
            data = connection.recv(65536)
            if not data:
                break
            received += data
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body
