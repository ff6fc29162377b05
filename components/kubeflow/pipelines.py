"""Kubeflow Pipelines 2.17.0, standalone ("platform-agnostic"), as typed Kubernetes resources.

What runs (release.COMPONENTS): the API server, persistence agent, scheduled-workflow
controller, UI, ML Metadata gRPC server with its Envoy (gRPC-Web for the UI), the Argo Workflows
controller (v4.0.5, namespaced) and MySQL 8.4 for the pipeline and metadata databases.
What does not (release.OMITTED, each checked in the 2.17.0 sources): the v1-only cache
server and its certificate deployer, the v1 metadata writer, viewer and visualization servers,
and upstream's SeaweedFS: artifacts go to the foundation's S3-compatible store.

Two namespaces, both created by the foundation: the KFP namespace holds the control plane
(Pod Security "restricted"); the steps namespace (`user_namespace`) holds what users run —
Argo workflows, step pods, scheduled runs, training Jobs — at the level the spec chose for user
images. Upstream standalone KFP puts both in one namespace; the split uses only existing knobs:
the API server's POD_NAMESPACE (where single-user KFP submits runs), the persistence agent's
and scheduler's NAMESPACE, and Argo's --managed-namespace. Driver and launcher address
`ml-pipeline` and `metadata-grpc-service` in their own namespace, so the steps namespace gets
ExternalName Services pointing back at the control plane.

Order: the CRDs and the PriorityClass (cluster-scoped) are created first; every namespaced
child depends on them explicitly. What the caller passed in `opts.depends_on` holds for every
child through the parent (components/options.py).

AWS S3 through IRSA (`irsa_role_arns`, target aws with a managed store): the ServiceAccounts of
`s3_consumers` — API server, UI, pipeline runner — carry their own IAM roles, and every S3
client of the install is configured without keys: the API server (empty OBJECTSTORECONFIG
keys), the UI (no key variables), Argo's artifact repository (`useSDKCreds`) and the
launcher's provider (`fromEnv`); each then uses the AWS SDK's default chain, which takes the
web-identity token EKS mounts into pods of an annotated ServiceAccount. Step pods get S3 only
as `pipeline-runner`: a run submitted with another service account has no S3 role.

Static keys (the in-cluster store): the UI server reads the key Secret that artifacts' session
info names only in its own namespace, so its `get` on that one Secret is a Role in the KFP
namespace (rbac.ui_store_secret_rules); its default clients, used for download links
and archived logs, are pointed at the store's host, port and scheme (workloads.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.backup.jobs import (
    BACKUP_OF_LABEL,
    BackupNames,
    BackupSettings,
    agent_script,
    backup_cronjob,
    pushgateway_egress,
    pushgateway_ingress,
    restore_job,
)
from omgml.components.backup.stores import mysql_restore_container, mysqldump_container
from omgml.components.base import Component
from omgml.components.contracts import (
    S3Consumer,
    StoreRef,
    irsa_endpoint_error,
    irsa_roles_by_consumer,
)
from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs
from omgml.components.kubeflow.config import (
    KeySecret,
    S3Location,
    argo_artifact_repository,
    argo_executor,
    argo_workflow_defaults,
    envoy_config,
    launcher_providers,
    mysql_args,
    mysql_init_sql,
    pipeline_root,
    s3_location,
    training_env,
    ui_endpoint_rewrite,
)
from omgml.components.kubeflow.crds import ALL_CRDS
from omgml.components.kubeflow.rbac import Where, role_binding_subjects, role_specs
from omgml.components.kubeflow.release import (
    API_GRPC_PORT,
    API_HTTP_PORT,
    API_SERVICE,
    ARGO_CONFIGMAP,
    IMAGES,
    KFP_VERSION,
    LAUNCHER_CONFIGMAP,
    METADATA_ENVOY_PORT,
    METADATA_ENVOY_SERVICE,
    METADATA_GRPC_PORT,
    METADATA_GRPC_SERVICE,
    MLMD_DB,
    MYSQL_BUFFER_POOL,
    MYSQL_PORT,
    MYSQL_SECRET,
    MYSQL_SERVICE,
    MYSQL_USER,
    PIPELINE_DB,
    PIPELINE_RUNNER_SA,
    PUBLIC_CONFIGMAP,
    SIZING,
    STORE_ACCESS,
    UI_SECRET,
    UI_SERVICE,
    UI_SIGNING_KEY,
    WORKLOADS,
)
from omgml.components.kubeflow.workloads import (
    APP,
    MYSQL_DATA_DIR,
    MYSQL_UID,
    KfpPods,
    StoreView,
    api_server,
    metadata_envoy,
    metadata_grpc,
    mysql_statefulset,
    persistence_agent,
    scheduled_workflow,
    ui,
    workflow_controller,
    workload,
    workload_selector,
)
from omgml.components.options import Children, keeps_data
from omgml.labels import standard_labels
from omgml.naming import k8s_name, require_dns_label, service_host, service_url
from omgml.spec import Profile
from omgml.spec.common import CredentialSource

TYPE_TOKEN = "omgml:training:KubeflowPipelines"

TRAINING_ENV_CONFIGMAP = "omgml-training-env"
ENVOY_CONFIGMAP = "metadata-envoy-configmap"
MYSQL_INIT_CONFIGMAP = "mysql-initdb"
MYSQL_PVC = "mysql-data"
KUBE_API_POLICY = "allow-kube-apiserver"


@dataclass(frozen=True)
class KubeflowPipelinesArgs:
    namespace: str  # the control plane's namespace
    user_namespace: str  # the steps namespace: pipeline steps, training Jobs, notebooks
    profile: Profile
    store: StoreRef
    pipelines_bucket: pulumi.Input[str]
    mlflow_tracking_uri: pulumi.Input[str]  # "" when the platform has no MLflow
    mysql_storage_gib: int = 10
    # Force a non-root uid on step containers (then the namespace can enforce "restricted").
    restricted_steps: bool = False
    # CRDs are cluster singletons: a second KFP in the same cluster sets this to False.
    install_crds: bool = True
    instance: str = "kfp"
    # AWS S3 through IRSA (store.endpoint_url ""): S3 consumer name (`s3_consumers`) → IAM role
    # ARN, each annotating its ServiceAccount; no S3 client of the install then uses keys.
    irsa_role_arns: Mapping[str, pulumi.Input[str]] | None = None
    # Nightly mysqldump of the pipeline and metadata databases (None: no backups).
    backup: BackupSettings | None = None
    credentials: CredentialSource = "generated"


def s3_consumers(namespace: str, user_namespace: str, bucket_role: str) -> tuple[S3Consumer, ...]:
    """The ServiceAccounts whose pods open the object store (release.STORE_ACCESS):
    the API server and the UI in `namespace`, read-only, and the pipeline runner, which every
    step pod runs as, in `user_namespace`."""
    out: list[S3Consumer] = []
    for a in STORE_ACCESS:
        where, account = ((user_namespace, PIPELINE_RUNNER_SA) if a.workload is None
                          else (namespace, workload(a.workload).service_account))
        out.append(S3Consumer(name=a.consumer, namespace=where, service_account=account,
                              bucket_roles=(bucket_role,), read_only=a.read_only))
    return tuple(out)


@dataclass(frozen=True)
class ResolvedKfp:
    args: KubeflowPipelinesArgs
    priority_class: str
    api_endpoint: str
    keep_data: bool
    # (namespace, ServiceAccount) → IAM role ARN on IRSA; empty with static keys.
    irsa_roles: dict[tuple[str, str], pulumi.Input[str]] = field(default_factory=dict)

    @property
    def irsa(self) -> bool:
        return bool(self.irsa_roles)


OWNER = "KubeflowPipelinesArgs"


def _irsa_roles(args: KubeflowPipelinesArgs) -> dict[tuple[str, str], pulumi.Input[str]]:
    """irsa_role_arns keyed by (namespace, ServiceAccount), checked against s3_consumers."""
    consumers = s3_consumers(args.namespace, args.user_namespace, "")
    roles = irsa_roles_by_consumer(OWNER, consumers, args.irsa_role_arns, args.store.endpoint_url)
    return {(c.namespace, c.service_account): roles[c.name] for c in consumers if c.name in roles}


def store_location(endpoint_url: str, region: str, irsa: bool) -> S3Location:
    """s3_location, refusing IRSA for an endpoint that is not AWS S3 (for values only known at
    deploy time, which `resolve` cannot check)."""
    if irsa and endpoint_url:
        raise ValueError(irsa_endpoint_error(OWNER, endpoint_url))
    return s3_location(endpoint_url, region)


def resolve(args: KubeflowPipelinesArgs) -> ResolvedKfp:
    for field_name in ("namespace", "user_namespace"):
        value = getattr(args, field_name)
        require_dns_label(f"KubeflowPipelinesArgs.{field_name}", value)
    if args.namespace == args.user_namespace:
        raise ValueError(
            f"KubeflowPipelinesArgs.user_namespace: equals namespace ({args.namespace!r}); give users "
            "their own namespace so their workloads do not share KFP's RBAC"
        )
    if args.profile not in SIZING:
        raise ValueError(f"KubeflowPipelinesArgs.profile: {args.profile!r} unknown; use one of {sorted(SIZING)}")
    if args.mysql_storage_gib < 1:
        raise ValueError(f"KubeflowPipelinesArgs.mysql_storage_gib: must be ≥ 1, got {args.mysql_storage_gib}")
    return ResolvedKfp(
        args=args,
        # Cluster-scoped, so named after the namespace: two installs never share one.
        priority_class=k8s_name(args.namespace, "workflow-controller"),
        api_endpoint=service_url(API_SERVICE, args.namespace, API_HTTP_PORT),
        keep_data=keeps_data(args.profile),
        irsa_roles=_irsa_roles(args),
    )


def service_specs(p: KfpPods) -> list[tuple[str, str, kube.JsonDict]]:
    """(service name, workload name, spec) of every Service."""
    def svc(workload_name: str, ports: list[kube.JsonDict], headless: bool = False) -> kube.JsonDict:
        spec: kube.JsonDict = {"selector": workload_selector(p, workload(workload_name)), "ports": ports}
        if headless:
            spec["clusterIP"] = "None"
        return spec

    def port(name: str, number: int, target: str | None = None) -> kube.JsonDict:
        return {"name": name, "port": number, "targetPort": target or name, "protocol": "TCP"}

    return [
        (MYSQL_SERVICE, "mysql", svc("mysql", [port("mysql", MYSQL_PORT)], headless=True)),
        (METADATA_GRPC_SERVICE, "metadata-grpc-deployment",
         svc("metadata-grpc-deployment", [port("grpc-api", METADATA_GRPC_PORT)])),
        (METADATA_ENVOY_SERVICE, "metadata-envoy-deployment",
         svc("metadata-envoy-deployment", [port("grpc-web", METADATA_ENVOY_PORT)])),
        (API_SERVICE, "ml-pipeline",
         svc("ml-pipeline", [port("http", API_HTTP_PORT), port("grpc", API_GRPC_PORT)])),
        (UI_SERVICE, "ml-pipeline-ui", svc("ml-pipeline-ui", [port("http", 80, "http")])),
    ]


def external_name_services(namespace: str) -> list[tuple[str, kube.JsonDict]]:
    """Services of the steps namespace that resolve to the control plane (DNS CNAMEs)."""
    return [
        (svc, {"type": "ExternalName", "externalName": service_host(svc, namespace)})
        for svc in (API_SERVICE, METADATA_GRPC_SERVICE)
    ]


def kube_api_egress() -> kube.JsonDict:
    """Egress to the Kubernetes API server for the controllers and step pods of the namespace.

    Its address is not known at render time (kind: the control-plane container on :6443; EKS:
    control-plane ENIs in the VPC on :443), and policies see the endpoint address after the
    `kubernetes` Service is translated, so the rule allows exactly those two ports anywhere.
    """
    return kube.egress_policy_spec({}, kube.KUBE_API_PORTS)


MYSQL_IMAGE_KEY = "mysql"
BACKUP_COMPONENT = "kfp-mysql"
MYSQL_DATABASES = [PIPELINE_DB, MLMD_DB]
MYSQL_JOB_SIZE = kube.Size("50m", "128Mi", "1", "512Mi")


def mysql_backup_names(instance: str) -> BackupNames:
    return BackupNames(cronjob=k8s_name(instance, "mysql-backup"), service_account=k8s_name(instance, "mysql-backup"),
                       agent_configmap=k8s_name(instance, "backup-agent"), component=BACKUP_COMPONENT,
                       labels={**standard_labels(APP, instance, "mysql-backup", KFP_VERSION),
                               BACKUP_OF_LABEL: BACKUP_COMPONENT})


def _mysql_backup(args: KubeflowPipelinesArgs) -> BackupSettings:
    if args.backup is None:
        raise ValueError("KubeflowPipelinesArgs.backup is None: this install has no backups; set backup.enabled: true")
    return args.backup


def mysql_backup_cronjob(instance: str, backup: BackupSettings) -> kube.JsonDict:
    """The nightly mysqldump of KFP's databases as the `kfp` user, uploaded by the backup agent."""
    dump = mysqldump_container(IMAGES[MYSQL_IMAGE_KEY], MYSQL_UID, MYSQL_SERVICE, MYSQL_PORT, MYSQL_USER,
                               MYSQL_SECRET, "password", MYSQL_DATABASES, MYSQL_JOB_SIZE)
    return backup_cronjob(mysql_backup_names(instance), backup, dump, MYSQL_UID)


