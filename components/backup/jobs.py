"""The backup and restore Jobs (pure manifest bodies), shared by every store that dumps.

A backup pod has two steps: the store's own image dumps into a scratch volume (init container:
pg_dump from `postgres:18.6-alpine3.24`, mysqldump from `mysql:8.4`), then the backup agent
(agent.py, run by the MLflow image's Python and boto3) uploads the files with a checksummed
manifest, applies the retention and pushes the success metrics. A restore pod runs them the
other way round: the agent fetches and verifies a backup, then the store's image loads it,
refusing a database that already holds tables unless forced, and printing what it would
replace (and nothing else) on a dry run.

Credentials: the dump step logs in with a role that can only read (Postgres: `omgml_backup`,
member of pg_read_all_data, created by the provisioning Job); the upload step has the object
store's keys (in-cluster) or its own IRSA role on the backup bucket only (aws).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources

import pulumi

from omgml import k8s as kube
from omgml.components.mlflow import IMAGE as AGENT_IMAGE
from omgml.components.mlflow import UID as AGENT_UID

AGENT_SCRIPT = "agent.py"
AGENT_DIR = "/omgml/backup"
WORK = "/work"
HEARTBEAT_CHECK = ("import os, sys, time; "
                   "sys.exit(0 if time.time() - os.path.getmtime('/tmp/backup-heartbeat') < 60 else 1)")
AGENT_SIZE = kube.Size("50m", "192Mi", "1", "512Mi")
DUMP_SIZE = kube.Size("100m", "128Mi", "1", "512Mi")
BACKUP_OF_LABEL = "omgml.dev/backup-of"
PUSHGATEWAY_PORT = 9091


@dataclass(frozen=True)
class BackupSettings:
    """Where and when one store's backups go (values may be Outputs of an earlier phase)."""

    schedule: str
    retention_days: int
    bucket: str
    endpoint_url: pulumi.Input[str]  # "" on AWS S3
    region: pulumi.Input[str]
    # The object store's key Secret in the Job's namespace; None on AWS S3 through IRSA.
    key_secret: pulumi.Input[str] | None
    pushgateway_url: str | None = None
    # Data buckets whose old versions this store's backup prunes (the object store's owner only).
    versioned_buckets: tuple[str, ...] = ()
    irsa_role_arn: pulumi.Input[str] | None = None
    scratch_gib: int = 10
    # Where the Pushgateway runs (its namespace and pod labels), for the NetworkPolicies that let
    # the backup pods push; None when the platform deploys none.
    pushgateway_namespace: str | None = None
    pushgateway_selector: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupNames:
    cronjob: str
    service_account: str
    agent_configmap: str
    component: str  # the id prefix in the bucket, e.g. "postgres"
    labels: dict[str, str] = field(default_factory=dict)


def agent_script() -> str:
    """The agent's source (agent.py of this package), mounted from a ConfigMap."""
    return resources.files(__package__).joinpath(AGENT_SCRIPT).read_text(encoding="utf-8")


def script_checksum() -> str:
    return hashlib.sha256(agent_script().encode()).hexdigest()[:16]


def agent_env(s: BackupSettings, component: str, work: str = WORK) -> list[kube.JsonDict]:
    env: list[kube.JsonDict] = [
        kube.plain_env("BACKUP_BUCKET", s.bucket),
        kube.plain_env("BACKUP_COMPONENT", component),
        {"name": "S3_ENDPOINT_URL", "value": s.endpoint_url},
        {"name": "AWS_REGION", "value": s.region},
        kube.plain_env("RETENTION_DAYS", str(s.retention_days)),
        kube.plain_env("WORK_DIR", work),
        kube.plain_env("VERSIONED_BUCKETS", " ".join(s.versioned_buckets)),
        kube.plain_env("HOME", "/tmp"),
    ]
    if s.key_secret is not None:
        env += [kube.secret_env("AWS_ACCESS_KEY_ID", s.key_secret, "AWS_ACCESS_KEY_ID"),
                kube.secret_env("AWS_SECRET_ACCESS_KEY", s.key_secret, "AWS_SECRET_ACCESS_KEY")]
    if s.pushgateway_url:
        env.append(kube.plain_env("PUSHGATEWAY_URL", s.pushgateway_url))
    return env


