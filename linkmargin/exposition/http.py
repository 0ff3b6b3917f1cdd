"""The HTTP server answering scrapes with :func:`linkmargin.exposition.scrape.render_registry`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.registry import CollectorRegistry

from linkmargin.exposition.scrape import render_registry
from linkmargin.exposition.text import CONTENT_TYPE


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not worth a log line each."""


def serve(
    registry: CollectorRegistry, port: int, addr: str = "127.0.0.1"
) -> tuple[WSGIServer, threading.Thread]:
    """Serve :func:`render_registry` over HTTP on every path (as prometheus-client's server does),
    in a daemon thread; returns the server (``server_port``, ``shutdown()``) and its thread."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        if environ.get("PATH_INFO") == "/favicon.ico":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b""]
        body = render_registry(registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    server = make_server(addr, port, app, _Server, handler_class=_Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True, name="linkmargin-metrics")
    t.start()
    return server, t
