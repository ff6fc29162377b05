"""The architect's pages `omgml init` writes: interfaces read from the render, failure modes with
the render's alerts, and a roadmap for exactly the deployed components."""

from __future__ import annotations

from typing import Any

import pytest

from omgml.architect import failure_modes_markdown, roadmap_markdown
from omgml.interfaces import interface_links, interfaces_markdown
from omgml.recommend import Recommendation, recommend
from omgml.spec.requirements import requirements_from_dict
from omgml.synth.render import render_platform
from omgml.templates import load_template


def workload(name: str, ns: str, env: list[dict[str, Any]], labels: dict[str, str] | None = None,
             sa: str = "default", env_from: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "env": env}
    if env_from:
        container["envFrom"] = env_from
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"metadata": {"labels": labels or {"app": name}},
                                  "spec": {"serviceAccountName": sa, "containers": [container]}}}}


def service(name: str, ns: str, ports: list[int], selector: dict[str, str] | None = None,
            external: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"port": p} for p in ports], "selector": selector or {"app": name}}
    if external:
        spec = {"type": "ExternalName", "externalName": external}
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def test_links_come_from_addresses_ports_and_the_secrets_next_to_them() -> None:
    manifests = [
        service("postgres", "data", [5432]),
        service("cache", "data", [6379]),
        service("kafka-headless", "data", [9092, 9093], selector={"app": "kafka"}),
        {"kind": "ConfigMap", "metadata": {"name": "env", "namespace": "app"},
         "data": {"CACHE_HOST": "cache.data.svc.cluster.local", "CACHE_PORT": "6379"}},
        {"kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "app",
                                                "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r1"}}},
        workload("web", "app", [
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-login", "key": "p"}}},
            {"name": "DB_URL", "value": "postgresql://u:$(DB_PASSWORD)@postgres.data.svc:5432/db"},
            {"name": "CACHE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "cache-auth", "key": "p"}}},
            {"name": "WEB_SIGNING", "valueFrom": {"secretKeyRef": {"name": "web-signing", "key": "k"}}},
            {"name": "DATA", "value": "s3://my-bucket/prefix"},
        ], sa="web", env_from=[{"configMapRef": {"name": "env"}}]),
        # A broker naming its own headless Service is not a link.
        workload("kafka", "data", [{"name": "ADV", "value": "PLAINTEXT://kafka-0.kafka-headless.data.svc:9092"}],
                 labels={"app": "kafka"}),
    ]
    links = {(lk.client, lk.peer): lk for lk in interface_links(manifests)}
    assert set(links) == {("app/web", "data/postgres"), ("app/web", "data/cache"),
                          ("app/web", "Amazon S3 (bucket my-bucket)")}
    db = links[("app/web", "data/postgres")]
    assert (db.port, db.via, db.credentials) == ("5432", "DB_URL", "db-login")
    cache = links[("app/web", "data/cache")]
    # The port comes from CACHE_PORT; the Secret named after the peer is its credential, not web's own.
    assert (cache.port, cache.credentials) == ("6379", "cache-auth")
    assert links[("app/web", "Amazon S3 (bucket my-bucket)")].credentials == "IRSA role r1"


def test_an_external_name_service_shows_where_it_points() -> None:
    manifests = [service("postgres", "data", [], external="db.x.rds.amazonaws.com"),
                 workload("app", "data", [{"name": "PGHOST", "value": "postgres.data.svc.cluster.local"}])]
    (link,) = interface_links(manifests)
    assert link.peer == "data/postgres → db.x.rds.amazonaws.com"


@pytest.fixture(scope="module")
def enterprise() -> tuple[Recommendation, list[dict[str, Any]]]:
    rec = recommend(load_template("enterprise"))
    return rec, render_platform(rec.platform).all_manifests()


def test_the_interfaces_page_of_a_real_render(enterprise: tuple[Recommendation, list[dict[str, Any]]]) -> None:
    rec, manifests = enterprise
    page = interfaces_markdown(rec.platform.name, manifests)
    assert "| `omgml-data/mlflow` | `omgml-data/postgres` | 5432 | MLFLOW_BACKEND_STORE_URI | postgres-mlflow-db |" in page
    assert "| `omgml-serving/enterprise-triton` | `omgml-data/redis` | 6379 | REDIS_HOST | redis-auth |" in page
    assert "| `omgml-serving/enterprise-triton` | `omgml-data/kafka-bootstrap` | 9092 |" in page
    assert "`omgml-data/kafka` |" not in page  # the brokers' own addresses are not links


def test_failure_modes_cover_every_deployed_component_with_the_renders_alerts(
        enterprise: tuple[Recommendation, list[dict[str, Any]]]) -> None:
    rec, manifests = enterprise
    page = failure_modes_markdown(rec, manifests)
    rows = {line.split(" | ")[1]: line for line in page.splitlines() if line.startswith("| ") and " | " in line[2:]}
    deployed = [c for ids in rec.phases.values() for c in ids]
    assert set(deployed) <= set(rows)
    assert "`TritonQueueTimeHigh`" in rows["triton"] and "`ScrapeTargetDown`" in rows["triton"]
    assert "`DataDriftDetected`" in rows["evidently"]
    # Prometheus watches restarts in the serving namespace only: the data stores have no alert.
    assert "`ContainerRestartingOften`" in rows["prometheus"]
    assert "none: no rule covers it" in rows["kafka"]


def test_managed_stores_point_at_aws_for_their_alerts() -> None:
    rec = recommend(requirements_from_dict({"name": "m", "target": "aws", "availability": "99.99"}))
    page = failure_modes_markdown(rec, render_platform(rec.platform).all_manifests())
    rds = next(line for line in page.splitlines() if line.startswith("| foundation | rds |"))
    assert "Multi-AZ failover" in rds and "CloudWatch" in rds


def test_the_roadmap_plans_the_deployed_phases_with_a_team_and_risks() -> None:
    rec = recommend(load_template("fintech"))
    page = roadmap_markdown(rec)
    assert "## MVP" in page and "one model served by triton with features from Feast" in page
    # Foundation: stores and tools plus the AWS base and the compliance evidence, by 4.5 people.
    assert "| foundation | weeks 1–" in page and "VPC, EKS, IAM and IRSA: 2 person-weeks" in page
    assert "compliance evidence (pci-dss, soc2): 2 person-weeks" in page
    assert "- security engineer: 0.5 FTE" in page and "- SRE: 1 FTE" in page
    assert "spot GPU capacity is reclaimed or unavailable" in page and "zone outage was never rehearsed" in page
    starter = roadmap_markdown(recommend(load_template("starter")))
    assert "- platform engineer: 1 FTE" in starter and "security engineer" not in starter
    assert "| training | weeks" in starter and "kubeflow-pipelines" in starter