def agent_container(name: str, s: BackupSettings, component: str, argv: list[str], *,
                    probes: bool = True) -> kube.JsonDict:
    c: kube.JsonDict = {
        "name": name,
        "image": AGENT_IMAGE,
        "command": ["python", f"{AGENT_DIR}/{AGENT_SCRIPT}", *argv],
        "env": agent_env(s, component),
        "resources": AGENT_SIZE.resources(),
        "securityContext": {**kube.restricted_container_security_context(read_only_root=True),
                            "runAsUser": AGENT_UID, "runAsGroup": AGENT_UID},
        "volumeMounts": [{"name": "agent", "mountPath": AGENT_DIR, "readOnly": True},
                         {"name": "work", "mountPath": WORK}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    if probes:
        # A batch step serves nothing: the probes read the agent's heartbeat, so an upload wedged
        # on a dead connection is restarted instead of idling until the deadline.
        c["readinessProbe"] = kube.exec_probe(["python", "-c", HEARTBEAT_CHECK], period=30, delay=20)
        c["livenessProbe"] = kube.exec_probe(["python", "-c", HEARTBEAT_CHECK], period=30, failures=4, delay=30)
    return c


def work_volumes(names: BackupNames, s: BackupSettings) -> list[kube.JsonDict]:
    return [
        {"name": "agent", "configMap": {"name": names.agent_configmap, "defaultMode": 0o444}},
        # The dumps: on the node's disk, sized like the store's volume (a logical dump is smaller).
        {"name": "work", "emptyDir": {"sizeLimit": f"{s.scratch_gib}Gi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]


def backup_pod(names: BackupNames, s: BackupSettings, dump: kube.JsonDict, uid: int) -> kube.JsonDict:
    """The pod of one backup run: `dump` (init) writes into /work, then the agent uploads."""
    upload = agent_container("upload", s, names.component, ["upload"])
    return kube.restricted_pod_spec(names.service_account, AGENT_UID, [upload], init_containers=[dump],
                               fs_group=uid, restartPolicy="Never", volumes=work_volumes(names, s))


def backup_cronjob(names: BackupNames, s: BackupSettings, dump: kube.JsonDict, uid: int) -> kube.JsonDict:
    labels = dict(names.labels)
    template = kube.pod_template(labels, backup_pod(names, s, dump, uid), {"omgml.dev/script-checksum": script_checksum()})
    job = kube.job_spec(template, backoff_limit=2, active_deadline_seconds=6 * 3600, ttl_seconds_after_finished=7 * 86400)
    # A start missed by more than an hour waits for the next night.
    return kube.cronjob_spec(s.schedule, job, starting_deadline_seconds=3600, job_labels=labels,
                             successful_jobs_history=3)


def restore_job(names: BackupNames, s: BackupSettings, backup_id: str, loader: kube.JsonDict, uid: int, *,
                dry_run: bool) -> kube.JsonDict:
    """fetch (agent, init) → `loader` (the store's image). On a dry run only the manifest is
    fetched and the loader prints its plan."""
    fetch = agent_container("fetch", s, names.component,
                            ["fetch", backup_id, *(["--manifest-only"] if dry_run else [])], probes=False)
    pod = kube.restricted_pod_spec(names.service_account, uid, [loader], init_containers=[fetch], fs_group=uid,
                              restartPolicy="Never", volumes=work_volumes(names, s))
    labels = {**names.labels, "omgml.dev/restore-of": names.component}
    return kube.job_spec(kube.pod_template(labels, pod), backoff_limit=0, active_deadline_seconds=6 * 3600,
                    ttl_seconds_after_finished=7 * 86400)


def agent_job(names: BackupNames, s: BackupSettings, argv: list[str], purpose: str) -> kube.JsonDict:
    """A one-shot agent run (`list`, `restore-buckets`) as the backup ServiceAccount."""
    c = agent_container("agent", s, names.component, argv, probes=False)
    # The heartbeat runs during uploads only: these short runs need no probes, but the
    # platform's policy asks every container for them, so they watch the agent's process.
    c["readinessProbe"] = kube.exec_probe(["python", "-c", "0"], period=30)
    c["livenessProbe"] = kube.exec_probe(["python", "-c", "0"], period=30, failures=6)
    pod = kube.restricted_pod_spec(names.service_account, AGENT_UID, [c], restartPolicy="Never",
                              volumes=work_volumes(names, s))
    labels = {**names.labels, "omgml.dev/backup-task": purpose}
    return kube.job_spec(kube.pod_template(labels, pod), backoff_limit=0, active_deadline_seconds=3600,
                    ttl_seconds_after_finished=86400)


def pushgateway_egress(pod_selector: dict[str, str], serving_namespace: str,
                       pushgateway_selector: dict[str, str]) -> kube.JsonDict:
    """NetworkPolicy spec in the backup's namespace: its pods may reach the Pushgateway."""
    return kube.egress_to_spec(pod_selector, [kube.namespace_peer(serving_namespace, pushgateway_selector)],
                               PUSHGATEWAY_PORT)


def pushgateway_ingress(pushgateway_selector: dict[str, str], backup_namespace: str,
                        pod_selector: dict[str, str]) -> kube.JsonDict:
    """NetworkPolicy spec in the serving namespace: the Pushgateway admits the backup pods."""
    return kube.ingress_from_spec(pushgateway_selector, [kube.namespace_peer(backup_namespace, pod_selector)],
                                  PUSHGATEWAY_PORT)
