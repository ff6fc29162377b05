"""Image adapters: what each image omgml renders provides, stood in by the tier's software.

An adapter says, per image: which software piece runs (tests/conformance/software.toml), the
image's ENTRYPOINT/CMD (translated where the image's own script does the work: then the run is
"adapted"), its default user and the users its /etc/passwd knows, its ENV, and which of its paths
must exist (bound from the installed piece). Everything the container's command names on its own
(`command:`/`args:` in the manifest) runs unchanged.

Images whose software no registry here has are skipped with the reason, never passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conformance.harness.fixtures import FIXTURE_IMAGE
from tests.conformance.harness.runner import SCRIPTS_MOUNT, Skip
from tests.conformance.harness.sandbox import ImageRuntime, LayerFile
from tests.conformance.harness.software import Installed, Unavailable, load_pins, locate

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BASE_USERS = ("root:x:0:0:root:/root:/bin/sh", "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin")
BASE_GROUPS = ("root:x:0:", "nogroup:x:65534:")
# The test's own pods (clients): `conformance/client:<piece>` runs that piece's Python.
CLIENT_PREFIX = "conformance/client:"


@dataclass(frozen=True)
class ImageUser:
    name: str
    uid: int
    gid: int
    home: str


def passwd_files(users: tuple[ImageUser, ...]) -> tuple[LayerFile, LayerFile]:
    """The image's /etc/passwd and /etc/group (the host's own users are never visible)."""
    passwd = [*BASE_USERS, *(f"{u.name}:x:{u.uid}:{u.gid}::{u.home}:/bin/sh" for u in users)]
    groups = [*BASE_GROUPS, *dict.fromkeys(f"{u.name}:x:{u.gid}:" for u in users)]
    return LayerFile("/etc/passwd", "\n".join(passwd) + "\n"), LayerFile("/etc/group", "\n".join(groups) + "\n")


def _interpreter_binds(inst: Installed) -> tuple[tuple[str, str], ...]:
    """A venv's interpreter lives in its base installation (pyvenv.cfg `home`): bind that too."""
    cfg = inst.root / "venv" / "pyvenv.cfg"
    if inst.python is None or not cfg.exists():
        return ()
    home = next((line.split("=", 1)[1].strip() for line in cfg.read_text().splitlines()
                 if line.split("=", 1)[0].strip() == "home"), "")
    if not home:
        return ()
    prefix = str(Path(home).parent)
    return ((prefix, prefix),)


def _path(inst: Installed, *extra: str) -> str:
    return ":".join([*(str(p) for p in inst.path), *extra, DEFAULT_PATH])


def _need(name: str) -> Installed:
    found = locate(name)
    if isinstance(found, Unavailable):
        raise Skip(f"{name} {found.version}: {found.reason}")
    return found


def _note(name: str) -> str:
    piece = load_pins().pieces[name]
    return str(piece.table.get("differs", "")).strip()


def _postgres_clients() -> tuple[tuple[str, ...], str]:
    """The image's 18.6 client tools (pg_dump, pg_restore, psql, pg_isready) when the optional
    postgres-client piece is installed: first on PATH, before Debian's 15 (pg_dump 15 refuses
    an 18 server). Without it the backup Jobs fail with that refusal, visibly."""
    found = locate("postgres-client")
    if isinstance(found, Unavailable):
        return (), f" Client tools: Debian's 15 (postgres-client piece: {found.reason})."
    return tuple(str(p) for p in found.path), " Client tools: " + _note("postgres-client")


def postgres(image: str) -> ImageRuntime:
    inst = _need("postgres")
    users = (ImageUser("postgres", 70, 70, "/var/lib/postgresql"),)
    clients, clients_note = _postgres_clients()
    return ImageRuntime(
        image, "postgres", inst.version, "adapted",
        _note("postgres") + " The image's docker-entrypoint.sh (initdb from POSTGRES_* env, pg_hba) is the "
        "tier's adapter tests/conformance/pod_scripts/postgres_entrypoint.py. LANG is C.UTF-8 (glibc has no "
        "en_US.utf8 here; the image's musl accepts any name)." + clients_note,
        entrypoint=("python3", f"{SCRIPTS_MOUNT}/postgres_entrypoint.py"), cmd=("postgres",),
        env=(("PATH", _path(inst, *clients)), ("PGDATA", "/var/lib/postgresql/18/docker"), ("LANG", "C.UTF-8")),
        user=0, files=passwd_files(users), dirs=(("/var/lib/postgresql", 70, 0o755), ("/var/run/postgresql", 70, 0o3777)))


