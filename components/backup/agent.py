"""omgml backup agent: moves dumps between a pod's scratch folder and the backup bucket.

This file runs on its own inside the MLflow image (the backup Jobs ship its source in a
ConfigMap; `python agent.py <command>`), so it imports nothing from omgml and only what that
image installs: Python and boto3. boto3 reaches the platform's S3-compatible store with the
key Secret's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS S3 through the web-identity
token EKS mounts for an IRSA-annotated ServiceAccount (no keys then).

Layout in the bucket: `<component>/<YYYYmmddTHHMMSSZ>/<file>` plus `manifest.json`, written
last: a backup without a manifest is incomplete and never listed or restored. The id of a
backup is `<component>/<stamp>`; the stamp is when its dump started (the point in time the
object store is restored to as well).

Commands (configuration by env: BACKUP_BUCKET, BACKUP_COMPONENT, S3_ENDPOINT_URL ("" = AWS
S3), AWS_REGION, RETENTION_DAYS, PUSHGATEWAY_URL, VERSIONED_BUCKETS, WORK_DIR):
- `upload`: upload WORK_DIR's files, then the manifest; delete backups older than the
  retention (never the newest); delete versions of VERSIONED_BUCKETS that stopped being current
  before the retention window; push success metrics to the Pushgateway.
- `list`: one JSON line per complete backup (all components, or BACKUP_COMPONENT's).
- `fetch ID [--manifest-only]`: download a backup into WORK_DIR and check every file's sha256.
- `restore-buckets STAMP [--dry-run] [--force]`: put every key of VERSIONED_BUCKETS back to the
  version it had at STAMP (objects created later are deleted, i.e. hidden behind a delete marker);
  replacing or removing an object that exists now needs --force.

Every error is one line on stderr and exit code 2 (bad input: no such backup, no bucket) or 1.
The helpers above `main` are pure, so they are tested without boto3 or a server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MANIFEST = "manifest.json"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
HEARTBEAT = "/tmp/backup-heartbeat"
JOB = "omgml_backup"  # Pushgateway grouping key `job`
STARTED_FILE = "started_at"  # written by the dump step: epoch seconds when the dump began
CHUNK = 8 * 1024 * 1024


class UserError(Exception):
    """Bad input (no such backup, no bucket, a malformed id): exit code 2, nothing touched."""


class Refused(Exception):
    """A restore that would replace data without --force: exit code 3, nothing touched."""


def start_heartbeat(path: str = HEARTBEAT, every: float = 10.0) -> None:
    """Touch `path` every few seconds from a daemon thread: the container's probes read its age."""
    def beat() -> None:
        while True:
            with open(path, "w") as handle:
                handle.write(str(time.time()))
            time.sleep(every)

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()


