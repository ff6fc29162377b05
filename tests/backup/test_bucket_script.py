"""The object store's bucket Job script against a loopback S3 endpoint that checks SigV4 the way
SeaweedFS does (no x-amz-content-sha256 means an empty body; the query canonical as `key=`):
every bucket created and every data bucket versioned. SeaweedFS refused the versioning request
with 403 while the script sent its body without the header."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from omgml.components.objectstore import BUCKET_SCRIPT

KEY, SECRET, REGION = "AKIALOOPBACKTEST", "loopback-secret-key-for-tests", "us-east-1"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_problem(method: str, raw_path: str, headers: dict[str, str], body: bytes) -> str | None:
    """Why S3 would refuse this request's signature (None: it verifies)."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "not SigV4"
    fields = dict(part.strip().split("=", 1) for part in auth.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    key, date, region, service, _ = fields["Credential"].split("/")
    # Without the header the server signs the hash of an empty body.
    payload = headers.get("x-amz-content-sha256", hashlib.sha256(b"").hexdigest())
    if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 does not match the body"
    path, _, query = raw_path.partition("?")
    pairs = sorted((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                   for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True))
    signed = fields["SignedHeaders"].split(";")
    canonical = "\n".join([method, path, "&".join(f"{k}={v}" for k, v in pairs),
                           "".join(f"{h}:{' '.join(headers[h].split())}\n" for h in signed),
                           fields["SignedHeaders"], payload])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", headers["x-amz-date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    signing = _hmac(_hmac(_hmac(_hmac(f"AWS4{SECRET}".encode(), date), region), service), "aws4_request")
    expected = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return None if key == KEY and hmac.compare_digest(expected, fields["Signature"]) else "signature mismatch"


class Store:
    def __init__(self) -> None:
        self.buckets: set[str] = set()
        self.versioned: set[str] = set()
        self.refused: list[str] = []


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Store]]:
    store = Store()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self._answer(200 if self.path == "/status" else 404)

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            problem = sigv4_problem("PUT", self.path, headers, body)
            if problem:
                store.refused.append(f"{self.path}: {problem}")
                return self._answer(403)
            path, _, query = self.path.partition("?")
            bucket = path.strip("/")
            if query.startswith("versioning"):
                if bucket not in store.buckets or b"<Status>Enabled</Status>" not in body:
                    return self._answer(400)
                store.versioned.add(bucket)
                return self._answer(200)
            if bucket in store.buckets:
                return self._answer(409)
            store.buckets.add(bucket)
            self._answer(200)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", store
    finally:
        server.shutdown()
        server.server_close()


def _run(url: str, buckets: str, versioned: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": REGION, "S3_ENDPOINT": url, "BUCKETS": buckets, "VERSIONED_BUCKETS": versioned}
    return subprocess.run(["sh", "-c", BUCKET_SCRIPT], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the bucket Job's script runs curl (the image ships it)")
def test_the_bucket_job_creates_every_bucket_and_versions_the_data_buckets(endpoint: tuple[str, Store]) -> None:
    url, store = endpoint
    out = _run(url, "p-backups p-mlflow p-models", "p-mlflow p-models")
    assert out.returncode == 0, out.stderr + "\n".join(store.refused)
    assert store.buckets == {"p-backups", "p-mlflow", "p-models"}
    assert store.versioned == {"p-mlflow", "p-models"}
    # Again, as the Job runs on every change: existing buckets are fine.
    again = _run(url, "p-backups p-mlflow p-models", "p-mlflow p-models")
    assert again.returncode == 0 and "bucket p-mlflow already exists" in again.stdout, again.stderr


def test_the_verifier_refuses_what_s3_refuses() -> None:
    # The checks the test relies on: a body without its hash, or with another one, fails.
    headers = {"authorization": f"AWS4-HMAC-SHA256 Credential={KEY}/20261206/{REGION}/s3/aws4_request, "
                                "SignedHeaders=host;x-amz-date, Signature=00",
               "host": "127.0.0.1", "x-amz-date": "20261206T000000Z"}
    assert sigv4_problem("PUT", "/b?versioning=", headers, b"<x/>") == "x-amz-content-sha256 does not match the body"
    headers["x-amz-content-sha256"] = hashlib.sha256(b"other").hexdigest()
    assert sigv4_problem("PUT", "/b?versioning=", headers, b"<x/>") == "x-amz-content-sha256 does not match the body"