def redis(image: str) -> ImageRuntime:
    inst = _need("redis")
    users = (ImageUser("redis", 999, 1000, "/home/redis"),)
    return ImageRuntime(
        image, "redis", inst.version, "exact", _note("redis"),
        entrypoint=("redis-server",), cmd=(), env=(("PATH", _path(inst)),), user=0, workdir="/data",
        files=passwd_files(users), dirs=(("/data", 999, 0o755),))


def kafka(image: str) -> ImageRuntime:
    inst = _need("kafka")
    users = (ImageUser("appuser", 1000, 1000, "/home/appuser"),)
    return ImageRuntime(
        image, "kafka", inst.version, "adapted",
        _note("kafka") + " Adapter: tests/conformance/pod_scripts/kafka_run.py runs Kafka's own "
        "kafka.docker.KafkaDockerWrapper, as the image's launch script does.",
        cmd=("python3", f"{SCRIPTS_MOUNT}/kafka_run.py"),
        env=(("PATH", _path(inst, "/opt/kafka/bin")),), user=1000, group=1000, workdir="/",
        binds=((str(inst.root / "bin"), "/opt/kafka/bin"), (str(inst.root / "libs"), "/opt/kafka/libs")),
        files=passwd_files(users),
        dirs=(("/var/lib/kafka/data", 1000, 0o775), ("/etc/kafka/docker", 1000, 0o775),
              ("/etc/kafka/secrets", 1000, 0o775), ("/mnt/shared/config", 1000, 0o775),
              ("/opt/kafka/config", 1000, 0o755), ("/opt/kafka/logs", 1000, 0o755), ("/home/appuser", 1000, 0o755)))


def seaweedfs(image: str) -> ImageRuntime:
    inst = _need("seaweedfs")
    return ImageRuntime(
        image, "seaweedfs", inst.version, "exact",
        _note("seaweedfs") + " The image's curl (used by the bucket Job) is Debian's.",
        entrypoint=("/entrypoint.sh",), env=(("PATH", _path(inst)),), user=0,
        binds=((str(inst.bins["weed"]), "/usr/bin/weed"),), files=passwd_files(()))


def prometheus_binary(piece: str, binary: str, workdir: str, adapted: bool = False) -> Callable[[str], ImageRuntime]:
    """The prom/* images: one static binary at /bin/<name> as ENTRYPOINT, USER nobody."""

    def runtime(image: str) -> ImageRuntime:
        inst = _need(piece)
        note = _note(piece)
        entrypoint: tuple[str, ...] = (f"/bin/{binary}",)
        if adapted:
            note += (" Kubernetes service discovery becomes file discovery with the same __meta_kubernetes_* labels "
                     "(tests/conformance/harness/kubernetes_sd.py): the tier has no API server.")
            entrypoint = ("python3", f"{SCRIPTS_MOUNT}/prometheus_entry.py")
        return ImageRuntime(image, piece, inst.version, "adapted" if adapted else "exact", note.strip(),
                            entrypoint=entrypoint, env=(("PATH", _path(inst)),), user=65534, group=65534,
                            workdir=workdir, binds=((str(inst.bins[binary]), f"/bin/{binary}"),),
                            files=passwd_files(()), dirs=((workdir, 65534, 0o755),))

    return runtime


def evidently(image: str) -> ImageRuntime:
    """evidently/evidently-service: `pip install .` of the release on a Python base; ENTRYPOINT
    `evidently ui --host 0.0.0.0`, WORKDIR /app, no USER."""
    inst = _need("evidently")
    return ImageRuntime(image, "evidently", inst.version, "exact", _note("evidently"),
                        entrypoint=("evidently", "ui", "--host", "0.0.0.0"),
                        env=(("PATH", _path(inst)), *inst.env.items()), user=0, workdir="/app",
                        files=passwd_files(()), binds=_interpreter_binds(inst), dirs=(("/app", 0, 0o755),))


def python_app(piece: str, home: str = "/root") -> Callable[[str], ImageRuntime]:
    """Images that are a Python distribution on a python:3.x base (MLflow, Feast, …)."""

    def runtime(image: str) -> ImageRuntime:
        inst = _need(piece)
        return ImageRuntime(image, piece, inst.version, "exact", _note(piece),
                            env=(("PATH", _path(inst)), *inst.env.items()), user=0, files=passwd_files(()),
                            binds=_interpreter_binds(inst))

    return runtime


