"""The data layer: external sources the team already has, data quality, and lineage.

`DataSourceSpec` is shared by the requirements (`data.sources`) and the platform spec
(`data.sources`): the engine copies the stated sources into the spec unchanged. A source names
an existing Kubernetes Secret and never holds a credential itself; the Secret's keys per kind
are in SOURCE_SECRET_KEYS.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from omgml.spec.base import CronSchedule, StrictModel, raise_problems, repeated
from omgml.spec.common import DNS_LABEL

SourceKind = Literal["snowflake", "s3", "delta", "postgres"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("snowflake", "s3", "delta", "postgres")
# The keys each kind's Secret must hold (what pods read by secretKeyRef).
SOURCE_SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "snowflake": ("user", "password"),
    "s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "delta": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "postgres": ("username", "password"),
}
# Settings each kind requires, and the ones it may state; everything else is refused.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "snowflake": ("account", "warehouse", "database"),
    "s3": ("bucket",),
    "delta": ("uri",),
    "postgres": ("host", "database"),
}
_ALLOWED: dict[str, tuple[str, ...]] = {
    "snowflake": ("account", "warehouse", "database", "schema_name", "role"),
    "s3": ("bucket", "prefix", "region", "endpoint_url"),
    "delta": ("uri", "region", "endpoint_url"),
    "postgres": ("host", "port", "database", "sslmode"),
}
_SETTINGS = ("account", "warehouse", "database", "schema_name", "role", "bucket", "prefix", "region",
             "endpoint_url", "uri", "host", "port", "sslmode")
SOURCE_NAME = r"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$"
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")


class DataSourceSpec(StrictModel):
    """An external system the team already runs: its address and the Secret holding its credentials."""

    name: str = Field(pattern=SOURCE_NAME, description=(
        "The source's name (lowercase letters, digits, '-'): pipelines see its settings as "
        "SOURCE_<NAME>_* variables."))
    kind: SourceKind = Field(description="snowflake (a warehouse), s3 (an existing bucket), delta (an existing "
                                         "Delta table location on S3), postgres (an existing database).")
    secret: str = Field(pattern=DNS_LABEL, description=(
        "Name of an existing Kubernetes Secret with the credentials (keys per kind: snowflake user/password, "
        "s3 and delta AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, postgres username/password), present in every "
        "namespace that uses the source. omgml references it and never creates it."))
    account: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$", description=(
        "snowflake: the account identifier (orgname-accountname)."))
    warehouse: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_$]+$", description="snowflake: warehouse.")
    database: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_$-]+$", description=(
        "snowflake or postgres: the database."))
    schema_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_$]+$", description=(
        "snowflake: the schema (default PUBLIC)."))
    role: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_$]+$", description="snowflake: the role.")
    bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description=(
        "s3: the bucket."))
    prefix: str = Field(default="", pattern=r"^([A-Za-z0-9_.=-]+/)*([A-Za-z0-9_.=-]+/?)?$", description=(
        "s3: the prefix inside the bucket."))
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description=(
        "s3 or delta: the bucket's AWS region."))
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+/?$", description=(
        "s3 or delta: an S3-compatible endpoint (not AWS S3)."))
    uri: str | None = Field(default=None, description="delta: the table's location, s3://bucket/path.")
    host: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]+$", description="postgres: the server's host.")
    port: int | None = Field(default=None, ge=1, le=65535, description="postgres: the port (default 5432).")
    sslmode: Literal["disable", "require", "verify-ca", "verify-full"] | None = Field(default=None, description=(
        "postgres: libpq sslmode (default require)."))

    @model_validator(mode="after")
    def _settings_of_kind(self) -> DataSourceSpec:
        kind = self.kind
        missing = [f for f in _REQUIRED[kind] if getattr(self, f) in (None, "")]
        foreign = [f for f in _SETTINGS if f not in _ALLOWED[kind] and getattr(self, f) not in (None, "")]
        problems = []
        if missing:
            problems.append(f"a {kind} source needs {', '.join(missing)}; add them")
        if foreign:
            problems.append(f"{', '.join(foreign)} do not apply to a {kind} source (it takes "
                            f"{', '.join(_ALLOWED[kind])}); remove them")
        if kind == "delta" and self.uri is not None and not _S3_URI.match(self.uri):
            problems.append(f"uri {self.uri!r} is not s3://bucket/path; give the Delta table's S3 location")
        raise_problems(problems, "; ", prefix=f"source {self.name!r}: ")
        return self

    def secret_keys(self) -> tuple[str, ...]:
        """The keys the source's Secret must hold."""
        return SOURCE_SECRET_KEYS[self.kind]


def unique_sources(sources: list[DataSourceSpec]) -> list[DataSourceSpec]:
    twice = repeated([s.name for s in sources])
    if twice:
        raise ValueError(f"source names {twice} repeat; give every source its own name")
    return sources


class DataSpec(StrictModel):
    """External data the platform connects to (it deploys none of it)."""

    sources: list[DataSourceSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> DataSpec:
        unique_sources(self.sources)
        return self

    def source(self, name: str) -> DataSourceSpec | None:
        return next((s for s in self.sources if s.name == name), None)


class QualityCheckSpec(StrictModel):
    """One validation: a suite (a file in the project's suites folder) against one dataset."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,40}$")
    # The suite file's name without `.json` (data-quality/suites/<suite>.json in the project).
    suite: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")
    # s3://bucket/prefix, or a prefix inside the platform's features bucket.
    data: str = Field(pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?|[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*/?)$")
    format: Literal["parquet", "csv"] = "parquet"


def _default_checks() -> list[QualityCheckSpec]:
    # Feast's offline data lives under features/ of the features bucket (FEAST_OFFLINE_URI).
    return [QualityCheckSpec(name="features", suite="features", data="features/", format="parquet")]


class DataQualitySpec(StrictModel):
    """Great Expectations (GX Core): suites kept in the project, run on a schedule and as a pipeline step."""

    enabled: bool = False
    # The runner image (GX Core, pyarrow). None: the image built from
    # the project's images/data-quality/ (see omgml.data_quality.runner_image).
    image: str | None = Field(default=None, min_length=3)
    schedule: CronSchedule = "15 * * * *"
    suites_dir: str = Field(default="data-quality/suites", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    checks: list[QualityCheckSpec] = Field(default_factory=_default_checks)
    # Where the data docs (HTML) go inside the features bucket.
    docs_prefix: str = Field(default="data-docs/", pattern=r"^([A-Za-z0-9_.=-]+/)+$")

    @model_validator(mode="after")
    def _unique_checks(self) -> DataQualitySpec:
        twice = repeated([c.name for c in self.checks])
        if twice:
            raise ValueError(f"checks: names {twice} repeat; give every check its own name")
        if self.enabled and not self.checks:
            raise ValueError("checks: data quality is enabled but lists no check; add one or set enabled: false")
        return self


class LineageSpec(StrictModel):
    """The lineage catalog: an OpenLineage API (Feast's lineage server) on the platform's Postgres."""

    enabled: bool = False
    # The OpenLineage namespace of the platform's jobs (GX runs, Airflow, pipeline steps);
    # None: the platform's name.
    namespace: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}$")
    # Days of events and runs kept (0 keeps everything: audit trails under compliance).
    retention_days: int = Field(default=30, ge=0, le=3650)
    replicas: int = Field(default=1, ge=1, le=5)