def mysql_restore_job(instance: str, backup: BackupSettings, backup_id: str, *, dry_run: bool,
                      force: bool) -> kube.JsonDict:
    """A Job that loads `backup_id` into KFP's MySQL (refusing tables already there unless `force`)."""
    ping = ["mysqladmin", "ping", f"--host={MYSQL_SERVICE}", "--silent"]
    loader = mysql_restore_container(IMAGES[MYSQL_IMAGE_KEY], MYSQL_UID, MYSQL_SERVICE, MYSQL_PORT, MYSQL_USER,
                                     MYSQL_SECRET, "password", MYSQL_DATABASES, dry_run=dry_run, force=force,
                                     size=MYSQL_JOB_SIZE, probe=kube.exec_probe(ping, period=20, failures=6))
    return restore_job(mysql_backup_names(instance), backup, backup_id, loader, MYSQL_UID, dry_run=dry_run)


class KubeflowPipelines(Component[KubeflowPipelinesArgs, ResolvedKfp], type_token=TYPE_TOKEN, resolve=resolve):
    """The KFP install: control plane in `args.namespace`, steps in `args.user_namespace`."""

    api_endpoint: str
    ui_service: str
    namespace: str
    pipeline_root: pulumi.Output[str]

    def build(self, name: str, args: KubeflowPipelinesArgs, r: ResolvedKfp, children: Children) -> pulumi.Inputs:
        ns, steps = args.namespace, args.user_namespace
        where: dict[Where, str] = {"kfp": ns, "steps": steps}

        # --- cluster-scoped, first ----------------------------------------------------------
        cluster: list[pulumi.Resource] = []
        if args.install_crds:
            for crd in ALL_CRDS:
                cluster.append(k8s.apiextensions.v1.CustomResourceDefinition(
                    f"{name}-crd-{crd.plural}",
                    metadata={"name": crd.name, "labels": standard_labels(APP, args.instance, "crd", KFP_VERSION)},
                    spec=kube.crd_spec(crd),
                    opts=children(),
                ))
        cluster.append(k8s.scheduling.v1.PriorityClass(
            f"{name}-priority",
            metadata={"name": r.priority_class, "labels": standard_labels(APP, args.instance, "workflow-controller")},
            value=1000000,
            global_default=False,
            description="Argo workflow controller of Kubeflow Pipelines: keep it scheduled under pressure",
            opts=children(),
        ))

        def child(*deps: pulumi.Resource, keep: bool = False) -> pulumi.ResourceOptions:
            """Every namespaced child comes after the cluster-scoped ones."""
            return children.data(*cluster, *deps) if keep else children(*cluster, *deps)

        meta = kube.Metadata(ns, lambda part: standard_labels(APP, args.instance, part))

        def account_meta(account: str, namespace: str) -> kube.JsonDict:
            # EKS's pod identity webhook gives an annotated account's pods the role's web identity.
            return kube.service_account_metadata(account, namespace, standard_labels(APP, args.instance, "rbac"),
                                            r.irsa_roles.get((namespace, account)))

        # --- values from the foundation (Outputs) ---------------------------------------------
        loc: pulumi.Output[S3Location] = pulumi.Output.all(
            pulumi.Output.from_input(args.store.endpoint_url), pulumi.Output.from_input(args.store.region),
        ).apply(lambda v: store_location(str(v[0]), str(v[1]), r.irsa))
        bucket = pulumi.Output.from_input(args.pipelines_bucket)
        secret_name = pulumi.Output.from_input(args.store.secret_name)
        access_key_key = args.store.access_key_key
        secret_key_key = args.store.secret_key_key

        def keys(name: object) -> KeySecret | None:
            return None if r.irsa else KeySecret(str(name), access_key_key, secret_key_key)

        store = StoreView(
            url=loc.apply(lambda x: x.url),
            host=loc.apply(lambda x: x.host),
            port=loc.apply(lambda x: str(x.port)),
            secure=loc.apply(lambda x: "true" if x.secure else "false"),
            region=loc.apply(lambda x: x.region),
            endpoint_rewrite=loc.apply(ui_endpoint_rewrite),
            bucket=bucket,
            secret_name=secret_name,
            access_key_key=access_key_key,
            secret_key_key=secret_key_key,
            irsa=r.irsa,
        )
        pods = KfpPods(namespace=ns, steps_namespace=steps, instance=args.instance, profile=args.profile,
                       store=store, restricted_steps=args.restricted_steps)

        # --- identities and RBAC --------------------------------------------------------------
        accounts: dict[str, pulumi.Resource] = {}
        for w in WORKLOADS:
            accounts[w.service_account] = k8s.core.v1.ServiceAccount(
                f"{name}-sa-{w.service_account}", metadata=account_meta(w.service_account, ns),
                automount_service_account_token=w.needs_api, opts=child())
        # What step pods run as (driver, launcher, argoexec and user code all use the API).
        accounts[PIPELINE_RUNNER_SA] = k8s.core.v1.ServiceAccount(
            f"{name}-sa-{PIPELINE_RUNNER_SA}", metadata=account_meta(PIPELINE_RUNNER_SA, steps),
            automount_service_account_token=True, opts=child())
        bindings: dict[str, list[pulumi.Resource]] = {}
        for rs in role_specs(None if r.irsa else secret_name):
            role = k8s.rbac.v1.Role(f"{name}-role-{rs.role}", metadata=meta(rs.role, "rbac", namespace=where[rs.where]),
                                    rules=rs.rules, opts=child())
            subject_deps = [accounts[rs.service_account]] if rs.service_account else []
            binding = k8s.rbac.v1.RoleBinding(
                f"{name}-rolebinding-{rs.role}",
                metadata=meta(f"{rs.role}-binding", "rbac", namespace=where[rs.where]),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": rs.role},
                subjects=role_binding_subjects(rs, where),
                opts=child(role, *subject_deps),
            )
            if rs.service_account:
                bindings.setdefault(rs.service_account, []).append(binding)

        # --- credentials, configuration, storage ----------------------------------------------
        db = GeneratedSecret(
            f"{name}-mysql-credentials",
            GeneratedSecretArgs(namespace=ns, secret_name=MYSQL_SECRET, password_keys=("root_password", "password"),
                                derived={"username": MYSQL_USER}, app_name=APP, instance=args.instance,
                                source=args.credentials),
            child(),
        )
        ui_secret = GeneratedSecret(
            f"{name}-ui-secrets",
            GeneratedSecretArgs(namespace=ns, secret_name=UI_SECRET, password_keys=(UI_SIGNING_KEY,),
                                app_name=APP, instance=args.instance, source=args.credentials),
            child(),
        )
        argo_cm = k8s.core.v1.ConfigMap(f"{name}-argo-config", metadata=meta(ARGO_CONFIGMAP, "workflow-controller"), data={
            "artifactRepository": pulumi.Output.all(loc, bucket, secret_name).apply(
                lambda v: argo_artifact_repository(v[0], str(v[1]), keys(v[2]))),
            "executor": argo_executor(),
            "workflowDefaults": argo_workflow_defaults(),
        }, opts=child())
        # Read by driver and launcher from the namespace they run in, and by the API server there.
        launcher_cm = k8s.core.v1.ConfigMap(f"{name}-launcher-config", metadata=meta(LAUNCHER_CONFIGMAP, "config", namespace=steps),
                                            data={
            "defaultPipelineRoot": bucket.apply(pipeline_root),
            "providers": pulumi.Output.all(loc, secret_name).apply(lambda v: launcher_providers(v[0], keys(v[1]))),
        }, opts=child())
        k8s.core.v1.ConfigMap(f"{name}-public-config", metadata=meta(PUBLIC_CONFIGMAP, "config"),
                              data={"kubeflow_pipelines_version": f"v{KFP_VERSION}"}, opts=child())
        envoy_cm = k8s.core.v1.ConfigMap(f"{name}-envoy-config", metadata=meta(ENVOY_CONFIGMAP, "metadata-envoy"),
                                         data={"envoy.yaml": envoy_config()}, opts=child())
        init_cm = k8s.core.v1.ConfigMap(f"{name}-mysql-initdb", metadata=meta(MYSQL_INIT_CONFIGMAP, "mysql"),
                                        data={"10-kfp-databases.sql": mysql_init_sql()}, opts=child())
        k8s.core.v1.ConfigMap(
            f"{name}-training-env",
            metadata=meta(TRAINING_ENV_CONFIGMAP, "training-env", namespace=steps),
            data=pulumi.Output.all(args.mlflow_tracking_uri, args.store.endpoint_url, loc, bucket, secret_name).apply(
                lambda v: training_env(str(v[0]), v[2], str(v[1]), None if r.irsa else str(v[4]), r.api_endpoint,
                                       str(v[3]))),
            opts=child(),
        )
        pvc = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-mysql-data",
            metadata=meta(MYSQL_PVC, "mysql"),
            spec=kube.claim_spec(args.mysql_storage_gib),
            # A standalone PVC (not a volumeClaimTemplate): resizing it is a patch, never a
            # StatefulSet replacement. Kept and protected outside the laptop profile.
            opts=child(keep=r.keep_data),
        )

        # --- network --------------------------------------------------------------------------
        for where_key, namespace in where.items():
            k8s.networking.v1.NetworkPolicy(f"{name}-kube-api-{where_key}",
                                            metadata=kube.with_egress_reason(meta(KUBE_API_POLICY, "network", namespace=namespace),
                                                                        kube.KUBE_API_EGRESS_REASON),
                                            spec=kube_api_egress(), opts=child())
        services = {
            workload_name: k8s.core.v1.Service(f"{name}-svc-{svc_name}", metadata=meta(svc_name, "network"),
                                               spec=spec, opts=child())
            for svc_name, workload_name, spec in service_specs(pods)
        }
        for svc_name, spec in external_name_services(ns):
            k8s.core.v1.Service(f"{name}-steps-svc-{svc_name}", metadata=meta(svc_name, "network", namespace=steps),
                                spec=spec, opts=child())

        # --- workloads ------------------------------------------------------------------------
        def deps_of(workload_name: str, *extra: pulumi.Resource) -> list[pulumi.Resource]:
            w = workload(workload_name)
            out = [accounts[w.service_account], *bindings.get(w.service_account, []), *extra]
            if workload_name in services:
                out.append(services[workload_name])
            return out

        k8s.apps.v1.StatefulSet(
            f"{name}-mysql",
            metadata=meta("mysql", "mysql"),
            spec=mysql_statefulset(pods, MYSQL_PVC, MYSQL_INIT_CONFIGMAP,
                                   mysql_args(MYSQL_DATA_DIR, MYSQL_BUFFER_POOL[args.profile],
                                              laptop=args.profile == "laptop")),
            opts=child(*deps_of("mysql", pvc, init_cm, db)),
        )
        bodies: list[tuple[str, kube.JsonDict, list[pulumi.Resource]]] = [
            ("metadata-grpc-deployment", metadata_grpc(pods), [db]),
            ("metadata-envoy-deployment", metadata_envoy(pods, ENVOY_CONFIGMAP), [envoy_cm]),
            ("workflow-controller", workflow_controller(pods, r.priority_class), [argo_cm]),
            ("ml-pipeline", api_server(pods), [db, launcher_cm, accounts[PIPELINE_RUNNER_SA]]),
            ("ml-pipeline-persistenceagent", persistence_agent(pods), []),
            ("ml-pipeline-scheduledworkflow", scheduled_workflow(pods), []),
            ("ml-pipeline-ui", ui(pods), [ui_secret]),
        ]
        for workload_name, spec, extra in bodies:
            w = workload(workload_name)
            k8s.apps.v1.Deployment(f"{name}-{workload_name}", metadata=meta(workload_name, w.component), spec=spec,
                                   opts=child(*deps_of(workload_name, *extra)))

        if args.backup is not None:
            self._mysql_backup(name, args, child, db)

        self.api_endpoint = r.api_endpoint
        self.ui_service = UI_SERVICE
        self.namespace = ns
        self.pipeline_root = bucket.apply(pipeline_root)
        return {"api_endpoint": self.api_endpoint, "ui_service": self.ui_service,
                "namespace": self.namespace}

    def _mysql_backup(self, name: str, args: KubeflowPipelinesArgs, child: Callable[..., pulumi.ResourceOptions],
                      db: pulumi.Resource) -> None:
        s = _mysql_backup(args)
        names = mysql_backup_names(args.instance)
        ns = args.namespace
        sa_meta = kube.metadata(names.service_account, ns, names.labels)
        if s.irsa_role_arn is not None:
            sa_meta["annotations"] = {"eks.amazonaws.com/role-arn": s.irsa_role_arn}
        sa = k8s.core.v1.ServiceAccount(f"{name}-mysql-backup-sa", metadata=sa_meta,
                                        automount_service_account_token=False, opts=child())
        agent = k8s.core.v1.ConfigMap(f"{name}-backup-agent", metadata=kube.metadata(names.agent_configmap, ns, names.labels),
                                      data={"agent.py": agent_script()}, opts=child())
        k8s.batch.v1.CronJob(f"{name}-mysql-backup", metadata=kube.metadata(names.cronjob, ns, names.labels),
                             spec=mysql_backup_cronjob(args.instance, s), opts=child(sa, agent, db))
        if s.pushgateway_namespace is not None:
            pods = {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": args.instance,
                    "app.kubernetes.io/component": "mysql-backup"}
            k8s.networking.v1.NetworkPolicy(
                f"{name}-mysql-backup-push", metadata=kube.metadata(k8s_name(args.instance, "mysql-backup-push"), ns,
                                                               names.labels),
                spec=pushgateway_egress(pods, s.pushgateway_namespace, s.pushgateway_selector), opts=child())
            k8s.networking.v1.NetworkPolicy(
                f"{name}-mysql-backup-pushgateway",
                metadata=kube.metadata(k8s_name(args.instance, "mysql-backup-push"), s.pushgateway_namespace, names.labels),
                spec=pushgateway_ingress(s.pushgateway_selector, ns, pods), opts=child())
