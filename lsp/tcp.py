"""`lspilot serve --tcp HOST:PORT`: any number of editors on one port.

Each connection is a language server of its own (documents, settings, session, status),
so that one editor's requests never answer another's and one editor leaving ends only its
connection; the models are loaded once and shared through a `BackendPool`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

from lsprotocol import types
from pygls.protocol import lsp_method

from lspilot.lsp import heap
from lspilot.lsp.server import LspilotProtocol, create_server
from lspilot.lsp.wire import StreamSource, read_messages
from lspilot.models.pool import BackendPool
from lspilot.models.slot import store_loader
from lspilot.models.store import ModelStore

log = logging.getLogger(__name__)


class ConnectionProtocol(LspilotProtocol):
    """One editor's connection: its `exit` closes the connection, not the process."""

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        """End this connection (pygls would end the process, and every other editor's)."""
        if (handler := self.fm.features.get(types.EXIT)) is not None:
            yield handler, args, None
        if self.writer is not None:
            self.writer.close()


def serve_tcp(host: str, port: int, store: ModelStore, forced_model: str | None = None,
              on_log_level: Callable[[str], None] | None = None) -> None:
    """Serve editors on HOST:PORT until interrupted."""
    heap.bound_transients()
    pool = BackendPool(store_loader(store))

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = create_server(store, forced_model, load=pool.load, release=pool.release,
                               protocol_cls=ConnectionProtocol)
        server.on_log_level = on_log_level
        server.protocol.set_writer(writer)
        peer = writer.get_extra_info("peername")
        log.info("editor connected from %s", peer)
        try:
            await read_messages(StreamSource(reader), server.lsp, threading.Event())
        finally:
            await server.session.aclose()
            writer.close()
            log.info("editor at %s left; models in use: %s", peer, pool.users())

    async def listen() -> None:
        listener = await asyncio.start_server(connection, host, port)
        log.info("serving editors on %s:%d", host, port)
        async with listener:
            await listener.serve_forever()

    try:
        asyncio.run(listen())
    except KeyboardInterrupt:
        pass
