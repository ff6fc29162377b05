"""A small JSON-over-HTTP client for the platform's services (MLflow, Airflow, Prefect, KFP,
Alertmanager, Prometheus), with errors a user can act on.

Every failure becomes a `DayTwoError` naming the service, the URL and the cause in one line.
URLs are printed without user info, so a password given in a URL never reaches the output.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from omgml.errors import OmgmlError

DEFAULT_TIMEOUT = 20.0


class DayTwoError(OmgmlError):
    """A day-two command cannot do what was asked; the message says why and what to do."""


class NotFound(DayTwoError):
    """The service answered 404 (or its own not-found code) for the thing asked for."""


class Unreachable(DayTwoError):
    """No answer from the service (refused, timed out, no route): it may answer a moment later."""


class ApiError(DayTwoError):
    """The service answered with an error status."""

    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def redact(url: str) -> str:
    """`url` without user info (`https://user:secret@host` → `https://host`)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _server_message(body: Any) -> str:
    """The error text a service put in its JSON body (MLflow, Airflow, Prefect, KFP shapes)."""
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:  # FastAPI validation errors
                return "; ".join(str(v.get("msg", v)) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(body, str):
        return body.strip()[:300]
    return ""


@dataclass
class JsonApi:
    """JSON calls against one service. `name` is what errors call it ("MLflow")."""

    name: str
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    hint: str = ""  # appended to "cannot reach" errors: how to point the command elsewhere

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/")
        if params:
            clean = {k: v for k, v in params.items() if v is not None}
            url += "?" + urllib.parse.urlencode(clean, doseq=True)
        return url

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, raw: bool = False) -> Any:
        url = self.url(path, params)
        data = None
        all_headers = {"Accept": "application/json", **self.headers, **(headers or {})}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            message = _server_message(parsed) or exc.reason
            cls = NotFound if exc.code == 404 else ApiError
            error = f"{self.name} answered {exc.code} to {method} {redact(self.url(path))}: {message}"
            if cls is NotFound:
                raise NotFound(error) from None
            raise ApiError(error, exc.code, parsed) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            tail = f"; {self.hint}" if self.hint else ""
            raise Unreachable(f"cannot reach {self.name} at {redact(self.base_url)}: {reason}{tail}") from None
        if raw:
            return payload.decode(errors="replace")
        if not payload:
            return {}
        try:
            return json.loads(payload)
        except ValueError:
            raise DayTwoError(f"{self.name} at {redact(self.base_url)} did not answer JSON to {method} {path}; "
                              "is this URL the service's API?") from None

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, body: Any = None, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("POST", path, body=body if body is not None else {}, params=params, **kw)

    def patch(self, path: str, body: Any, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("PATCH", path, body=body, params=params, **kw)
