"""omgml.diff on small hand-written renders, and `omgml diff` on render folders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.diff import MISSING, FieldChange, diff_snapshots, field_changes, snapshot
from tests.policy.fixtures import deployment

runner = CliRunner()


def sts(storage: str = "10Gi", service: str = "kafka-headless") -> dict[str, Any]:
    d = deployment("kafka", "data")
    d["kind"] = "StatefulSet"
    d["spec"]["serviceName"] = service
    d["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"},
                                          "spec": {"resources": {"requests": {"storage": storage}}}}]
    return d


def pvc(size: str = "5Gi", storage_class: str = "gp3") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "models", "namespace": "ml"},
            "spec": {"storageClassName": storage_class, "resources": {"requests": {"storage": size}}}}


def job(image: str = "app:1") -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "ml"},
            "spec": {"template": {"spec": {"containers": [{"name": "m", "image": image}]}}}}


def aws(typ: str, name: str, retain: bool = False, **inputs: Any) -> dict[str, Any]:
    return {"type": typ, "name": name, "custom": True, "phase": "foundation", "protect": False,
            "retain_on_delete": retain, "inputs": inputs}


def snap(items: list[dict[str, Any]], inventory: list[dict[str, Any]] | None = None) -> Any:
    return snapshot({"foundation": items}, {"resources": inventory or []})


def test_field_changes_use_dotted_paths_and_container_names() -> None:
    old = deployment()
    new = copy.deepcopy(old)
    c = new["spec"]["template"]["spec"]["containers"]
    c[0]["image"] = "ghcr.io/example/app:1.2.4"
    c.insert(0, {"name": "sidecar", "image": "envoy:1.36"})
    new["spec"]["replicas"] = 2
    changes = field_changes(old, new)
    assert FieldChange("spec.replicas", 1, 2) in changes
    assert FieldChange("spec.template.spec.containers.app.image", "ghcr.io/example/app:1.2.3",
                       "ghcr.io/example/app:1.2.4") in changes
    added = [ch for ch in changes if ch.path == "spec.template.spec.containers.sidecar"]
    assert added and added[0].old is MISSING
    assert len(changes) == 3  # inserting the sidecar does not shift the app container


def test_added_removed_changed_resources() -> None:
    old = snap([deployment("a"), deployment("b")])
    new_b = deployment("b")
    new_b["spec"]["replicas"] = 3
    new = snap([new_b, deployment("c")])
    got = {(d.key, d.kind) for d in diff_snapshots(old, new)}
    assert got == {("Deployment/apps/a", "removed"), ("Deployment/apps/b", "changed"), ("Deployment/apps/c", "added")}
    assert all(d.risk is None for d in diff_snapshots(old, new))


def test_statefulset_force_new_fields_are_data_risks_but_replicas_are_not() -> None:
    [d] = diff_snapshots(snap([sts()]), snap([sts(storage="20Gi")]))
    assert d.risk == "data" and "spec.volumeClaimTemplates" in d.note
    [d] = diff_snapshots(snap([sts()]), snap([sts(service="kafka")]))
    assert d.risk == "data" and "spec.serviceName" in d.note
    scaled = sts()
    scaled["spec"]["replicas"] = 3
    [d] = diff_snapshots(snap([sts()]), snap([scaled]))
    assert d.risk is None


def test_deleting_or_replacing_a_pvc_is_a_data_risk_and_growing_it_is_not() -> None:
    [gone] = diff_snapshots(snap([pvc()]), snap([]))
    assert (gone.kind, gone.risk) == ("removed", "data")
    [cls] = diff_snapshots(snap([pvc()]), snap([pvc(storage_class="standard")]))
    assert cls.risk == "data"
    [shrink] = diff_snapshots(snap([pvc("5Gi")]), snap([pvc("1Gi")]))
    assert shrink.risk == "data" and "cannot shrink" in shrink.note
    [grow] = diff_snapshots(snap([pvc("5Gi")]), snap([pvc("8Gi")]))
    assert grow.risk is None


def test_retained_pvc_removal_says_so() -> None:
    inv = [{"type": "kubernetes:core/v1:PersistentVolumeClaim", "name": "models", "custom": True,
            "retain_on_delete": True, "protect": False, "phase": "foundation", "inputs": pvc()}]
    [d] = diff_snapshots(snap([pvc()], inv), snap([]))
    assert d.risk == "data" and "retained" in d.note


def test_job_template_change_is_a_harmless_replacement() -> None:
    [d] = diff_snapshots(snap([job()]), snap([job("app:2")]))
    assert d.risk == "replace" and "harmless" in d.note


def test_aws_data_store_deletion_and_force_new_changes() -> None:
    db = aws("aws:rds/instance:Instance", "pg", identifier="demo-pg", instanceClass="db.t4g.micro")
    bigger = aws("aws:rds/instance:Instance", "pg", identifier="demo-pg", instanceClass="db.t4g.small")
    renamed = aws("aws:rds/instance:Instance", "pg", identifier="demo-pg2", instanceClass="db.t4g.micro")
    [d] = diff_snapshots(snap([], [db]), snap([], [bigger]))
    assert d.key == "aws:rds/instance:Instance/pg" and d.risk is None
    [d] = diff_snapshots(snap([], [db]), snap([], [renamed]))
    assert d.risk == "data" and "identifier" in d.note
    [d] = diff_snapshots(snap([], [db]), snap([], []))
    assert (d.kind, d.risk) == ("removed", "data")
    nat = aws("aws:ec2/natGateway:NatGateway", "nat")
    [d] = diff_snapshots(snap([], [nat]), snap([], []))
    assert d.risk is None


def _write_render(path: Path, items: list[dict[str, Any]]) -> Path:
    path.mkdir()
    (path / "01-foundation.yaml").write_text(yaml.safe_dump_all(items, explicit_start=True))
    (path / "inventory.json").write_text(json.dumps({"resources": []}))
    return path


def test_diff_cli_prints_fields_and_fails_on_data_risk(tmp_path: Path) -> None:
    old = _write_render(tmp_path / "old", [sts(), deployment()])
    new = _write_render(tmp_path / "new", [sts(storage="20Gi")])
    result = runner.invoke(app, ["diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert "- Deployment/apps/web" in result.output
    assert "~ StatefulSet/data/kafka" in result.output and "DATA RISK" in result.output
    assert "spec.volumeClaimTemplates[0].spec.resources.requests.storage: 10Gi → 20Gi" in result.output
    strict = runner.invoke(app, ["diff", str(old), str(new), "--fail-on-data-risk"])
    assert strict.exit_code == 1
    same = runner.invoke(app, ["diff", str(old), str(old), "--fail-on-data-risk"])
    assert same.exit_code == 0 and "no differences" in same.output


def test_diff_cli_user_error_for_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["diff", str(tmp_path / "nope"), str(tmp_path)])
    assert result.exit_code == 2 and "render folder" in result.output


def test_diff_of_two_real_renders(tmp_path: Path) -> None:
    for name, profile in (("a", "laptop"), ("b", "small")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "omgml.yaml").write_text(yaml.safe_dump({"platform": {"name": "demo", "profile": profile}}))
        r = runner.invoke(app, ["render", str(tmp_path / name), "--out", str(tmp_path / f"r{name}")])
        assert r.exit_code == 0, r.output
    same = runner.invoke(app, ["diff", str(tmp_path / "ra"), str(tmp_path / "ra")])
    assert same.exit_code == 0 and "no differences" in same.output
    result = runner.invoke(app, ["diff", str(tmp_path / "ra"), str(tmp_path / "rb")])
    assert result.exit_code == 0, result.output


def _git(repo: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def test_diff_between_git_revisions_of_a_project(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    project = repo / "platform"
    project.mkdir(parents=True)
    _git(repo, "init", "-q")
    spec = project / "omgml.yaml"
    spec.write_text(yaml.safe_dump({"platform": {"name": "demo"}}))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    spec.write_text(yaml.safe_dump({"platform": {"name": "demo", "phases": {"serving": {"enabled": False}}}}))
    same = runner.invoke(app, ["diff", "HEAD", "HEAD", "--project", str(project)])
    assert same.exit_code == 0 and "no differences" in same.output, same.output
    result = runner.invoke(app, ["diff", "HEAD", ".", "--project", str(project)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "\n- " in "\n" + result.output and "(serving)" in result.output  # the serving phase's objects go
    missing = runner.invoke(app, ["diff", "nope", ".", "--project", str(project)])
    assert missing.exit_code == 2 and "nope" in missing.output


def test_diff_markdown_lists_data_risks_first() -> None:
    from omgml.diff import diff_markdown

    diffs = diff_snapshots(snap([sts(), deployment()]), snap([sts(storage="20Gi"), deployment("new")]))
    md = diff_markdown(diffs)
    assert md.startswith("**omgml diff**: 1 added, 1 removed, 1 changed; 1 with a risk to stateful data")
    assert md.index("DATA RISK** `StatefulSet/data/kafka`") < md.index("```diff")
    assert '    spec.volumeClaimTemplates[0].spec.resources.requests.storage: "10Gi" -> "20Gi"' in md
    assert diff_markdown([]) == "**omgml diff**: no differences\n"


def test_diff_cli_markdown(tmp_path: Path) -> None:
    old = _write_render(tmp_path / "old", [sts()])
    new = _write_render(tmp_path / "new", [sts(service="other")])
    result = runner.invoke(app, ["diff", str(old), str(new), "-o", "markdown", "--fail-on-data-risk"])
    assert result.exit_code == 1 and "DATA RISK" in result.output and "```diff" in result.output


def test_a_kubernetes_upgrade_reads_control_plane_then_add_ons_then_nodes() -> None:
    def render(version: str, addon: str, ami: str, image: str) -> Any:
        node_class = {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": "gpu-a"},
                      "spec": {"amiSelectorTerms": [{"alias": f"al2023@{ami}"}]}}
        return snap([job(image), node_class], [
            aws("aws:eks/nodeGroup:NodeGroup", "system", version=version),
            aws("aws:eks/addon:Addon", "coredns", addonName="coredns", addonVersion=addon),
            aws("aws:eks/cluster:Cluster", "eks", version=version),
        ])

    diffs = diff_snapshots(render("1.34", "v1.12.1-eksbuild.1", "v20260601", "app:1"),
                           render("1.36", "v1.13.2-eksbuild.1", "v20260714", "app:2"))
    # Alphabetically the Job would come first; the upgrade's own order wins, the rest follows.
    assert [d.key for d in diffs] == ["aws:eks/cluster:Cluster/eks", "aws:eks/addon:Addon/coredns",
                                      "aws:eks/nodeGroup:NodeGroup/system", "EC2NodeClass/gpu-a", "Job/ml/migrate"]
    assert "the add-ons and the nodes below follow" in diffs[0].note
    assert "one minor version at a time, so go from 1.34 through each minor to 1.36" in diffs[0].note
    # One minor at a time needs no warning.
    [one_minor] = [d for d in diff_snapshots(render("1.34", "a", "b", "c"), render("1.35", "a", "b", "c"))
                   if d.key.startswith("aws:eks/cluster")]
    assert "one minor version at a time" not in one_minor.note