def airflow(image: str) -> ImageRuntime:
    """apache/airflow: USER airflow (50000, group 0), AIRFLOW_HOME=/opt/airflow (group-writable),
    ENTRYPOINT dumb-init + /entrypoint, which checks the metadata DB connection (when one is
    configured) and then runs the command. Every rendered container sets `command`; the task pods
    the KubernetesExecutor creates set `args` only, which the tier runs directly."""
    inst = _need("airflow")
    users = (ImageUser("airflow", 50000, 0, "/home/airflow"),)
    return ImageRuntime(
        image, "airflow", inst.version, "adapted",
        _note("airflow") + " The image's /entrypoint (a DB connection check before the command) is not run: "
        "containers run their command directly (the rendered ones wait for migrations in an init container).",
        env=(("PATH", _path(inst)), ("AIRFLOW_HOME", "/opt/airflow"), ("AIRFLOW_USER_HOME_DIR", "/home/airflow"),
             *inst.env.items()),
        user=50000, group=0, workdir="/opt/airflow", files=passwd_files(users), binds=_interpreter_binds(inst),
        dirs=(("/opt/airflow", 50000, 0o775), ("/opt/airflow/dags", 50000, 0o775), ("/opt/airflow/logs", 50000, 0o775),
              ("/home/airflow", 50000, 0o755)))


def prefect(image: str) -> ImageRuntime:
    """prefecthq/prefect (and its -kubernetes flavour): no USER, WORKDIR /opt/prefect, ENTRYPOINT
    tini + /opt/prefect/entrypoint.sh, which pip-installs EXTRA_PIP_PACKAGES (none here) and then
    runs the command. The flow-run Job sets `args` only, which the tier runs directly."""
    inst = _need("prefect")
    return ImageRuntime(
        image, "prefect", inst.version, "adapted",
        _note("prefect") + " The image's entrypoint.sh (EXTRA_PIP_PACKAGES, unset here) is not run; both "
        "image flavours are the one piece (prefect with prefect-kubernetes); git is Debian's.",
        env=(("PATH", _path(inst)), *inst.env.items()), user=0, workdir="/opt/prefect", files=passwd_files(()),
        binds=_interpreter_binds(inst), dirs=(("/opt/prefect", 0, 0o755),))


def outside(image: str) -> ImageRuntime:
    """The tier's own outside systems (fixtures.py): Debian's Python and git, nothing of an image."""
    import subprocess

    version = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.split()[-1]
    return ImageRuntime(image, "tier fixture (Debian python3, git)", version, "exact", "", user=1000, group=1000,
                        files=passwd_files(()))


OMGML_CLI_IMAGE = "conformance/omgml-cli"
REPO_ROOT = Path(__file__).resolve().parents[3]


def omgml_cli(image: str) -> ImageRuntime:
    """A user's shell with omgml installed (the tier's own venv): day-two commands run in a pod."""
    import sys

    version = subprocess_version()
    venv_bin = str(Path(sys.executable).parent)
    return ImageRuntime(image, "omgml (this checkout)", version, "exact", "", user=1000, group=1000,
                        env=(("PATH", f"{venv_bin}:{DEFAULT_PATH}"),), files=passwd_files(
                            (ImageUser("client", 1000, 1000, "/tmp"),)),
                        # The checkout (an editable install: the venv and the sources) and its Python.
                        binds=((str(REPO_ROOT), str(REPO_ROOT)), (sys.base_prefix, sys.base_prefix)))


def subprocess_version() -> str:
    from omgml import __version__

    return __version__


def katib_db_manager(image: str) -> ImageRuntime:
    """The db-manager image: the Go binary in /app on Alpine, WORKDIR /app, ENTRYPOINT
    ./katib-db-manager, no USER (the manifest sets the uid)."""
    inst = _need("katib-db-manager")
    return ImageRuntime(image, "katib-db-manager", inst.version, "exact", _note("katib-db-manager"),
                        entrypoint=("./katib-db-manager",), env=(("PATH", _path(inst)),), user=0, workdir="/app",
                        binds=((str(inst.bins["katib-db-manager"]), "/app/katib-db-manager"),),
                        files=passwd_files(()), dirs=(("/app", 0, 0o755),))


def torchserve(image: str) -> ImageRuntime:
    """pytorch/torchserve: TorchServe (Java frontend, Python workers) with its Python on PATH,
    USER model-server (1000), WORKDIR /home/model-server."""
    inst = _need("torchserve")
    users = (ImageUser("model-server", 1000, 1000, "/home/model-server"),)
    return ImageRuntime(image, "torchserve", inst.version, "exact", _note("torchserve"),
                        entrypoint=("/usr/local/bin/dockerd-entrypoint.sh",), cmd=("serve",),
                        env=(("PATH", _path(inst)), *inst.env.items()), user=1000, group=1000,
                        workdir="/home/model-server", files=passwd_files(users),
                        binds=_interpreter_binds(inst), dirs=(("/home/model-server", 1000, 0o755),))


def client(image: str) -> ImageRuntime:
    piece = image.removeprefix(CLIENT_PREFIX)
    inst = _need(piece)
    return ImageRuntime(image, piece, inst.version, "exact", "", env=(("PATH", _path(inst)), *inst.env.items()),
                        user=1000, group=1000, files=passwd_files((ImageUser("client", 1000, 1000, "/tmp"),)),
                        binds=_interpreter_binds(inst))


