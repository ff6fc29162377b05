"""Settings of the foundation phase: data stores, tracking and features."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from omgml.spec.base import CronSchedule, StrictModel
from omgml.spec.common import DNS_LABEL
from omgml.spec.data import DataQualitySpec, LineageSpec


class TopicSpec(StrictModel):
    name: str = Field(pattern=r"^[a-zA-Z0-9._-]{1,249}$")
    partitions: int = Field(default=3, ge=1, le=1000)
    # None: the broker count's default replication factor (1 on one broker, 3 otherwise).
    replication_factor: int | None = Field(default=None, ge=1)


class KafkaSpec(StrictModel):
    enabled: bool = True
    # None: from the sizing profile (1 on laptop, 3 otherwise).
    brokers: int | None = Field(default=None, ge=1, le=9)
    storage_gib: int = Field(default=10, ge=1)
    topics: list[TopicSpec] = Field(default_factory=list)
    managed: bool = False


class PostgresSpec(StrictModel):
    enabled: bool = True
    storage_gib: int = Field(default=10, ge=1)
    managed: bool = False


class ObjectStoreSpec(StrictModel):
    enabled: bool = True
    storage_gib: int = Field(default=20, ge=1)
    # Buckets beyond the ones the platform needs (mlflow artifacts, feast, model repository).
    extra_buckets: list[str] = Field(default_factory=list)
    managed: bool = False


class RedisSpec(StrictModel):
    enabled: bool = True
    # None: from the sizing profile.
    max_memory_mib: int | None = Field(default=None, ge=16)
    storage_gib: int = Field(default=2, ge=1)
    managed: bool = False


class MlflowSpec(StrictModel):
    enabled: bool = True
    replicas: int = Field(default=1, ge=1, le=10)


class FeatureRepoSpec(StrictModel):
    """A git repository holding the Feast feature definitions that `feast apply` registers."""

    git_url: str = Field(min_length=1)
    ref: str = Field(default="main", min_length=1)
    path: str = "."


class FeastSpec(StrictModel):
    enabled: bool = True
    online_store: Literal["redis", "none"] = "redis"
    # file: Parquet through Feast's Dask store. delta: Delta Lake tables under
    # s3://<features bucket>/delta/<table>/, read through Feast's duckdb offline store.
    # snowflake: the team's warehouse (a `data.sources` entry of kind snowflake).
    offline_store: Literal["file", "delta", "snowflake"] = "file"
    # offline_store snowflake: the source's name; None: the only snowflake source.
    snowflake_source: str | None = None
    replicas: int = Field(default=1, ge=1, le=10)
    feature_repo: FeatureRepoSpec | None = None
    # offline_store delta: the tables whose locations are prepared on the object store.
    delta_tables: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]] = Field(
        default_factory=lambda: ["features"])
    # Cron schedule of `feast materialize-incremental` into the online store (only with one);
    # None: hourly with offline_store delta, no CronJob with file.
    materialize_schedule: CronSchedule | None = None


class FoundationSpec(StrictModel):
    namespace: str = Field(default="omgml-data", pattern=DNS_LABEL)
    kafka: KafkaSpec = Field(default_factory=KafkaSpec)
    postgres: PostgresSpec = Field(default_factory=PostgresSpec)
    object_store: ObjectStoreSpec = Field(default_factory=ObjectStoreSpec)
    redis: RedisSpec = Field(default_factory=RedisSpec)
    mlflow: MlflowSpec = Field(default_factory=MlflowSpec)
    feast: FeastSpec = Field(default_factory=FeastSpec)
    data_quality: DataQualitySpec = Field(default_factory=DataQualitySpec)
    lineage: LineageSpec = Field(default_factory=LineageSpec)
