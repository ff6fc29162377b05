"""How the Airflow and Prefect component tests wire their orchestrator: the platform's
namespaces, its in-cluster object store and MLflow, and AWS S3 as the training blueprint passes
it on aws (no endpoint, a key Secret with empty values)."""

from __future__ import annotations

from omgml.components.contracts import StoreRef

DATA = "omgml-data"
ORCH = "omgml-orchestration"
STORE = StoreRef("http://objectstore.omgml-data.svc.cluster.local:8333", "us-east-1", "objectstore-s3-credentials")
MLFLOW = "http://mlflow.omgml-data.svc.cluster.local:5000"
S3 = StoreRef("", "eu-west-1", "objectstore-s3-credentials")
