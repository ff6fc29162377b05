"""A git host for the tier: serves one repository over HTTPS with git's smart HTTP protocol.

Stands in for the team's git host (GitHub, GitLab, …) that a feature repo lives on, so the
rendered Feast apply Job can clone it for real. At start it commits the files of SOURCE_DIR to
the branch BRANCH of a bare repository under REPO_ROOT/REPO_NAME, then serves it through
`git http-backend` (CGI) with the certificate in TLS_DIR. Environment: SOURCE_DIR, REPO_ROOT,
REPO_NAME, BRANCH, TLS_DIR, PORT.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from https_server import serve_https

GIT_ENV = {"GIT_AUTHOR_NAME": "conformance", "GIT_AUTHOR_EMAIL": "conformance@example.invalid",
           "GIT_COMMITTER_NAME": "conformance", "GIT_COMMITTER_EMAIL": "conformance@example.invalid"}


def git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, env={**os.environ, **GIT_ENV})


def publish(source: Path, bare: Path, branch: str) -> None:
    git("init", "-q", "--bare", str(bare))
    git("config", "http.receivepack", "false", cwd=bare)
    with tempfile.TemporaryDirectory() as work:
        wt = Path(work)
        git("init", "-q", "-b", branch, str(wt))
        for f in source.iterdir():
            if f.is_file() and not f.name.startswith(".."):
                shutil.copy(f, wt / f.name)
        git("add", ".", cwd=wt)
        git("commit", "-q", "-m", "feature definitions", cwd=wt)
        git("push", "-q", str(bare), f"{branch}:{branch}", cwd=wt)


class Handler(http.server.BaseHTTPRequestHandler):
    """Hands every request to git-http-backend as a CGI, the way a web server would."""

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "GIT_PROJECT_ROOT": os.environ["REPO_ROOT"], "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
            "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_ADDR": self.client_address[0], "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = out.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            if not line:
                continue
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main() -> None:
    root = Path(os.environ["REPO_ROOT"])
    publish(Path(os.environ["SOURCE_DIR"]), root / os.environ["REPO_NAME"], os.environ.get("BRANCH", "main"))
    serve_https(Handler, f"serving {root}")


if __name__ == "__main__":
    main()
