"""Apache Kafka in KRaft mode (no ZooKeeper) without an operator: one StatefulSet whose pods are
combined controller + broker nodes, a headless Service for their identities, a bootstrap
Service for clients, and an optional re-runnable Job that creates the declared topics."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, require_between
from omgml.components.contracts import KafkaEndpoint
from omgml.components.credentials import derived_id
from omgml.components.options import Children, keeps_data
from omgml.components.stateful import StatefulServerArgs, check_stateful_server_args, stateful_server
from omgml.labels import selector_labels, standard_labels
from omgml.naming import ServerNames, k8s_name, service_host
from omgml.spec.common import CredentialSource, Profile
from omgml.spec.foundation import TopicSpec

TYPE_TOKEN = "omgml:data:Kafka"

# Official Apache image (JVM build; kafka.apache.org/44 docs `docker pull apache/kafka:4.4.0`).
IMAGE = "apache/kafka:4.4.0"
VERSION = "4.4.0"
# `appuser`, the first user the Alpine-based image creates.
UID = 1000
CLIENT_PORT = 9092
CONTROLLER_PORT = 9093
DATA_MOUNT = "/var/lib/kafka/data"
# A subdirectory: the volume root may hold ext4's lost+found, which Kafka would take for a
# broken log directory.
LOG_DIRS = f"{DATA_MOUNT}/logs"
LOG4J_DIR = "/etc/omgml/kafka"
APP = "kafka"
MAX_BROKERS = 9


@dataclass(frozen=True, kw_only=True)
class KafkaArgs(StatefulServerArgs):
    instance: str = "kafka"
    brokers: int
    topics: tuple[TopicSpec, ...] = ()
    # existing: nothing random may be created, so the cluster id is derived from names instead.
    credentials: CredentialSource = "generated"


@dataclass(frozen=True)
class KafkaSizing:
    size: kube.Size  # per broker
    heap_mib: int


SIZING = sizes.rows("kafka", KafkaSizing)
# kafka-topics.sh is a short-lived JVM.
TOPICS_JOB_SIZE = kube.Size("100m", "256Mi", "500m", "384Mi")
TOPICS_JOB_HEAP_MIB = 128


def kafka_brokers(spec_brokers: int | None, profile: Profile) -> int:
    """Broker count: the spec's, else 1 on a laptop and 3 (a quorum that survives one loss) elsewhere."""
    if spec_brokers is not None:
        return spec_brokers
    return 1 if profile == "laptop" else 3


@dataclass(frozen=True)
class Replication:
    default_replication_factor: int
    min_insync_replicas: int


def kafka_replication(brokers: int) -> Replication:
    """Replication that the broker count can honour: 3 copies (2 in sync) from three brokers up;
    fewer brokers get as many copies as there are brokers and need only one in sync."""
    if brokers < 1:
        raise ValueError(f"kafka brokers={brokers} must be at least 1")
    rf = min(brokers, 3)
    return Replication(rf, 2 if rf >= 3 else 1)


@dataclass(frozen=True, kw_only=True)
class KafkaNames(ServerNames):
    bootstrap: str
    pdb: str
    log4j: str
    topics_job: str
    topics_service_account: str


def kafka_names(instance: str) -> KafkaNames:
    return KafkaNames.of(
        instance,
        # Not plain "kafka": a Service of that name makes Kubernetes inject KAFKA_PORT=tcp://…
        # into pods with service links, which the image would turn into a bogus property.
        bootstrap=k8s_name(instance, "bootstrap"),
        pdb=k8s_name(instance),
        log4j=k8s_name(instance, "log4j"),
        topics_job=k8s_name(instance, "topics"),
        topics_service_account=k8s_name(instance, "topics"),
    )


def pod_host(args: KafkaArgs, ordinal: int) -> str:
    names = kafka_names(args.instance)
    return f"{names.statefulset}-{ordinal}.{names.headless}.{args.namespace}.svc.cluster.local"


def quorum_voters(args: KafkaArgs) -> str:
    """Static KRaft voters `id@host:port`, one per pod; node ids are the pod ordinals.

    The image formats storage for a static quorum, so the voter set is fixed when the cluster
    is first created: changing `brokers` later is a manual KRaft reconfiguration, not an update.
    """
    return ",".join(f"{i}@{pod_host(args, i)}:{CONTROLLER_PORT}" for i in range(args.brokers))


