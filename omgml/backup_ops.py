"""`omgml backup list|now` and `omgml restore`: Jobs in the cluster, driven from the CLI.

The CLI never talks to a database or the object store itself: it creates a Job in the
platform's namespace (through the Kubernetes API with the user's kubeconfig, the same way
`kubectl create job` does), waits for it and prints what its pods logged. The Jobs are built
by the same pure functions as the rendered backup CronJobs (components/backup), from the
project's spec, so they run with the backup's own ServiceAccount, credentials and
NetworkPolicies: no port-forward, no credentials leave the cluster.

- `list`: the backup agent's `list` in a Job (JSON lines → a table).
- `now`: a Job from the backup CronJob's own jobTemplate (`kubectl create job --from=cronjob/…`).
- `restore`: the agent fetches and checks the backup (a backup that does not exist, or a
  missing bucket, stops there, before anything is touched), then the store's image loads it.
  `--dry-run` prints what would be replaced and changes nothing; a database that holds tables is
  refused unless `--force`.

Everything here except `KubeCluster` is pure or talks to a `Cluster`, so it is tested with a
fake one; the conformance tier runs the same Jobs against the real servers.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from omgml.backup import KFP_MYSQL, OBJECT_STORE, POSTGRES, dumped_stores, versioned_buckets
from omgml.errors import OmgmlError
from omgml.naming import k8s_name

if TYPE_CHECKING:
    from omgml.components.backup.jobs import BackupSettings
    from omgml.spec import PlatformSpec

JsonDict = dict[str, Any]
COMPONENTS = (POSTGRES, KFP_MYSQL, OBJECT_STORE)
# Exit codes of the restore step: 2 bad input (no such backup, no bucket), 3 refused (not empty).
REFUSED = 3


class BackupError(OmgmlError):
    """A backup or restore that cannot go ahead; the message names the cause and the fix."""


class Cluster(Protocol):
    def create_job(self, namespace: str, name: str, spec: JsonDict, labels: dict[str, str]) -> None: ...
    def wait_job(self, namespace: str, name: str, timeout: float) -> str: ...  # "succeeded" | "failed" | "timeout"
    def job_output(self, namespace: str, name: str) -> list[tuple[str, int | None, str]]: ...  # (container, exit, log)
    def cronjob(self, namespace: str, name: str) -> JsonDict | None: ...


@dataclass(frozen=True)
class JobRun:
    namespace: str
    name: str
    status: str
    output: list[tuple[str, int | None, str]]

    def log(self) -> str:
        return "\n".join(text.rstrip() for _, _, text in self.output if text.strip())

    def exit_codes(self) -> dict[str, int | None]:
        return {c: code for c, code, _ in self.output}

    def json_lines(self) -> list[JsonDict]:
        out = []
        for _, _, text in self.output:
            for line in text.splitlines():
                if line.startswith("{"):
                    try:
                        out.append(dict(json.loads(line)))
                    except ValueError:
                        continue
        return out

    def error_line(self) -> str:
        """The first `error:` line any container printed (the steps' one-line messages)."""
        for _, _, text in self.output:
            for line in text.splitlines():
                if line.startswith("error: "):
                    return line.removeprefix("error: ")
        return ""


# --- from the spec to the Jobs ----------------------------------------------------------------
def _store_settings(spec: PlatformSpec, namespace_secret: bool = True) -> BackupSettings:
    from omgml.backup import backup_settings
    from omgml.components.objectstore import DEFAULT_REGION, S3_PORT
    from omgml.components.objectstore import resolve as resolve_store

    f = spec.phases.foundation
    if spec.target == "aws" and f.object_store.managed:
        return backup_settings(spec, endpoint_url="", region=spec.aws.region, key_secret=None)
    from omgml.components.objectstore import ObjectStoreArgs

    r = resolve_store(ObjectStoreArgs(namespace=f.namespace))
    return backup_settings(spec, endpoint_url=f"http://{r.name}.{f.namespace}.svc.cluster.local:{S3_PORT}",
                           region=DEFAULT_REGION, key_secret=r.secret_name if namespace_secret else None,
                           versioned=versioned_buckets(spec))


def _postgres_args(spec: PlatformSpec) -> Any:
    from omgml.blueprints.foundation import postgres_consumers
    from omgml.components.postgres import PostgresArgs

    f = spec.phases.foundation
    return PostgresArgs(namespace=f.namespace, storage_gib=f.postgres.storage_gib, profile=spec.profile,
                        consumers=postgres_consumers(spec), backup=_store_settings(spec))


def check_component(spec: PlatformSpec, component: str) -> None:
    """`component` is one this platform backs up, or a BackupError naming the choices."""
    available = available_components(spec)
    if not spec.backups_on():
        raise BackupError(f"{spec.name} runs no backups (backup.enabled is off on the {spec.profile} profile); set "
                          "backup.enabled: true in omgml.yaml and deploy before backing up or restoring")
    if component not in available:
        raise BackupError(f"no component {component!r} is backed up here; choose one of {', '.join(available)}")


def available_components(spec: PlatformSpec) -> list[str]:
    out = list(dumped_stores(spec))
    if versioned_buckets(spec):
        out.append(OBJECT_STORE)
    return out


def job_namespace(spec: PlatformSpec, component: str) -> str:
    return spec.phases.training.kubeflow.namespace if component == KFP_MYSQL else spec.phases.foundation.namespace


def cronjob_name(spec: PlatformSpec, component: str) -> str:
    from omgml.components.kubeflow.pipelines import mysql_backup_names
    from omgml.components.postgres import backup_names

    return mysql_backup_names(spec.name).cronjob if component == KFP_MYSQL else backup_names("postgres").cronjob


def list_job(spec: PlatformSpec, component: str | None) -> tuple[str, JsonDict]:
    """(namespace, Job spec) listing the backups: the agent as the Postgres backup's account (or
    KFP's when Postgres is not backed up here)."""
    from omgml.components.backup.jobs import agent_job
    from omgml.components.kubeflow.pipelines import mysql_backup_names
    from omgml.components.postgres import backup_names

    stores = dumped_stores(spec)
    if not stores:
        raise BackupError(f"{spec.name} dumps no database (backup.enabled off, or only managed databases); "
                          "nothing to list")
    settings = _store_settings(spec)
    env_component = [] if component is None else [component]
    if POSTGRES in stores:
        names = backup_names("postgres")
        ns = spec.phases.foundation.namespace
    else:
        names = mysql_backup_names(spec.name)
        ns = spec.phases.training.kubeflow.namespace
    spec_ = agent_job(names, settings, ["list"], "list")
    if env_component:
        for c in spec_["template"]["spec"]["containers"]:
            c["env"] = [e for e in c["env"] if e["name"] != "BACKUP_COMPONENT"] + [
                {"name": "BACKUP_COMPONENT", "value": env_component[0]}]
    else:
        for c in spec_["template"]["spec"]["containers"]:
            c["env"] = [e for e in c["env"] if e["name"] != "BACKUP_COMPONENT"]
    return ns, spec_


def restore_job_for(spec: PlatformSpec, component: str, backup_id: str, *, dry_run: bool,
                    force: bool) -> tuple[str, JsonDict]:
    """(namespace, Job spec) restoring `backup_id` into `component`."""
    check_component(spec, component)
    check_backup_id(backup_id, component)
    if component == POSTGRES:
        from omgml.components.postgres import resolve_consumers, restore_job_spec

        args = _postgres_args(spec)
        return spec.phases.foundation.namespace, restore_job_spec(args, resolve_consumers(args), backup_id,
                                                                  dry_run=dry_run, force=force)
    if component == KFP_MYSQL:
        from omgml.components.kubeflow.pipelines import mysql_restore_job

        return (spec.phases.training.kubeflow.namespace,
                mysql_restore_job(spec.name, _store_settings(spec), backup_id, dry_run=dry_run, force=force))
    from omgml.components.backup.jobs import agent_job
    from omgml.components.postgres import backup_names

    argv = ["restore-buckets", backup_id.rpartition("/")[2], *(["--dry-run"] if dry_run else []),
            *(["--force"] if force else [])]
    return spec.phases.foundation.namespace, agent_job(backup_names("postgres"), _store_settings(spec), argv,
                                                       "restore-buckets")


def check_backup_id(backup_id: str, component: str) -> str:
    """The stamp of `backup_id` (`<component>/<stamp>` or `<stamp>`): one line naming the fix
    when it is malformed. The object store restores to a point in time, any backup's stamp."""
    import datetime as dt

    comp, _, stamp = backup_id.rpartition("/")
    if comp and comp != component and component != OBJECT_STORE:
        raise BackupError(f"--from {backup_id!r} is a backup of {comp!r}, not {component!r}; pick one from "
                          "`omgml backup list`")
    try:
        dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise BackupError(f"--from {backup_id!r} is not a backup id (<component>/YYYYmmddTHHMMSSZ, e.g. "
                          f"{component}/20261206T020000Z); `omgml backup list` shows them") from None
    return stamp


# --- running them ------------------------------------------------------------------------------
def run_job(cluster: Cluster, namespace: str, base: str, spec: JsonDict, labels: dict[str, str],
            timeout: float, say: Callable[[str], None]) -> JobRun:
    name = k8s_name(base, time.strftime("%H%M%S"), secrets.token_hex(2))
    cluster.create_job(namespace, name, spec, labels)
    say(f"job {namespace}/{name} created; waiting (up to {timeout:.0f}s)")
    status = cluster.wait_job(namespace, name, timeout)
    return JobRun(namespace, name, status, cluster.job_output(namespace, name))


def list_backups(spec: PlatformSpec, connect: Callable[[], Cluster], component: str | None, timeout: float,
                 say: Callable[[str], None]) -> list[JsonDict]:
    """The complete backups (manifests), after checking the input: `connect` is called last."""
    if component is not None:
        check_component(spec, component)
    ns, job = list_job(spec, component)
    run = run_job(connect(), ns, "backup-list", job, {"omgml.dev/backup-task": "list"}, timeout, say)
    if run.status != "succeeded":
        raise BackupError(run.error_line() or f"listing the backups failed ({run.status}); job log:\n{run.log()}")
    return run.json_lines()


def backup_now(spec: PlatformSpec, connect: Callable[[], Cluster], component: str, timeout: float,
               say: Callable[[str], None]) -> JobRun:
    check_component(spec, component)
    if component == OBJECT_STORE:
        raise BackupError("the object store is versioned, not dumped: every write is kept; back up postgres or "
                          "kfp-mysql instead")
    ns, name = job_namespace(spec, component), cronjob_name(spec, component)
    cluster = connect()
    cron = cluster.cronjob(ns, name)
    if cron is None:
        raise BackupError(f"no CronJob {ns}/{name} in the cluster; deploy the platform with backups on "
                          "(`omgml up`) first")
    template = cron["spec"]["jobTemplate"]
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    run = run_job(cluster, ns, name, template["spec"], labels, timeout, say)
    if run.status != "succeeded":
        raise BackupError(run.error_line() or f"the backup Job {ns}/{run.name} {run.status}; its log:\n{run.log()}")
    return run


def restore(spec: PlatformSpec, connect: Callable[[], Cluster], component: str, backup_id: str, *, dry_run: bool,
            force: bool, timeout: float, say: Callable[[str], None]) -> JobRun:
    """Restore `backup_id` into `component`; bad input fails before `connect` is called."""
    ns, job = restore_job_for(spec, component, backup_id, dry_run=dry_run, force=force)
    run = run_job(connect(), ns, f"{component}-restore", job, {"omgml.dev/restore-of": component}, timeout, say)
    if run.status == "succeeded":
        return run
    codes = run.exit_codes()
    line = run.error_line()
    if REFUSED in codes.values():
        raise BackupError(line or "the restore refused to overwrite data; re-run with --force")
    if line:
        raise BackupError(f"{line} (nothing was restored)" if codes.get("fetch") not in (0, None) else line)
    raise BackupError(f"the restore Job {ns}/{run.name} {run.status}; its log:\n{run.log()}")


# --- the real cluster --------------------------------------------------------------------------
class KubeCluster:
    """The Cluster protocol over the Kubernetes API (kubeconfig, optional context)."""

    def __init__(self, context: str | None = None) -> None:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        try:
            config.load_kube_config(context=context)
        except (ConfigException, FileNotFoundError) as exc:
            raise BackupError(f"cannot load the kubeconfig{f' context {context!r}' if context else ''} ({exc}); "
                              "point KUBECONFIG at the platform's cluster or pass --context") from None
        self.batch = client.BatchV1Api()
        self.core = client.CoreV1Api()

    def create_job(self, namespace: str, name: str, spec: JsonDict, labels: dict[str, str]) -> None:
        body = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}
        self.batch.create_namespaced_job(namespace, body)

    def wait_job(self, namespace: str, name: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.batch.read_namespaced_job_status(name, namespace).status
            if status.succeeded:
                return "succeeded"
            if status.failed:
                return "failed"
            time.sleep(3)
        return "timeout"

    def job_output(self, namespace: str, name: str) -> list[tuple[str, int | None, str]]:
        out: list[tuple[str, int | None, str]] = []
        pods = self.core.list_namespaced_pod(namespace, label_selector=f"job-name={name}").items
        for pod in pods:
            statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
            for st in statuses:
                term = st.state.terminated if st.state else None
                try:
                    text = self.core.read_namespaced_pod_log(pod.metadata.name, namespace, container=st.name)
                except Exception as exc:  # the log of a container that never started
                    text = f"(no log: {exc})"
                out.append((st.name, term.exit_code if term else None, text))
        return out

    def cronjob(self, namespace: str, name: str) -> JsonDict | None:
        from kubernetes.client.exceptions import ApiException

        try:
            obj = self.batch.read_namespaced_cron_job(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(self.batch.api_client.sanitize_for_serialization(obj))
