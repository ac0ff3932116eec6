"""The test PKI's OCSP responder, CRLs and time-stamping authority, served for real.

Certomancer's Animator (its aiohttp flavour: aiohttp already comes with pyHanko) runs in a
thread on 127.0.0.1. The port is chosen first and the PKI built for it, because the
service URL is written into every supplier certificate when it is issued.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiohttp import web
from certomancer.integrations.aiohttp_animator import build_animator_app

from tender.signing.testing.pki import TestPKI

__all__ = ["ServedPKI", "serve_pki"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ServedPKI:
    """A :class:`TestPKI` whose services answer at :attr:`host` while it is served.

    ``requests`` lists every request the server received, as ``"METHOD /path"``.
    """

    pki: TestPKI
    host: str
    requests: list[str] = field(default_factory=list)

    @property
    def tsa_url(self) -> str:
        """The RFC 3161 time-stamping endpoint."""
        return f"{self.pki.service_url}/{self.pki.architecture.arch_label}/tsa/tsa"


@contextmanager
def serve_pki(directory: Path, *, reference_time: datetime | None = None) -> Iterator[ServedPKI]:
    """Build a test PKI in ``directory`` (see :meth:`TestPKI.create`) whose certificates
    point to a server on 127.0.0.1 at a free port, and serve its OCSP responder, CRLs and
    TSA there until the context ends. Responses are made as of the real current time."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    pki = TestPKI.create(directory, reference_time=reference_time, service_url=f"http://{host}")
    served = ServedPKI(pki, host)

    @web.middleware
    async def record(request: web.Request, handler: _Handler) -> web.StreamResponse:
        served.requests.append(f"{request.method} {request.path}")
        return await handler(request)

    app = build_animator_app({pki.architecture.arch_label: pki.architecture}, with_web_ui=False)
    app.middlewares.insert(0, record)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    # The socket is already bound: no other process can take the port in between.
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.SockSite(runner, listener).start())
    thread = threading.Thread(target=loop.run_forever, name=f"pki-{host}", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
