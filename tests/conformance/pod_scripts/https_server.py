"""HTTPS for the tier's stand-ins of outside services (the git host, the webhook receiver).

Imported by the pod scripts beside it: the tier mounts this whole folder into their pods and runs
each script by its path, so Python finds this module next to the script.
Environment: TLS_DIR (tls.crt and tls.key, the outside namespace's Secret), PORT (default 443).
"""

from __future__ import annotations

import http.server
import os
import ssl
from pathlib import Path


def serve_https(handler: type[http.server.BaseHTTPRequestHandler], what: str) -> None:
    """Serve `handler` over HTTPS on PORT with the key pair in TLS_DIR, until the pod stops;
    prints `<what> on :<port>` once listening (the tier's logs show it)."""
    server = http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "443"))), handler)
    tls = Path(os.environ["TLS_DIR"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls / "tls.crt", tls / "tls.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"{what} on :{server.server_address[1]}", flush=True)
    server.serve_forever()
