"""A webhook receiver for the tier: what a team's incident tool (or Slack, PagerDuty) would be.

Accepts Alertmanager's webhook POSTs over HTTPS, keeps each JSON body in a file under
STORE_DIR, and answers GET /received with the list of bodies received so far.
Environment: STORE_DIR, TLS_DIR, PORT.
"""

from __future__ import annotations

import http.server
import json
import os
import time
from pathlib import Path

from https_server import serve_https

STORE = Path(os.environ.get("STORE_DIR", "/tmp/received"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        json.loads(body)  # Alertmanager sends JSON; anything else is a 500 the sender sees
        STORE.mkdir(parents=True, exist_ok=True)
        (STORE / f"{time.time_ns()}.json").write_bytes(body)
        print(f"received {self.path} {len(body)} bytes", flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if self.path != "/received":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        bodies = [json.loads(p.read_text()) for p in sorted(STORE.glob("*.json"))] if STORE.exists() else []
        payload = json.dumps(bodies).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main() -> None:
    serve_https(Handler, "listening")


if __name__ == "__main__":
    main()
