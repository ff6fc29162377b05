"""The render cases scripts/render-compare.sh compares between two revisions.

Two steps, so that both revisions render the very same PlatformSpecs (the spec is the input
held still; only the program that renders it varies):

    python scripts/render_cases.py specs OUT      # writes OUT/<case>.json (this tree's engine)
    python scripts/render_cases.py render SPECS OUT  # renders each SPECS/<case>.json into OUT/<case>/

and one that records what every case renders to, for the default tier's check that a refactor
left every render byte-identical (tests/test_render_digests.py):

    python scripts/render_cases.py digests tests/data/render_digests.json

`render` uses whatever `omgml` is first on sys.path (the compare script points PYTHONPATH at
the revision under test) and prints which one, so a mix-up shows. Next to what `omgml render`
writes it puts options.json: each resource's parent, dependencies (by name), protect,
retain_on_delete, ignore_changes and provider, which the render itself does not show but a
refactor of resource options could change. inventory.json is rewritten in a canonical order:
its entries come in registration order, which varies from run to run (asyncio), so order is
not content.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TEMPLATES = ("starter", "enterprise", "fintech", "research", "batch")
TARGETS = ("local", "aws")
GIT_DAGS = {"git_url": "https://example.com/team/dags.git", "ref": "main", "path": "dags"}
FEATURE_REPO = {"git_url": "https://example.com/team/features.git", "ref": "v1", "path": "repo"}
ALL_MANAGED: dict[str, dict[str, Any]] = {s: {"managed": True} for s in ("postgres", "redis", "kafka", "object_store")}
# The drift job's reference data lives in a bucket of the team's: on S3 its role reaches it
# only when the object store lists it.
ALL_MANAGED["object_store"]["extra_buckets"] = ["demo-features"]

# Non-default variants the tests use: orchestrators, the other model servers, Delta Lake,
# managed stores (IRSA everywhere) on aws, GPU serving, Grafana and alert receivers.
VARIANTS: dict[str, dict[str, Any]] = {
    "airflow-prefect": {"phases": {"training": {
        "kubeflow": {"enabled": False}, "airflow": {"enabled": True}, "prefect": {"enabled": True}}}},
    "airflow-git-kfp-restricted": {"phases": {"training": {
        "airflow": {"enabled": True, "dags_git": GIT_DAGS},
        "kubeflow": {"step_pod_security": "restricted"}}}},
    "airflow-bundle": {"phases": {"training": {
        "kubeflow": {"enabled": False}, "airflow": {"connections_bundle": True}}}},
    "torchserve": {"phases": {"serving": {"server": {"kind": "torchserve", "model_control_mode": "explicit",
                                                    "replicas": 2, "max_replicas": 4}}}},
    "tf-serving": {"phases": {"serving": {"server": {"kind": "tf-serving", "models": ["ranker"]}}}},
    "tf-serving-none": {"phases": {"serving": {"server": {"kind": "tf-serving", "model_control_mode": "none"}}}},
    "delta": {"profile": "small", "phases": {"foundation": {"feast": {
        "offline_store": "delta", "delta_tables": ["orders", "users"], "feature_repo": FEATURE_REPO,
        "replicas": 2}, "mlflow": {"replicas": 2}, "kafka": {"brokers": 3, "topics": [{"name": "events"}]}}}},
    "grafana-receivers": {"phases": {"serving": {"prometheus": {
        "grafana": True, "receivers": [
            {"name": "team", "kind": "slack", "url": "https://hooks.example.com/T/B/x"},
            {"name": "pager", "kind": "pagerduty", "secret_name": "pd-key"}]},
        "evidently": {"reference_path": "s3://demo-features/ref/", "current_path": "cur/"}}}},
    "gpu-serving": {"phases": {"training": {"enabled": False}, "serving": {
        "gpu_pools": [{"name": "infer", "purpose": "inference", "min_size": 1, "desired_size": 1}],
        "server": {"gpu": True}}}, "local": {"gpu": "nvidia"}},
    "aws-managed": {"target": "aws", "profile": "production", "phases": {
        "foundation": ALL_MANAGED,
        "training": {"airflow": {"enabled": True}, "prefect": {"enabled": True},
                     "gpu_pools": [{"name": "train", "instance_types": ["g6.xlarge"]}]},
        "serving": {"evidently": {"reference_path": "s3://demo-features/ref/", "current_path": "cur/"}}}},
    "aws-managed-laptop-torchserve": {"target": "aws", "phases": {
        "foundation": {"object_store": {"managed": True, "extra_buckets": ["raw"]}},
        "training": {"kubeflow": {"step_pod_security": "restricted"}, "airflow": {"connections_bundle": True}},
        "serving": {"server": {"kind": "torchserve", "model_control_mode": "none", "models": ["m1"]}}}},
    "aws-unmanaged": {"target": "aws", "profile": "small", "phases": {
        "training": {"prefect": {"enabled": True}}, "serving": {"server": {"kind": "tf-serving"}}}},
}


def template_spec(name: str, target: str) -> Any:
    from omgml.recommend import recommend
    from omgml.spec.requirements import requirements_from_dict
    from omgml.templates import load_template

    req = load_template(name)
    if target != req.target:
        # As `omgml init --template NAME --target T` does.
        req = requirements_from_dict({**req.model_dump(mode="json", exclude_unset=True), "target": target})
    return recommend(req).to_platform_spec()


def write_specs(out: Path) -> None:
    from omgml.spec import spec_from_dict

    out.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATES:
        for target in TARGETS:
            (out / f"{name}-{target}.json").write_text(template_spec(name, target).model_dump_json(indent=1))
    for case, data in VARIANTS.items():
        (out / f"variant-{case}.json").write_text(spec_from_dict({"name": "demo", **data}).model_dump_json(indent=1))
    print(f"wrote {len(TEMPLATES) * len(TARGETS) + len(VARIANTS)} specs to {out}")


def render_specs(specs: Path, out: Path) -> None:
    import omgml
    from omgml.spec import PlatformSpec
    from omgml.synth.render import render_platform, write_render

    print(f"rendering with {Path(omgml.__file__).resolve().parent.parent}")
    for path in sorted(specs.glob("*.json")):
        spec = PlatformSpec.model_validate_json(path.read_text())
        render = render_platform(spec)
        folder = out / path.stem
        write_render(render, folder)
        inventory = folder / "inventory.json"
        entries = json.loads(inventory.read_text())["resources"]
        entries.sort(key=lambda e: (e["phase"], e["type"], e["name"], json.dumps(e, sort_keys=True)))
        inventory.write_text(json.dumps({"resources": entries}, indent=2, sort_keys=True) + "\n")
        (folder / "options.json").write_text(json.dumps(resource_options(render), indent=1, sort_keys=True) + "\n")
        print(f"  {path.stem}")


def digests(work: Path) -> dict[str, dict[str, str]]:
    """case → rendered file → sha256 of its bytes, every case specified and rendered under `work`."""
    import contextlib
    import hashlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        write_specs(work / "specs")
        render_specs(work / "specs", work / "out")
    return {case.name: {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(case.iterdir())}
            for case in sorted((work / "out").iterdir())}


def resource_options(render: Any) -> dict[str, Any]:
    """phase/type/name → the options of each resource that the manifests do not show."""
    out: dict[str, Any] = {}
    for p in render.phases:
        by_urn = p.result.by_urn()

        def name_of(urn: str, by_urn: dict[str, Any] = by_urn) -> str:
            r = by_urn.get(urn)
            return f"{r.type}/{r.name}" if r is not None else urn

        for r in p.result.resources:
            out[f"{p.phase}/{r.type}/{r.name}"] = {
                "parent": name_of(r.parent_urn) if r.parent_urn else None,
                "dependencies": sorted(name_of(d) for d in r.dependencies),
                "protect": r.protect,
                "retain_on_delete": r.retain_on_delete,
                "delete_before_replace": r.delete_before_replace,
                "ignore_changes": sorted(r.ignore_changes),
                "provider": r.provider.split("::")[-1] if r.provider else "",
            }
    return out


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "specs":
        write_specs(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "render":
        render_specs(Path(argv[1]), Path(argv[2]))
        return 0
    if len(argv) == 2 and argv[0] == "digests":
        import tempfile

        with tempfile.TemporaryDirectory() as work:
            found = digests(Path(work))
        Path(argv[1]).parent.mkdir(parents=True, exist_ok=True)
        Path(argv[1]).write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"recorded {sum(len(v) for v in found.values())} files of {len(found)} cases in {argv[1]}")
        return 0
    print("usage: render_cases.py specs OUT | render SPECS OUT | digests OUT.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
