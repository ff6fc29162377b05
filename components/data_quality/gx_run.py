"""omgml data-quality run: Great Expectations suites against datasets on the object store.

This file runs on its own inside the data-quality runner image (omgml writes its Dockerfile into
the project, images/data-quality/: GX Core and pyarrow, pinned by hash), so
it imports nothing from omgml (job_runtime.py, which it shares with the drift job, is shipped
next to it). The GreatExpectations component ships it in a ConfigMap; the
CronJob runs every check of the platform, a pipeline step runs one (`--check NAME`).

Configured by env (and `--check`):
- GX_CHECKS: path of a JSON list of checks {name, suite, data (s3://bucket/prefix), format};
- GX_SUITES_DIR: the suites, one `<suite>.json` each (GX's own ExpectationSuite JSON);
- S3_ENDPOINT_URL / AWS_REGION / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: the object store,
  read with pyarrow's S3 filesystem (keys from the Secret in-cluster, the IRSA web identity on
  AWS S3, through the AWS SDK's default chain);
- GX_DOCS_URL: s3://bucket/prefix/ where the data docs (GX's static HTML site) are uploaded;
- PUSHGATEWAY_URL: where the results go (optional);
- OPENLINEAGE_URL / OPENLINEAGE_ENDPOINT / OPENLINEAGE_NAMESPACE: the lineage API (optional).

Each check: read the dataset, validate it with its suite in an ephemeral GX context, build the
data docs into a scratch folder and upload them, push `gx_suite_success`,
`gx_suite_unsuccessful_expectations`, `gx_suite_evaluated_expectations`,
`gx_expectation_success{expectation=...}` and the run's timestamp (grouped by check), and emit
OpenLineage START and COMPLETE/FAIL events whose input is the dataset, with the results as a
data-quality-assertions facet. The process exits 1 when a suite fails, so a pipeline step stops
its pipeline and the CronJob's Job is marked failed.

The helpers above `main` are pure (no GX, no network) so they are tested without the image.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

# Imported as part of omgml (tests, the component that ships it), or run as a script in the pod,
# where job_runtime.py sits next to this file (the same ConfigMap). mypy checks the first: the
# same file.
if TYPE_CHECKING or __package__:
    from omgml.components import job_runtime as rt
else:
    import job_runtime as rt

HEARTBEAT = "/tmp/gx-heartbeat"
JOB = "great_expectations"  # Pushgateway grouping key: `job`, and GROUP_LABEL (the check's name)
GROUP_LABEL = "check"
PRODUCER = "https://omgml.dev/data-quality"
OL_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
ASSERTIONS_FACET = "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json"


def load_checks(text: str, only: str | None = None) -> list[dict[str, str]]:
    """The checks of GX_CHECKS (JSON), or the one named `only`."""
    checks = json.loads(text)
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise SystemExit("GX_CHECKS must hold a JSON list of checks")
    if only is not None:
        checks = [c for c in checks if c.get("name") == only]
        if not checks:
            raise SystemExit(f"no check named {only!r}; the platform's checks are listed in GX_CHECKS")
    return [{k: str(c[k]) for k in ("name", "suite", "data", "format")} for c in checks]


def expectation_label(result: Mapping[str, Any]) -> str:
    """A short, stable label of one expectation: its type and the column it checks."""
    config = result.get("expectation_config") or {}
    kind = str(config.get("type") or "unknown")
    column = (config.get("kwargs") or {}).get("column")
    return f"{kind}:{column}" if column else kind


def summarize(validation: Mapping[str, Any]) -> dict[str, Any]:
    """From a suite's validation result (ExpectationSuiteValidationResult.to_json_dict()):
    success, counts, and one (label, success) per expectation."""
    results = list(validation.get("results") or [])
    per = [(expectation_label(r), bool(r.get("success"))) for r in results]
    failed = sum(1 for _, ok in per if not ok)
    return {"success": bool(validation.get("success")) and failed == 0, "evaluated": len(per),
            "unsuccessful": failed, "expectations": per}


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def metrics_body(suite: str, dataset: str, summary: Mapping[str, Any], finished_at: float) -> str:
    """Prometheus text of one check's results (the check itself is the grouping key)."""
    base = f'suite="{_label_value(suite)}",dataset="{_label_value(dataset)}"'
    lines = [
        "# HELP gx_suite_success 1 when every expectation of the suite passed, 0 when one failed.",
        "# TYPE gx_suite_success gauge",
        f"gx_suite_success{{{base}}} {1 if summary['success'] else 0}",
        "# HELP gx_suite_evaluated_expectations Expectations evaluated in the last run.",
        "# TYPE gx_suite_evaluated_expectations gauge",
        f"gx_suite_evaluated_expectations{{{base}}} {summary['evaluated']}",
        "# HELP gx_suite_unsuccessful_expectations Expectations that failed in the last run.",
        "# TYPE gx_suite_unsuccessful_expectations gauge",
        f"gx_suite_unsuccessful_expectations{{{base}}} {summary['unsuccessful']}",
        "# HELP gx_expectation_success 1 when the expectation passed in the last run.",
        "# TYPE gx_expectation_success gauge",
    ]
    seen: dict[str, int] = {}
    for label, ok in summary["expectations"]:
        # Two expectations of one type on one column get #2, #3, ... so no series repeats.
        seen[label] = seen.get(label, 0) + 1
        name = label if seen[label] == 1 else f"{label}#{seen[label]}"
        lines.append(f'gx_expectation_success{{{base},expectation="{_label_value(name)}"}} {1 if ok else 0}')
    lines += [
        "# HELP gx_suite_last_run_timestamp_seconds When the check finished.",
        "# TYPE gx_suite_last_run_timestamp_seconds gauge",
        f"gx_suite_last_run_timestamp_seconds{{{base}}} {int(finished_at)}",
    ]
    return "\n".join(lines) + "\n"