def stamp_of(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime(STAMP_FORMAT)


def epoch_of(stamp: str) -> float:
    try:
        return dt.datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise UserError(f"{stamp!r} is not a backup time (YYYYmmddTHHMMSSZ, e.g. 20261206T020000Z); "
                        "`omgml backup list` shows the backups") from None


def parse_backup_id(backup_id: str, component: str) -> str:
    """The stamp of `backup_id` (`<component>/<stamp>` or just `<stamp>`) for `component`."""
    comp, _, stamp = backup_id.rpartition("/")
    if comp and comp != component:
        raise UserError(f"backup {backup_id!r} belongs to {comp!r}, not {component!r}; pick a {component} backup "
                        "from `omgml backup list`")
    epoch_of(stamp)
    return stamp


def backup_prefix(component: str, stamp: str) -> str:
    return f"{component}/{stamp}/"


def manifest_for(component: str, stamp: str, files: Sequence[Mapping[str, Any]], finished_at: float) -> dict[str, Any]:
    return {"id": f"{component}/{stamp}", "component": component, "started_at": epoch_of(stamp),
            "finished_at": finished_at, "files": [dict(f) for f in files],
            "size_bytes": sum(int(f["size"]) for f in files)}


def expired_backups(stamps: Iterable[str], now: float, retention_days: int) -> list[str]:
    """Stamps older than the retention; the newest backup is kept whatever its age, so a
    backup job that fails for weeks never leaves the platform without any backup."""
    ordered = sorted(stamps)
    cutoff = now - retention_days * 86400
    return [s for s in ordered[:-1] if epoch_of(s) < cutoff]


def expired_versions(versions: Sequence[Mapping[str, Any]], cutoff: float) -> list[str]:
    """VersionIds of one key's versions that stopped being current before `cutoff`.

    `versions` are the key's versions and delete markers ({VersionId, LastModified (epoch)}); a
    version stops being current when the next one is written. A restore to any time inside the
    retention window finds the version current then."""
    ordered = sorted(versions, key=lambda v: float(v["LastModified"]), reverse=True)
    out = []
    for newer, older in itertools.pairwise(ordered):
        if float(newer["LastModified"]) < cutoff:
            out.append(str(older["VersionId"]))
    return out


def version_at(versions: Sequence[Mapping[str, Any]], when: float) -> Mapping[str, Any] | None:
    """The version (or delete marker, `IsDeleteMarker`) that was current at `when`, or None when
    the key did not exist yet."""
    before = [v for v in versions if float(v["LastModified"]) <= when]
    return max(before, key=lambda v: float(v["LastModified"])) if before else None


def restore_action(versions: Sequence[Mapping[str, Any]], when: float) -> tuple[str, str | None]:
    """What putting one key back to `when` takes: ("keep", None); ("undelete", version id) when
    the key is deleted now; ("replace", version id) when another version is current now;
    ("delete", None) when the key did not exist at `when`. The last two change data someone
    may still want, so they need --force."""
    current = max(versions, key=lambda v: float(v["LastModified"]))
    then = version_at(versions, when)
    existed = then is not None and not then.get("IsDeleteMarker")
    exists = not current.get("IsDeleteMarker")
    if existed:
        assert then is not None
        if exists and current["VersionId"] == then["VersionId"]:
            return ("keep", None)
        return ("replace" if exists else "undelete", str(then["VersionId"]))
    return ("delete", None) if exists else ("keep", None)


def metrics_body(size: int, duration: float, finished_at: float) -> str:
    return "".join(
        f"# TYPE {name} gauge\n{name} {value}\n"
        for name, value in (("omgml_backup_last_success_timestamp_seconds", round(finished_at, 3)),
                            ("omgml_backup_last_size_bytes", size),
                            ("omgml_backup_last_duration_seconds", round(duration, 3))))


def failure_body(at: float) -> str:
    return f"# TYPE omgml_backup_last_failure_timestamp_seconds gauge\nomgml_backup_last_failure_timestamp_seconds {at}\n"


def push(url: str, component: str, body: str) -> None:
    """POST (merge) into the component's group: a failure keeps the last success's timestamp."""
    req = urllib.request.Request(f"{url.rstrip('/')}/metrics/job/{JOB}/component/{component}", data=body.encode(),
                                 method="POST", headers={"Content-Type": "text/plain; version=0.0.4"})
    with urllib.request.urlopen(req, timeout=15) as resp:
        resp.read()


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- S3 -------------------------------------------------------------------------------------
def client(env: Mapping[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    endpoint = env.get("S3_ENDPOINT_URL") or None
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    # Path-style addressing: the in-cluster store answers on one host name, not per bucket.
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)


def require_bucket(s3: Any, bucket: str, endpoint: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        where = endpoint or "AWS S3"
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise UserError(f"backup bucket {bucket!r} does not exist on {where}; create it, or leave "
                            "backup.destination unset so the platform creates <platform>-backups") from None
        raise UserError(f"backup bucket {bucket!r} on {where} refused access ({code}); check the backup "
                        "credentials") from None


def stamps(s3: Any, bucket: str, component: str) -> dict[str, bool]:
    """stamp → complete (has a manifest) for every backup of `component`."""
    found: dict[str, bool] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{component}/"):
        for obj in page.get("Contents", []):
            parts = str(obj["Key"]).split("/")
            if len(parts) == 3:
                found[parts[1]] = found.get(parts[1], False) or parts[2] == MANIFEST
    return found


def components(s3: Any, bucket: str) -> list[str]:
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Delimiter="/"):
        out += [str(p["Prefix"]).rstrip("/") for p in page.get("CommonPrefixes", [])]
    return sorted(out)


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])


