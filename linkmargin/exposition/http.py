"""The HTTP server answering scrapes with :func:`linkmargin.exposition.scrape.registry_parts`
(gzip-compressed when the scraper accepts it and the collectors keep their text compressed)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.registry import CollectorRegistry

from linkmargin.exposition.scrape import registry_parts
from linkmargin.exposition.text import CONTENT_TYPE


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not worth a log line each."""


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header value admits gzip (``gzip`` listed, not with ``q=0``)."""
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().replace(" ", "").lower()
            if not q.startswith("q="):
                return True
            try:
                return float(q[2:]) > 0.0
            except ValueError:  # a malformed weight: as if not offered
                return False
    return False


def serve(
    registry: CollectorRegistry, port: int, addr: str = "127.0.0.1"
) -> tuple[WSGIServer, threading.Thread]:
    """Serve :func:`~linkmargin.exposition.scrape.registry_parts` over HTTP on every path (as
    prometheus-client's server does), in a daemon thread; returns the server (``server_port``,
    ``shutdown()``) and its thread."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        if environ.get("PATH_INFO") == "/favicon.ico":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b""]
        headers = [("Content-Type", CONTENT_TYPE)]
        parts = None
        if accepts_gzip(str(environ.get("HTTP_ACCEPT_ENCODING", ""))):
            parts = registry_parts(registry, gz=True)
            if parts is not None:
                headers.append(("Content-Encoding", "gzip"))
        if parts is None:
            parts = registry_parts(registry) or []
        # the parts as kept (no copy of the whole text per scrape)
        start_response("200 OK", [*headers, ("Content-Length", str(sum(len(p) for p in parts)))])
        return [p for p in parts if p]

    server = make_server(addr, port, app, _Server, handler_class=_Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True, name="linkmargin-metrics")
    t.start()
    return server, t