# Image repository (without tag) → adapter.
ADAPTERS: dict[str, Callable[[str], ImageRuntime]] = {
    "postgres": postgres,
    "redis": redis,
    "apache/kafka": kafka,
    "ghcr.io/chrislusf/seaweedfs": seaweedfs,
    "ghcr.io/mlflow/mlflow": python_app("mlflow"),
    "quay.io/feastdev/feature-server": python_app("feast"),
    "prom/prometheus": prometheus_binary("prometheus", "prometheus", "/prometheus", adapted=True),
    "prom/alertmanager": prometheus_binary("alertmanager", "alertmanager", "/alertmanager"),
    "prom/pushgateway": prometheus_binary("pushgateway", "pushgateway", "/"),
    "evidently/evidently-service": evidently,
    "apache/airflow": airflow,
    "prefecthq/prefect": prefect,
    "amazon/aws-cli": python_app("awscli"),
    "ghcr.io/optuna/optuna-dashboard": python_app("optuna-dashboard"),
    "ghcr.io/kubeflow/katib/katib-db-manager": katib_db_manager,
    "pytorch/torchserve": torchserve,
    # The data-quality runner image omgml's Dockerfile builds (python base, GX Core, pyarrow).
    "omgml.local/data-quality": python_app("data-quality"),
}
# Images no registry here can provide: the reason stands in the summary (checked 2026-12-06).
KFP_REFUSED = ("the KFP backend's Go module github.com/kubeflow/pipelines is refused by the Go module proxy "
               "(403 Forbidden: This module version is not available) and the image is in no registry here")
KATIB_NEEDS_API = ("Katib's controller and UI act only through a Kubernetes API server (experiments, trials and "
                   "suggestions are custom resources), which this tier does not run; their Go module "
                   "github.com/kubeflow/katib v0.19.0 is served by the Go module proxy")
NOT_OBTAINABLE: dict[str, str] = {
    "nvcr.io/nvidia/tritonserver": "Triton is a C++ server shipped only as NGC images; no registry here has it",
    "tensorflow/serving": "TF Serving is a C++ server shipped only as images; no registry here has it",
    "nvcr.io/nvidia/k8s-device-plugin": "needs a GPU and the kubelet's device-plugin socket",
    "ghcr.io/kubeflow/kfp-api-server": KFP_REFUSED,
    "ghcr.io/kubeflow/kfp-persistence-agent": KFP_REFUSED,
    "ghcr.io/kubeflow/kfp-scheduled-workflow-controller": KFP_REFUSED,
    "ghcr.io/kubeflow/kfp-frontend": KFP_REFUSED + " (the UI is built from the same repository, not published to npm)",
    "ghcr.io/kubeflow/kfp-metadata-envoy": "Envoy: no Debian package, no Go module build of the proxy",
    "gcr.io/tfx-oss-public/ml_metadata_store_server": "ML Metadata's gRPC server is a C++ binary shipped only as an image",
    "quay.io/argoproj/workflow-controller": ("Argo's controller acts only through a Kubernetes API server, which this "
                                             "tier does not run (the e2e tier applies its objects to a real one)"),
    "grafana/grafana": ("the Go module github.com/grafana/grafana is refused by the Go module proxy (403 Forbidden: "
                        "This module version is not available) and the image is in no registry here"),
    "mysql": "MySQL 8.4 is in no registry here (Debian 12 ships MariaDB 10.11, which KFP does not support)",
    "ghcr.io/kubeflow/katib/katib-controller": KATIB_NEEDS_API,
    "ghcr.io/kubeflow/katib/katib-ui": KATIB_NEEDS_API,
    "apache/spark": ("the batch scoring driver runs spark-submit against the Kubernetes API (client mode, executors "
                     "as pods), which this tier does not run; test_batch_scoring.py runs its score.py with PySpark "
                     "4.1.2 from PyPI in local mode instead"),
    "haproxy": ("the A/B router runs in test_router.py on Debian's HAProxy 2.6.12 between stand-in backends (its "
                "variants are Triton servers, which cannot run here)"),
}


def repository(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[0] if ":" in last else name


def runtime_for(image: str) -> ImageRuntime:
    if image.startswith(CLIENT_PREFIX):
        return client(image)
    if image == FIXTURE_IMAGE:
        return outside(image)
    if image == OMGML_CLI_IMAGE:
        return omgml_cli(image)
    repo = repository(image)
    if repo in ADAPTERS:
        return ADAPTERS[repo](image)
    if repo in NOT_OBTAINABLE:
        raise Skip(NOT_OBTAINABLE[repo])
    raise Skip(f"no adapter for {repo} yet")