def bootstrap_servers(args: KafkaArgs) -> str:
    return f"{service_host(kafka_names(args.instance).bootstrap, args.namespace)}:{CLIENT_PORT}"


@dataclass(frozen=True)
class ResolvedTopic:
    name: str
    partitions: int
    replication_factor: int


def resolve_topics(args: KafkaArgs) -> list[ResolvedTopic]:
    return replicated_topics(args.topics, args.brokers)


def replicated_topics(topics: Sequence[TopicSpec], brokers: int) -> list[ResolvedTopic]:
    """The spec's topics with their replication factor filled in and checked against the broker
    count: one rule for the in-cluster brokers and MSK's (components/aws/msk.py)."""
    default_rf = kafka_replication(brokers).default_replication_factor
    seen: set[str] = set()
    out: list[ResolvedTopic] = []
    for i, t in enumerate(topics):
        field = f"phases.foundation.kafka.topics[{i}]"
        if t.name in seen:
            raise ValueError(f"{field}.name={t.name!r} is declared twice; remove the duplicate")
        seen.add(t.name)
        rf = t.replication_factor if t.replication_factor is not None else default_rf
        if rf > brokers:
            raise ValueError(
                f"{field}.replication_factor={rf} (topic {t.name!r}) exceeds the broker count {brokers}; "
                f"set replication_factor to at most {brokers} (or leave it unset), or raise phases.foundation.kafka.brokers"
            )
        out.append(ResolvedTopic(t.name, t.partitions, rf))
    return out


def validate_kafka_args(args: KafkaArgs) -> None:
    check_stateful_server_args("KafkaArgs", args, SIZING)
    require_between("phases.foundation.kafka.brokers", args.brokers, 1, MAX_BROKERS)


# Console only: the image's default configuration also writes rolling files under the
# container's log directory, which nothing collects and which would fill the pod's disk.
LOG4J2_YAML = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      target: SYSTEM_OUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
        additivity: false
        AppenderRef:
          - ref: STDOUT