def dataset_identity(url: str) -> tuple[str, str]:
    """OpenLineage dataset naming for object storage: namespace s3://bucket, name the path."""
    bucket, prefix = rt.parse_s3_url(url)
    return f"s3://{bucket}", prefix.strip("/") or "/"


def lineage_event(event_type: str, run_id: str, namespace: str, check: str, dataset_url: str,
                  event_time: str, summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An OpenLineage RunEvent of one check: the job reads the dataset (an input, with the
    assertions once they are known)."""
    ds_namespace, ds_name = dataset_identity(dataset_url)
    dataset: dict[str, Any] = {"namespace": ds_namespace, "name": ds_name, "facets": {}}
    if summary is not None:
        dataset["inputFacets"] = {"dataQualityAssertions": {
            "_producer": PRODUCER, "_schemaURL": ASSERTIONS_FACET,
            "assertions": [{"assertion": label, "success": ok} for label, ok in summary["expectations"]],
        }}
    return {
        "eventType": event_type,
        "eventTime": event_time,
        "producer": PRODUCER,
        "schemaURL": OL_SCHEMA,
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": namespace, "name": f"data-quality.{check}", "facets": {}},
        "inputs": [dataset],
        "outputs": [],
    }


def lineage_target(env: Mapping[str, str]) -> str | None:
    """The URL events are POSTed to (OpenLineage's HTTP transport: url + endpoint), or None."""
    url = env.get("OPENLINEAGE_URL", "")
    if not url:
        return None
    endpoint = env.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
    return url.rstrip("/") + "/" + endpoint.lstrip("/")


def docs_key(prefix: str, relative: str) -> str:
    """The object key of one data-docs file under the docs prefix."""
    return "/".join(p for p in (prefix.strip("/"), relative.replace(os.sep, "/").lstrip("/")) if p)


# --- what needs the image: pyarrow, pandas, GX, the network ---------------------------------------

def validate(check: Mapping[str, str], suite_doc: Mapping[str, Any], frame: Any, docs_dir: str) -> dict[str, Any]:
    """Validate `frame` with the suite in an ephemeral GX context; build the data docs into
    `docs_dir`. Returns the validation result as JSON."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(site_name="omgml", site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    asset = context.data_sources.add_pandas(f"omgml-{check['name']}").add_dataframe_asset(check["name"])
    batch = asset.add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(gx.ExpectationSuite(name=str(suite_doc["name"]), meta=dict(suite_doc.get("meta") or {})))
    for item in suite_doc["expectations"]:
        suite.add_expectation_configuration(ExpectationConfiguration(
            type=item["type"], kwargs=dict(item.get("kwargs") or {}), meta=item.get("meta")))
    suite.save()
    definition = context.validation_definitions.add(gx.ValidationDefinition(
        name=check["name"], data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{check['name']}-checkpoint", validation_definitions=[definition],
        actions=[UpdateDataDocsAction(name="data-docs", site_names=["omgml"])],
        result_format={"result_format": "SUMMARY"}))
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    runs = list(result.run_results.values())
    return dict(runs[0].to_json_dict())


def upload_docs(store: Any, docs_dir: str, docs_url: str) -> int:
    """Copy the data-docs folder to s3://bucket/prefix/; returns the number of files."""
    bucket, prefix = rt.parse_s3_url(docs_url)
    count = 0
    for root, _, names in os.walk(docs_dir):
        for name in names:
            path = os.path.join(root, name)
            key = docs_key(prefix, os.path.relpath(path, docs_dir))
            with open(path, "rb") as handle, store.open_output_stream(f"{bucket}/{key}") as out:
                out.write(handle.read())
            count += 1
    return count


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


def run_check(check: Mapping[str, str], env: Mapping[str, str], store: Any) -> tuple[bool, int]:
    """One check end to end: (suite passed, delivery problems)."""
    import tempfile

    problems = 0
    target = lineage_target(env)
    namespace = env.get("OPENLINEAGE_NAMESPACE", "omgml")
    run_id = str(uuid.uuid4())

    def emit(event: Mapping[str, Any]) -> int:
        if target is None:
            return 0
        try:
            rt.send(target, json.dumps(event).encode("utf-8"), "application/json")
            return 0
        except Exception as exc:  # lineage is a record, not a gate: the check's verdict stands
            print(f"{check['name']}: emitting lineage to {target} failed: {exc}", file=sys.stderr)
            return 1

    problems += emit(lineage_event("START", run_id, namespace, check["name"], check["data"], now_iso()))
    with open(os.path.join(env["GX_SUITES_DIR"], f"{check['suite']}.json"), encoding="utf-8") as handle:
        suite_doc = json.load(handle)
    frame = rt.read_dataset(store, check["data"], check["format"])
    with tempfile.TemporaryDirectory(prefix="gx-docs-") as docs_dir:
        validation = validate(check, suite_doc, frame, docs_dir)
        summary = summarize(validation)
        if env.get("GX_DOCS_URL"):
            try:
                uploaded = upload_docs(store, docs_dir, env["GX_DOCS_URL"])
                print(f"{check['name']}: {uploaded} data-docs files under {env['GX_DOCS_URL']}")
            except Exception as exc:
                print(f"{check['name']}: uploading the data docs failed: {exc}", file=sys.stderr)
                problems += 1
    verdict = "passed" if summary["success"] else "FAILED"
    print(f"{check['name']}: suite {check['suite']} {verdict} on {check['data']} "
          f"({summary['unsuccessful']} of {summary['evaluated']} expectations failed)")
    for label, ok in summary["expectations"]:
        print(f"  {'ok  ' if ok else 'FAIL'} {label}")
    if env.get("PUSHGATEWAY_URL"):
        body = metrics_body(check["suite"], check["data"], summary, time.time())
        try:
            rt.push_metrics(env["PUSHGATEWAY_URL"], JOB, GROUP_LABEL, check["name"], body)
        except Exception as exc:
            print(f"{check['name']}: pushing the results failed: {exc}", file=sys.stderr)
            problems += 1
    problems += emit(lineage_event("COMPLETE" if summary["success"] else "FAIL", run_id, namespace, check["name"],
                                   check["data"], now_iso(), summary))
    return bool(summary["success"]), problems


def main(argv: Sequence[str], env: Mapping[str, str]) -> int:
    parser = argparse.ArgumentParser(description="Run the platform's data-quality checks.")
    parser.add_argument("--check", help="run only this check (a pipeline step); default: every check")
    args = parser.parse_args(argv)
    with open(env["GX_CHECKS"], encoding="utf-8") as handle:
        checks = load_checks(handle.read(), args.check)
    store = rt.open_store(env)
    failed: list[str] = []
    problems = 0
    for check in checks:
        ok, trouble = run_check(check, env, store)
        problems += trouble
        if not ok:
            failed.append(check["name"])
    if failed:
        print(f"data quality: {len(failed)} of {len(checks)} checks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 2 if problems else 0


if __name__ == "__main__":
    rt.start_heartbeat(HEARTBEAT)
    sys.exit(main(sys.argv[1:], os.environ))
