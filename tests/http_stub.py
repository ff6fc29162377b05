"""A base for the tests' loopback servers that route requests themselves, by method and path."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class RoutingHandler(BaseHTTPRequestHandler):
    """Every verb goes to `route(method)`; the log stays out of pytest's output."""

    def route(self, method: str) -> None:
        """Answer one request; each test's handler defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define route()")

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_PUT(self) -> None:
        self.route("PUT")

    def do_PATCH(self) -> None:
        self.route("PATCH")

    def do_DELETE(self) -> None:
        self.route("DELETE")
