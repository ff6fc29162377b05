"""Differences between two renders: per resource, per field, with the changes that hurt data.

A render directory is what `omgml render` writes: `NN-<phase>.yaml` (Kubernetes manifests) and
inventory.json (every resource with its inputs). Kubernetes objects are compared through the
manifests, everything else (AWS, random) through the inventory. Fields are dotted paths; list
items that carry a `name` (containers, env, ports, volumes) are addressed by it, so inserting a
container does not show as a change of every container after it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

Kind = Literal["added", "removed", "changed"]
Risk = Literal["data", "replace"]  # data: a stateful resource is replaced or deleted
MISSING: Any = object()

_PHASE_FILE = re.compile(r"^\d\d-([a-z]+)\.ya?ml$")

# Fields Kubernetes refuses to update: a change makes Pulumi replace (delete + create) the object.
K8S_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "StatefulSet": ("spec.volumeClaimTemplates", "spec.serviceName", "spec.selector", "spec.podManagementPolicy"),
    "Deployment": ("spec.selector",),
    "DaemonSet": ("spec.selector",),
    "Job": ("spec.template", "spec.selector", "spec.completions"),
    "PersistentVolumeClaim": ("spec.accessModes", "spec.storageClassName", "spec.volumeName", "spec.selector",
                              "spec.volumeMode", "spec.dataSource"),
}
STATEFUL_KINDS = frozenset({"StatefulSet", "PersistentVolumeClaim"})
# Inputs whose change replaces a managed data store (the common ones, not an exhaustive list).
AWS_DATA_STORES: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": ("identifier", "engine", "storageEncrypted", "kmsKeyId", "availabilityZone",
                                  "dbSubnetGroupName", "username"),
    "aws:rds/cluster:Cluster": ("clusterIdentifier", "engine", "storageEncrypted", "kmsKeyId",
                                "dbSubnetGroupName", "masterUsername"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", "engine", "subnetGroupName",
                                                          "atRestEncryptionEnabled", "kmsKeyId"),
    "aws:msk/cluster:Cluster": ("clusterName", "brokerNodeGroupInfo.clientSubnets",
                                "brokerNodeGroupInfo.instanceType", "encryptionInfo.encryptionAtRestKmsKeyArn"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:ebs/volume:Volume": ("availabilityZone", "encrypted", "kmsKeyId", "snapshotId"),
}


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any  # MISSING when the field is new
    new: Any  # MISSING when the field is gone


@dataclass(frozen=True)
class ResourceDiff:
    key: str  # "Kind/ns/name" or "<aws type>/<logical name>"
    kind: Kind
    phase: str
    changes: tuple[FieldChange, ...] = ()
    risk: Risk | None = None
    note: str = ""  # why the change is risky (or why a replacement is harmless)


@dataclass(frozen=True)
class RenderSnapshot:
    """The comparable content of a render: key → (phase, body, flags)."""

    resources: dict[str, tuple[str, dict[str, Any], dict[str, bool]]] = field(default_factory=dict)


def manifest_key(m: dict[str, Any]) -> str:
    meta = m.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{m.get('kind')}/{ns}/{meta.get('name')}" if ns else f"{m.get('kind')}/{meta.get('name')}"


def snapshot(phase_manifests: dict[str, list[dict[str, Any]]], inventory: dict[str, Any]) -> RenderSnapshot:
    flags: dict[str, dict[str, bool]] = {}
    out: dict[str, tuple[str, dict[str, Any], dict[str, bool]]] = {}
    for e in inventory.get("resources", []):
        typ, inputs = str(e.get("type", "")), e.get("inputs") or {}
        f = {"protect": bool(e.get("protect")), "retain_on_delete": bool(e.get("retain_on_delete"))}
        if typ.startswith("kubernetes:") and "kind" in inputs:
            flags[manifest_key(inputs)] = f
        elif e.get("custom") and not typ.startswith(("kubernetes:", "pulumi:")):
            out[f"{typ}/{e.get('name')}"] = (str(e.get("phase", "")), dict(inputs), f)
    for phase, items in phase_manifests.items():
        for m in items:
            key = manifest_key(m)
            out[key] = (phase, m, flags.get(key, {"protect": False, "retain_on_delete": False}))
    return RenderSnapshot(out)


def load_render_dir(path: Path) -> RenderSnapshot:
    """Read `omgml render`'s output folder."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: not a render folder; run `omgml render PROJECT --out {path}` first")
    phases: dict[str, list[dict[str, Any]]] = {}
    for f in sorted(path.iterdir()):
        match = _PHASE_FILE.match(f.name)
        if match:
            phases[match.group(1)] = [d for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if d]
    inv_path = path / "inventory.json"
    if not phases and not inv_path.exists():
        raise FileNotFoundError(f"{path}: no NN-<phase>.yaml files and no inventory.json; is it a render folder?")
    inventory = json.loads(inv_path.read_text(encoding="utf-8")) if inv_path.exists() else {"resources": []}
    return snapshot(phases, inventory)


