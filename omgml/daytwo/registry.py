"""The platform's model registry (MLflow): list, show, promote with gates, compare.

`MlflowRegistry` speaks MLflow's REST API (2.0 paths, served by MLflow 3). The decisions are
pure functions over plain dicts (`check_gates`, `compare_versions`), so they are tested
without a server. Nothing here prints credentials: run parameters and tags whose key names a
secret (password, token, secret, key) are shown as `<redacted>`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from omgml.daytwo.http import ApiError, DayTwoError, JsonApi, NotFound

API = "api/2.0/mlflow"
SECRET_KEY = re.compile(r"(password|passwd|secret|token|api[_-]?key|access[_-]?key|credential)", re.I)
REDACTED = "<redacted>"


def redact_map(values: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if SECRET_KEY.search(k) else v) for k, v in values.items()}


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(t["key"]): str(t.get("value", "")) for t in items or []}


@dataclass(frozen=True)
class Gate:
    """What `promote` requires of the candidate before it moves the alias.

    metric: the candidate's run metric must be at least as good as the version currently
    holding the alias (higher is better unless `lower_is_better`), by at least `min_delta`;
    `threshold` is an absolute floor (or ceiling) even when no version holds the alias yet.
    required_tags: tag keys (or key=value) the candidate version must carry (a model card,
    an approval)."""

    metric: str | None = None
    lower_is_better: bool = False
    min_delta: float = 0.0
    threshold: float | None = None
    required_tags: tuple[str, ...] = ()


def check_gates(gate: Gate, candidate: dict[str, Any], current: dict[str, Any] | None) -> list[str]:
    """Why `candidate` may not be promoted (empty: it may). Each version dict carries `version`,
    `tags` and `metrics` (its run's)."""
    problems: list[str] = []
    for required in gate.required_tags:
        key, _, value = required.partition("=")
        have = candidate.get("tags", {}).get(key)
        if have is None:
            problems.append(f"version {candidate['version']} has no tag {key!r} (required by --require-tag)")
        elif value and have != value:
            problems.append(f"version {candidate['version']} has tag {key}={have!r}, not {value!r}")
    if gate.metric:
        name = gate.metric
        mine = candidate.get("metrics", {}).get(name)
        better = "lower" if gate.lower_is_better else "higher"
        if mine is None:
            problems.append(f"version {candidate['version']}'s run logged no metric {name!r}")
            return problems
        if gate.threshold is not None:
            bad = mine > gate.threshold if gate.lower_is_better else mine < gate.threshold
            if bad:
                word = "above" if gate.lower_is_better else "below"
                problems.append(f"{name} {mine:g} is {word} the threshold {gate.threshold:g}")
        if current is not None and current["version"] != candidate["version"]:
            theirs = current.get("metrics", {}).get(name)
            if theirs is not None:
                gain = (theirs - mine) if gate.lower_is_better else (mine - theirs)
                if gain < gate.min_delta:
                    need = f" by at least {gate.min_delta:g}" if gate.min_delta else ""
                    problems.append(f"{name} {mine:g} does not beat version {current['version']}'s {theirs:g} "
                                    f"({better} is better{need})")
    return problems


def compare_versions(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Metric by metric: a's value, b's value and b − a (None where one of them lacks it)."""
    rows = []
    for name in sorted(set(a.get("metrics", {})) | set(b.get("metrics", {}))):
        va, vb = a["metrics"].get(name), b["metrics"].get(name)
        rows.append({"metric": name, str(a["version"]): va, str(b["version"]): vb,
                     "delta": (vb - va) if va is not None and vb is not None else None})
    return rows


def changed_params(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    pa, pb = a.get("params", {}), b.get("params", {})
    for name in sorted(set(pa) | set(pb)):
        if pa.get(name) != pb.get(name):
            rows.append({"param": name, str(a["version"]): pa.get(name), str(b["version"]): pb.get(name)})
    return rows


@dataclass
class MlflowRegistry:
    api: JsonApi
    _runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- reads --
    def models(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.api.get(f"{API}/registered-models/search", {"max_results": 100, "page_token": token})
            out += page.get("registered_models", [])
            token = page.get("next_page_token")
            if not token:
                return out

    def model(self, name: str) -> dict[str, Any]:
        try:
            return dict(self.api.get(f"{API}/registered-models/get", {"name": name})["registered_model"])
        except (NotFound, ApiError) as exc:
            if isinstance(exc, NotFound) or "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "body", "")):
                known = ", ".join(sorted(m["name"] for m in self.models())) or "none"
                raise DayTwoError(f"no registered model {name!r} in MLflow (registered: {known})") from None
            raise

    def versions(self, name: str) -> list[dict[str, Any]]:
        self.model(name)
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.api.get(f"{API}/model-versions/search",
                                {"filter": f"name='{name}'", "max_results": 200, "page_token": token})
            out += page.get("model_versions", [])
            token = page.get("next_page_token")
            if not token:
                return sorted(out, key=lambda v: int(v["version"]))

    def version(self, name: str, version: str) -> dict[str, Any]:
        if not version.isdigit():
            raise DayTwoError(f"version {version!r}: give a version number (see `omgml registry list {name}`)")
        try:
            return dict(self.api.get(f"{API}/model-versions/get", {"name": name, "version": version})["model_version"])
        except (NotFound, ApiError) as exc:
            if isinstance(exc, NotFound) or "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "body", "")):
                known = [v["version"] for v in self.versions(name)]
                raise DayTwoError(f"model {name!r} has no version {version} (versions: "
                                  f"{', '.join(known) or 'none'})") from None
            raise

    def alias_holder(self, name: str, alias: str) -> str | None:
        for a in self.model(name).get("aliases", []) or []:
            if a.get("alias") == alias:
                return str(a["version"])
        return None

    def run(self, run_id: str) -> dict[str, Any]:
        if run_id not in self._runs:
            try:
                self._runs[run_id] = dict(self.api.get(f"{API}/runs/get", {"run_id": run_id})["run"])
            except (NotFound, ApiError):
                self._runs[run_id] = {}
        return self._runs[run_id]

    def signature(self, version: dict[str, Any]) -> dict[str, Any] | None:
        """The MLmodel file's signature, read through the server's artifact proxy."""
        source = str(version.get("source", ""))
        path = None
        if source.startswith("mlflow-artifacts:/"):
            path = source.removeprefix("mlflow-artifacts:").lstrip("/")
        elif source.startswith("models:/m-"):
            model_id = source.removeprefix("models:/")
            try:
                logged = self.api.get(f"{API}/logged-models/{model_id}")["model"]["info"]
            except DayTwoError:
                return None
            location = str(logged.get("artifact_uri", ""))
            if location.startswith("mlflow-artifacts:/"):
                path = location.removeprefix("mlflow-artifacts:").lstrip("/")
        if path is None:
            return None
        try:
            text = self.api.get(f"api/2.0/mlflow-artifacts/artifacts/{path}/MLmodel", raw=True)
        except DayTwoError:
            return None
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
        sig = data.get("signature") if isinstance(data, dict) else None
        if not isinstance(sig, dict):
            return None
        return {k: (json.loads(v) if isinstance(v, str) and v.startswith(("[", "{")) else v) for k, v in sig.items()}

    def detail(self, name: str, version: str, with_signature: bool = False) -> dict[str, Any]:
        """One version with its run: metrics, params, source, datasets (lineage), aliases."""
        v = self.version(name, version)
        run = self.run(str(v.get("run_id", ""))) if v.get("run_id") else {}
        data = run.get("data", {})
        aliases = [a["alias"] for a in self.model(name).get("aliases", []) or [] if str(a["version"]) == str(version)]
        datasets = [
            {"name": d["dataset"].get("name"), "digest": d["dataset"].get("digest"),
             "source_type": d["dataset"].get("source_type"), "source": d["dataset"].get("source"),
             "context": _tags(d.get("tags")).get("mlflow.data.context")}
            for d in (run.get("inputs", {}) or {}).get("dataset_inputs", []) or []
        ]
        out: dict[str, Any] = {
            "name": name, "version": str(v["version"]), "aliases": aliases,
            "stage": v.get("current_stage"), "status": v.get("status"), "source": v.get("source"),
            "run_id": v.get("run_id"), "created": v.get("creation_timestamp"), "tags": _tags(v.get("tags")),
            "run_name": run.get("info", {}).get("run_name"), "run_status": run.get("info", {}).get("status"),
            "experiment_id": run.get("info", {}).get("experiment_id"),
            "metrics": {m["key"]: float(m["value"]) for m in data.get("metrics", []) or []},
            "params": redact_map({p["key"]: str(p["value"]) for p in data.get("params", []) or []}),
            "datasets": datasets,
        }
        out["tags"] = redact_map(out["tags"])
        if with_signature:
            out["signature"] = self.signature(v)
        return out

    # -- writes --
    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.api.post(f"{API}/registered-models/alias", {"name": name, "alias": alias, "version": version})

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.api.post(f"{API}/model-versions/set-tag", {"name": name, "version": version, "key": key, "value": value})


ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$")


def check_alias(alias: str) -> str:
    # MLflow refuses aliases that look like versions (v1, 12) and "latest"; say so before asking it.
    if not ALIAS.match(alias) or re.fullmatch(r"[vV]\d+", alias) or alias.lower() == "latest":
        raise DayTwoError(f"--alias {alias!r}: use letters, digits, '_' and '-', starting with a letter "
                          "(not 'latest' and not v<number>), e.g. production")
    return alias