def key_versions(s3: Any, bucket: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for kind in ("Versions", "DeleteMarkers"):
            for v in page.get(kind, []):
                out.setdefault(str(v["Key"]), []).append({
                    "VersionId": v["VersionId"], "LastModified": v["LastModified"].timestamp(),
                    "IsDeleteMarker": kind == "DeleteMarkers"})
    return out


def prune_versions(s3: Any, bucket: str, cutoff: float) -> int:
    deleted = 0
    for key, versions in key_versions(s3, bucket).items():
        for version_id in expired_versions(versions, cutoff):
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
            deleted += 1
    return deleted


# --- commands -------------------------------------------------------------------------------
def upload(env: Mapping[str, str]) -> int:
    started = time.monotonic()
    bucket, component, work = env["BACKUP_BUCKET"], env["BACKUP_COMPONENT"], env.get("WORK_DIR", "/backup")
    s3 = client(env)
    require_bucket(s3, bucket, env.get("S3_ENDPOINT_URL", ""))
    with open(os.path.join(work, STARTED_FILE)) as handle:
        stamp = stamp_of(float(handle.read().strip()))
    names = sorted(n for n in os.listdir(work) if n != STARTED_FILE and os.path.isfile(os.path.join(work, n)))
    if not names:
        raise UserError(f"the dump step left nothing in {work}; see the dump container's log")
    files = []
    for name in names:
        path = os.path.join(work, name)
        files.append({"name": name, "size": os.path.getsize(path), "sha256": sha256_of(path)})
        s3.upload_file(path, bucket, backup_prefix(component, stamp) + name)
    manifest = manifest_for(component, stamp, files, time.time())
    s3.put_object(Bucket=bucket, Key=backup_prefix(component, stamp) + MANIFEST,
                  Body=json.dumps(manifest, indent=2).encode(), ContentType="application/json")
    print(json.dumps({"uploaded": manifest["id"], "files": len(files), "size_bytes": manifest["size_bytes"]}), flush=True)
    retention = int(env.get("RETENTION_DAYS", "14"))
    known = stamps(s3, bucket, component)
    complete = [s for s, ok in known.items() if ok]
    for old in expired_backups(complete, time.time(), retention):
        delete_prefix(s3, bucket, backup_prefix(component, old))
        print(f"deleted backup {component}/{old} (older than {retention} days)", flush=True)
    for partial in (s for s, ok in known.items() if not ok and epoch_of(s) < time.time() - 86400):
        delete_prefix(s3, bucket, backup_prefix(component, partial))
        print(f"deleted incomplete backup {component}/{partial}", flush=True)
    cutoff = time.time() - retention * 86400
    for versioned in env.get("VERSIONED_BUCKETS", "").split():
        n = prune_versions(s3, versioned, cutoff)
        print(f"bucket {versioned}: {n} old object versions deleted", flush=True)
    if env.get("PUSHGATEWAY_URL"):
        push(env["PUSHGATEWAY_URL"], component, metrics_body(int(manifest["size_bytes"]),
                                                              time.monotonic() - started, time.time()))
    return 0


def list_backups(env: Mapping[str, str]) -> int:
    bucket = env["BACKUP_BUCKET"]
    s3 = client(env)
    require_bucket(s3, bucket, env.get("S3_ENDPOINT_URL", ""))
    wanted = env.get("BACKUP_COMPONENT", "")
    for component in components(s3, bucket):
        if wanted and component != wanted:
            continue
        for stamp, ok in sorted(stamps(s3, bucket, component).items()):
            if not ok:
                continue
            body = s3.get_object(Bucket=bucket, Key=backup_prefix(component, stamp) + MANIFEST)["Body"].read()
            manifest = json.loads(body)
            print(json.dumps({"id": manifest["id"], "component": component, "started_at": manifest["started_at"],
                              "size_bytes": manifest["size_bytes"], "files": [f["name"] for f in manifest["files"]]}),
                  flush=True)
    return 0


def fetch(env: Mapping[str, str], backup_id: str, manifest_only: bool) -> int:
    bucket, component, work = env["BACKUP_BUCKET"], env["BACKUP_COMPONENT"], env.get("WORK_DIR", "/restore")
    stamp = parse_backup_id(backup_id, component)
    s3 = client(env)
    require_bucket(s3, bucket, env.get("S3_ENDPOINT_URL", ""))
    from botocore.exceptions import ClientError

    prefix = backup_prefix(component, stamp)
    try:
        body = s3.get_object(Bucket=bucket, Key=prefix + MANIFEST)["Body"].read()
    except ClientError:
        raise UserError(f"no backup {component}/{stamp} in bucket {bucket!r}; `omgml backup list` shows the "
                        "backups there") from None
    manifest = json.loads(body)
    with open(os.path.join(work, MANIFEST), "wb") as handle:
        handle.write(body)
    if not manifest_only:
        for f in manifest["files"]:
            path = os.path.join(work, f["name"])
            s3.download_file(bucket, prefix + f["name"], path)
            if sha256_of(path) != f["sha256"]:
                raise SystemExit(f"{prefix}{f['name']}: checksum differs from the manifest; the backup is damaged")
    print(json.dumps({"fetched": manifest["id"], "files": [f["name"] for f in manifest["files"]],
                      "size_bytes": manifest["size_bytes"], "manifest_only": manifest_only}), flush=True)
    return 0


def restore_buckets(env: Mapping[str, str], stamp: str, dry_run: bool, force: bool) -> int:
    when = epoch_of(stamp.rpartition("/")[2])
    s3 = client(env)
    buckets = env.get("VERSIONED_BUCKETS", "").split()
    if not buckets:
        raise UserError("VERSIONED_BUCKETS is empty: the platform keeps no versioned buckets to restore")
    for bucket in buckets:
        require_bucket(s3, bucket, env.get("S3_ENDPOINT_URL", ""))
    plans = {}
    for bucket in buckets:
        plan = [(key, *restore_action(versions, when)) for key, versions in sorted(key_versions(s3, bucket).items())]
        counts = {a: sum(1 for _, act, _ in plan if act == a) for a in ("keep", "undelete", "replace", "delete")}
        plans[bucket] = plan
        print(json.dumps({"bucket": bucket, "to": stamp_of(when), "dry_run": dry_run, "unchanged": counts["keep"],
                          "undeleted": counts["undelete"], "replaced": counts["replace"],
                          "removed": counts["delete"]}), flush=True)
    if dry_run:
        print("dry run: nothing changed", flush=True)
        return 0
    changing = sum(1 for plan in plans.values() for _, act, _ in plan if act in ("replace", "delete"))
    if changing and not force:
        raise Refused(f"{changing} objects that exist now would be replaced or removed (they stay as old versions); "
                      "re-run with --force to restore anyway (--dry-run shows the plan)")
    for bucket, plan in plans.items():
        for key, action, version_id in plan:
            if action in ("undelete", "replace"):
                s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key, "VersionId": version_id})
            elif action == "delete":
                s3.delete_object(Bucket=bucket, Key=key)
    print(json.dumps({"restored_to": stamp_of(when), "buckets": buckets}), flush=True)
    return 0


def main(argv: Sequence[str], env: Mapping[str, str]) -> int:
    if not argv:
        raise UserError("usage: agent.py upload | list | fetch ID [--manifest-only] | restore-buckets STAMP [--dry-run]")
    command, rest = argv[0], list(argv[1:])
    if command == "upload":
        start_heartbeat()
        try:
            return upload(env)
        except BaseException:
            if env.get("PUSHGATEWAY_URL"):
                try:
                    push(env["PUSHGATEWAY_URL"], env["BACKUP_COMPONENT"], failure_body(time.time()))
                except OSError as exc:
                    print(f"could not push the failure metric: {exc}", file=sys.stderr)
            raise
    if command == "list":
        return list_backups(env)
    if command == "fetch" and rest:
        return fetch(env, rest[0], "--manifest-only" in rest[1:])
    if command == "restore-buckets" and rest:
        return restore_buckets(env, rest[0], "--dry-run" in rest[1:], "--force" in rest[1:])
    raise UserError(f"unknown command {' '.join(argv)!r}")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:], os.environ))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except Refused as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(3)