"""


def _labels(args: KafkaArgs, component: str = "broker") -> dict[str, str]:
    return standard_labels(APP, args.instance, component, VERSION)


def _selector(args: KafkaArgs) -> dict[str, str]:
    return selector_labels(APP, args.instance, "broker")


def kafka_env(args: KafkaArgs, cluster_id: pulumi.Input[str]) -> list[kube.JsonDict]:
    """Broker settings as the image expects them: KAFKA_* variables become server properties."""
    names = kafka_names(args.instance)
    rep = kafka_replication(args.brokers)
    sizing = SIZING[args.profile]
    advertised = f"PLAINTEXT://$(POD_NAME).{names.headless}.{args.namespace}.svc.cluster.local:{CLIENT_PORT}"
    return [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        # The StatefulSet controller labels each pod with its ordinal (Kubernetes ≥ 1.28).
        {"name": "KAFKA_NODE_ID",
         "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}},
        {"name": "CLUSTER_ID", "value": cluster_id},
        kube.plain_env("KAFKA_PROCESS_ROLES", "broker,controller"),
        kube.plain_env("KAFKA_LISTENERS", f"PLAINTEXT://:{CLIENT_PORT},CONTROLLER://:{CONTROLLER_PORT}"),
        # $(POD_NAME) is expanded by the kubelet from the variable defined above.
        kube.plain_env("KAFKA_ADVERTISED_LISTENERS", advertised),
        kube.plain_env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"),
        kube.plain_env("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT"),
        kube.plain_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
        kube.plain_env("KAFKA_CONTROLLER_QUORUM_VOTERS", quorum_voters(args)),
        kube.plain_env("KAFKA_LOG_DIRS", LOG_DIRS),
        kube.plain_env("KAFKA_DEFAULT_REPLICATION_FACTOR", str(rep.default_replication_factor)),
        kube.plain_env("KAFKA_MIN_INSYNC_REPLICAS", str(rep.min_insync_replicas)),
        kube.plain_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", str(rep.default_replication_factor)),
        kube.plain_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", str(rep.default_replication_factor)),
        kube.plain_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", str(rep.min_insync_replicas)),
        kube.plain_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", str(rep.default_replication_factor)),
        kube.plain_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", str(rep.min_insync_replicas)),
        # One broker has nobody to wait for; several give late joiners a moment before rebalancing.
        kube.plain_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0" if args.brokers == 1 else "3000"),
        kube.plain_env("KAFKA_HEAP_OPTS", f"-Xms{sizing.heap_mib}m -Xmx{sizing.heap_mib}m"),
        kube.plain_env("KAFKA_LOG4J_OPTS", f"-Dlog4j2.configurationFile={LOG4J_DIR}/log4j2.yaml"),
        # The start script's default adds -loggc: ten 100 MB GC log files on the container's disk.
        kube.plain_env("EXTRA_ARGS", "-name kafkaServer"),
    ]


def kafka_statefulset(args: KafkaArgs, cluster_id: pulumi.Input[str]) -> kube.JsonDict:
    names = kafka_names(args.instance)
    sizing = SIZING[args.profile]
    container: kube.JsonDict = {
        "name": "kafka",
        "image": IMAGE,
        "env": kafka_env(args, cluster_id),
        "ports": [
            {"name": "client", "containerPort": CLIENT_PORT, "protocol": "TCP"},
            {"name": "controller", "containerPort": CONTROLLER_PORT, "protocol": "TCP"},
        ],
        "resources": sizing.size.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # A JVM per probe (kafka-broker-api-versions.sh) would be more exact but costs a core-second
        # every period; the listener being open is the signal that the broker serves.
        "startupProbe": kube.tcp_probe("client", period=10, failures=30),
        "readinessProbe": kube.tcp_probe("client", period=10, failures=3),
        "livenessProbe": kube.tcp_probe("client", period=15, failures=6),
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_MOUNT},
            # Read-only root: the image's start script writes the final server.properties into
            # /opt/kafka/config, the scripts create /opt/kafka/logs, and the JVM uses /tmp.
            {"name": "config", "mountPath": "/opt/kafka/config"},
            {"name": "logs", "mountPath": "/opt/kafka/logs"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "log4j", "mountPath": LOG4J_DIR, "readOnly": True},
        ],
    }
    # Service links would inject KAFKA_*_PORT variables that the image maps to properties
    # (restricted_pod_spec turns them off).
    pod_spec = kube.restricted_pod_spec(names.service_account, UID, [container], fs_group=UID, volumes=[
        {"name": "config", "emptyDir": {"sizeLimit": "16Mi"}},
        {"name": "logs", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "log4j", "configMap": {"name": names.log4j}},
    ], terminationGracePeriodSeconds=120)  # time for a controlled shutdown: leadership moves away first
    if args.brokers > 1:
        # Brokers on different nodes where the cluster has them, so one node loss costs one voter.
        pod_spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"labelSelector": {"matchLabels": _selector(args)},
                                "topologyKey": "kubernetes.io/hostname"},
        }]}}
    # The logging file is read at start: a change restarts the brokers.
    checksum = {"omgml.dev/config-checksum": hashlib.sha256(LOG4J2_YAML.encode()).hexdigest()[:16]}
    return kube.statefulset_spec(
        _selector(args), names.headless, kube.pod_template(_labels(args), pod_spec, checksum), replicas=args.brokers,
        data_gib=args.storage_gib, keep_data=keeps_data(args.profile),
        # All voters must start together: with OrderedReady, pod 0 waits for a quorum that the
        # pods after it would form.
        podManagementPolicy="Parallel")


def kafka_service(args: KafkaArgs, headless: bool) -> kube.JsonDict:
    if not headless:
        return kube.service_spec(_selector(args), [("client", CLIENT_PORT)])
    spec = kube.service_spec(_selector(args), [("client", CLIENT_PORT), ("controller", CONTROLLER_PORT)], headless=True)
    # Controllers must resolve each other before any of them is Ready, or the quorum never forms.
    spec["publishNotReadyAddresses"] = True
    return spec


def kafka_pdb(args: KafkaArgs) -> kube.JsonDict:
    # One broker (and one voter) at a time: a 3-voter quorum and min.insync.replicas=2 both survive it.
    return kube.pdb_spec(_selector(args))


def _topics_script(args: KafkaArgs, topics: list[ResolvedTopic]) -> str:
    lines = [
        "set -e",
        'until /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server "$BOOTSTRAP" >/dev/null 2>&1; do',
        '  echo "waiting for $BOOTSTRAP"; sleep 5',
        "done",
    ]
    for t in topics:
        # Topic names are validated ([a-zA-Z0-9._-]), so single quotes are exact.
        lines.append(
            f'/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists '
            f"--topic '{t.name}' --partitions {t.partitions} --replication-factor {t.replication_factor}"
        )
    return "\n".join(lines) + "\n"


def topics_job(args: KafkaArgs, topics: list[ResolvedTopic]) -> kube.JsonDict:
    """Creates the declared topics; `--if-not-exists` makes every run safe. The topic list is in
    the pod template, so adding a topic replaces the Job and it runs again."""
    names = kafka_names(args.instance)
    bootstrap_host = service_host(names.bootstrap, args.namespace)
    # bash's /dev/tcp: a cheap check that the brokers are still reachable, without starting a JVM.
    reachable = ["bash", "-c", f"exec 3<>/dev/tcp/{bootstrap_host}/{CLIENT_PORT}"]
    container: kube.JsonDict = {
        "name": "topics",
        "image": IMAGE,
        "command": ["bash", "-c", _topics_script(args, topics)],
        "env": [
            kube.plain_env("BOOTSTRAP", bootstrap_servers(args)),
            kube.plain_env("KAFKA_HEAP_OPTS", f"-Xmx{TOPICS_JOB_HEAP_MIB}m"),
            kube.plain_env("LOG_DIR", "/tmp/logs"),
        ],
        "resources": TOPICS_JOB_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "readinessProbe": kube.exec_probe(reachable, period=10, failures=3),
        "livenessProbe": kube.exec_probe(reachable, period=20, failures=6),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = kube.restricted_pod_spec(names.topics_service_account, UID, [container], restartPolicy="Never",
                              volumes=[{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}])
    return kube.job_spec(kube.pod_template(_labels(args, "topics"), pod), backoff_limit=6, active_deadline_seconds=900)


def resolve(args: KafkaArgs) -> list[ResolvedTopic]:
    """The checked args' topics, replication factors filled in."""
    validate_kafka_args(args)
    return resolve_topics(args)