def _named(items: list[Any]) -> bool:
    names = [i.get("name") for i in items if isinstance(i, dict)]
    return len(names) == len(items) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Every leaf that differs, as dotted paths (list items by `name` where they have one)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for k in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{k}" if path else str(k)
            out.extend(field_changes(old.get(k, MISSING), new.get(k, MISSING), sub))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if _named(old) and _named(new):
            return field_changes({i["name"]: i for i in old}, {i["name"]: i for i in new}, path)
        out = []
        for i in range(max(len(old), len(new))):
            out.extend(field_changes(old[i] if i < len(old) else MISSING, new[i] if i < len(new) else MISSING,
                                     f"{path}[{i}]"))
        return out
    if old is MISSING and new is MISSING:
        return []
    return [] if old == new else [FieldChange(path, old, new)]


def _k8s_kind(body: dict[str, Any]) -> str:
    """The Kubernetes kind of a manifest; "" for other resources' inputs."""
    return str(body.get("kind", "")) if "apiVersion" in body else ""


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def _risk_of_change(key: str, body: dict[str, Any], changes: list[FieldChange]) -> tuple[Risk | None, str]:
    kind = _k8s_kind(body)
    if kind:
        forced = [p for p in K8S_FORCE_NEW.get(kind, ()) if any(_under(c.path, p) for c in changes)]
        if kind == "PersistentVolumeClaim":
            shrink = [c for c in changes if c.path == "spec.resources.requests.storage" and _smaller(c.new, c.old)]
            if shrink:
                return "data", "a PVC cannot shrink: Kubernetes rejects it and a replacement loses the volume's data"
        if not forced:
            return None, ""
        if kind == "Job":
            return "replace", f"the Job is re-created ({', '.join(forced)} is immutable); harmless, it re-runs"
        if kind in STATEFUL_KINDS:
            return "data", (f"replaces the {kind} ({', '.join(forced)} cannot be updated in place); "
                            "its pods restart and a replaced PVC starts empty")
        return "replace", f"replaces the {kind} ({', '.join(forced)} is immutable): brief downtime"
    typ = key.rsplit("/", 1)[0]
    forced = [p for p in AWS_DATA_STORES.get(typ, ()) if any(_under(c.path, p) for c in changes)]
    if forced:
        return "data", f"replaces the data store ({', '.join(forced)} forces a new resource): its data is lost"
    return None, ""


def _smaller(new: Any, old: Any) -> bool:
    from omgml.capacity import memory_bytes

    try:
        return memory_bytes(new) < memory_bytes(old)
    except (TypeError, ValueError):
        return False


def _removal_risk(key: str, body: dict[str, Any], flags: dict[str, bool]) -> tuple[Risk | None, str]:
    is_stateful = _k8s_kind(body) in STATEFUL_KINDS or key.rsplit("/", 1)[0] in AWS_DATA_STORES
    if not is_stateful:
        return None, ""
    if flags.get("protect"):
        return "data", "deletes a protected stateful resource: `pulumi up` will refuse until protect is lifted"
    if flags.get("retain_on_delete"):
        return "data", "removed from the stack but retained in the cluster/account (retain_on_delete)"
    return "data", "deletes a stateful resource and its data"


# The order a Kubernetes upgrade on EKS takes (docs/aws-first-deploy.md, "Upgrades"): the control
# plane, then the add-ons (resolved against the new version), then the nodes (the system node
# group follows the cluster's version; Karpenter replaces GPU nodes whose AMI drifted). The diff
# lists these first, in this order, so the plan reads as the upgrade runs.
UPGRADE_ORDER: tuple[str, ...] = (
    "aws:eks/cluster:Cluster/",
    "aws:eks/addon:Addon/",
    "aws:ec2/launchTemplate:LaunchTemplate/",
    "aws:eks/nodeGroup:NodeGroup/",
    "EC2NodeClass/",
    "NodePool/",
)


def upgrade_rank(key: str) -> int:
    """Where `key` falls in UPGRADE_ORDER (everything else after it, alphabetically)."""
    for rank, prefix in enumerate(UPGRADE_ORDER):
        if key.startswith(prefix):
            return rank
    return len(UPGRADE_ORDER)


def _minor(version: Any) -> tuple[int, int] | None:
    m = re.match(r"^(\d+)\.(\d+)$", str(version))
    return (int(m.group(1)), int(m.group(2))) if m else None


def _version_note(key: str, changes: list[FieldChange]) -> str:
    """A control-plane version change: the order that follows, and EKS's one-minor-at-a-time rule."""
    if not key.startswith(UPGRADE_ORDER[0]):
        return ""
    for c in changes:
        if c.path == "version":
            old, new = _minor(c.old), _minor(c.new)
            note = "control-plane upgrade: the add-ons and the nodes below follow in this order"
            if old and new and (new[0] != old[0] or new[1] - old[1] > 1):
                note += f"; EKS upgrades one minor version at a time, so go from {c.old} through each minor to {c.new}"
            return note
    return ""