class Kafka(Component[KafkaArgs, list[ResolvedTopic]], type_token=TYPE_TOKEN, resolve=resolve):
    endpoint: KafkaEndpoint

    def build(self, name: str, args: KafkaArgs, topics: list[ResolvedTopic], children: Children) -> pulumi.Inputs:
        names = kafka_names(args.instance)

        meta = kube.Metadata(args.namespace, lambda part: _labels(args, part), "broker")

        cluster_id: pulumi.Input[str]
        if args.credentials == "generated":
            # Generated once and kept in state: every broker formats its storage with it, so a new
            # id would orphan the existing data. 16 random bytes, base64url, as Kafka expects.
            cluster_id = random.RandomId(
                f"{name}-cluster-id", byte_length=16,
                opts=children(protect=keeps_data(args.profile)),
            ).b64_url
        else:
            # The id is no secret, it only has to stay fixed and differ between clusters: derived
            # from the namespace and instance it never changes, with no random resource in state.
            cluster_id = derived_id("kafka-cluster-id", args.namespace, args.instance)
        log4j = k8s.core.v1.ConfigMap(
            f"{name}-log4j", metadata=meta(names.log4j), data={"log4j2.yaml": LOG4J2_YAML}, opts=children())
        bootstrap, sts = stateful_server(
            name, names, meta, children, service=partial(kafka_service, args), client=("bootstrap", names.bootstrap),
            statefulset=kafka_statefulset(args, cluster_id), after=(log4j,))
        if args.brokers > 1:
            k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta(names.pdb), spec=kafka_pdb(args), opts=children())
        if topics:
            job_sa = k8s.core.v1.ServiceAccount(
                f"{name}-topics-sa", metadata=meta(names.topics_service_account, "topics"),
                automount_service_account_token=False, opts=children())
            k8s.batch.v1.Job(
                f"{name}-topics",
                metadata=kube.metadata(names.topics_job, args.namespace, _labels(args, "topics"),
                                  # A Job that failed is replaced on the next `up` instead of
                                  # being left failed.
                                  {"pulumi.com/replaceUnready": "true"}),
                spec=topics_job(args, topics),
                opts=children(sts, bootstrap, job_sa),
            )

        self.endpoint = KafkaEndpoint(bootstrap_servers=bootstrap_servers(args))
        return {"bootstrap_servers": self.endpoint.bootstrap_servers}