def diff_snapshots(old: RenderSnapshot, new: RenderSnapshot) -> list[ResourceDiff]:
    out: list[ResourceDiff] = []
    for key in sorted(set(old.resources) | set(new.resources), key=lambda k: (upgrade_rank(k), k)):
        if key not in new.resources:
            phase, body, flags = old.resources[key]
            risk, note = _removal_risk(key, body, flags)
            out.append(ResourceDiff(key, "removed", phase, (), risk, note))
        elif key not in old.resources:
            out.append(ResourceDiff(key, "added", new.resources[key][0]))
        else:
            _, old_body, _ = old.resources[key]
            phase, new_body, _ = new.resources[key]
            changes = field_changes(old_body, new_body)
            if changes:
                risk, note = _risk_of_change(key, new_body, changes)
                note = note or _version_note(key, changes)
                out.append(ResourceDiff(key, "changed", phase, tuple(changes), risk, note))
    return out


def diff_render_dirs(old: Path, new: Path) -> list[ResourceDiff]:
    return diff_snapshots(load_render_dir(old), load_render_dir(new))


def data_risks(diffs: list[ResourceDiff]) -> list[ResourceDiff]:
    return [d for d in diffs if d.risk == "data"]


# --- git revisions of a project -----------------------------------------------------------------

WORKTREE = "."  # the revision name for the project's current files


def spec_text_at(project: Path, revision: str, spec_file: str = "omgml.yaml") -> str:
    """omgml.yaml of `project` at a git revision (WORKTREE: the file on disk)."""
    import subprocess

    if revision == WORKTREE:
        return (project / spec_file).read_text(encoding="utf-8")
    prefix = subprocess.run(["git", "-C", str(project), "rev-parse", "--show-prefix"],
                            capture_output=True, text=True)
    if prefix.returncode != 0:
        raise FileNotFoundError(f"{project}: not inside a git repository ({prefix.stderr.strip()})")
    shown = subprocess.run(["git", "-C", str(project), "show", f"{revision}:{prefix.stdout.strip()}{spec_file}"],
                           capture_output=True, text=True)
    if shown.returncode != 0:
        raise FileNotFoundError(f"{spec_file} at revision {revision!r}: {shown.stderr.strip()}")
    return shown.stdout


def snapshot_of_spec_text(text: str, source: str) -> RenderSnapshot:
    """Render a project's omgml.yaml (its `platform:` section) with the installed omgml."""
    from omgml.spec import spec_from_dict
    from omgml.synth.render import render_platform

    data = yaml.safe_load(text) or {}
    if isinstance(data, dict) and "platform" in data:
        data = data["platform"]
    render = render_platform(spec_from_dict(data, source))
    return snapshot({p.phase: p.manifests for p in render.phases}, render.inventory())


def diff_revisions(project: Path, old: str, new: str) -> list[ResourceDiff]:
    """What changes between the platform at two git revisions of a project (today's omgml renders both)."""
    return diff_snapshots(snapshot_of_spec_text(spec_text_at(project, old), f"{old}:omgml.yaml"),
                          snapshot_of_spec_text(spec_text_at(project, new), f"{new}:omgml.yaml"))


def diff_markdown(diffs: list[ResourceDiff], max_fields: int = 20) -> str:
    """The diff as GitHub-flavoured Markdown: data risks first, then every resource."""
    if not diffs:
        return "**omgml diff**: no differences\n"
    mark = {"added": "+", "removed": "-", "changed": "~"}
    counts = {k: sum(1 for d in diffs if d.kind == k) for k in ("added", "removed", "changed")}
    risky = data_risks(diffs)
    lines = [f"**omgml diff**: {counts['added']} added, {counts['removed']} removed, {counts['changed']} changed; "
             f"{len(risky)} with a risk to stateful data", ""]
    for d in risky:
        lines.append(f"- :warning: **DATA RISK** `{d.key}`: {d.note}")
    if risky:
        lines.append("")
    lines += ["<details><summary>Every change</summary>", "", "```diff"]
    for d in diffs:
        lines.append(f"{mark[d.kind]} {d.key} ({d.phase})" + (f"  # {d.note}" if d.note else ""))
        for c in d.changes[:max_fields]:
            before = "(absent)" if c.old is MISSING else json.dumps(c.old, sort_keys=True)[:80]
            after = "(absent)" if c.new is MISSING else json.dumps(c.new, sort_keys=True)[:80]
            lines.append(f"    {c.path}: {before} -> {after}")
        if len(d.changes) > max_fields:
            lines.append(f"    … {len(d.changes) - max_fields} more field(s)")
    lines += ["```", "", "</details>"]
    return "\n".join(lines) + "\n"
