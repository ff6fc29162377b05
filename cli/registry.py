"""`omgml registry list|show|promote|compare`: the platform's model registry (MLflow)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from omgml.cli.common import load_project_spec, user_errors
from omgml.cli.daytwo import ContextOpt, InClusterOpt, PrefixOpt, ProjectArg, UrlOpt, mlflow_api, reach_for
from omgml.cli.groups import OmgmlCommand, OmgmlGroup
from omgml.cli.output import JsonOption, Table, console, print_json, print_table

registry_app = typer.Typer(help="The platform's model registry (MLflow): list, show, promote, compare.",
                           no_args_is_help=True, cls=OmgmlGroup, rich_markup_mode=None)
ModelArg = Annotated[str, typer.Argument(help="Registered model name.")]
VersionArg = Annotated[str, typer.Argument(help="Model version number.")]


def _when(ms: Any) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _registry(project: Any, url: str | None, in_cluster: bool, context: str | None, prefix: str) -> Any:
    spec = load_project_spec(project)
    return mlflow_api(spec, reach_for(project, spec, url, in_cluster, context, prefix))


@registry_app.command("list", cls=OmgmlCommand)
def list_models(project: ProjectArg, model: Annotated[str | None, typer.Argument(
                    help="A model: list its versions instead of the models.")] = None,
                url: UrlOpt = None, in_cluster: InClusterOpt = False, context: ContextOpt = None,
                stack_prefix: PrefixOpt = "dev", json_out: JsonOption = False) -> None:
    """Registered models with their aliases, or one model's versions."""
    with user_errors(), _registry(project, url, in_cluster, context, stack_prefix) as reg:
        if model is None:
            table = Table("registered models", ("model", "versions", "latest", "aliases", "tags", "updated"))
            for m in sorted(reg.models(), key=lambda m: m["name"]):
                latest = max((int(v["version"]) for v in m.get("latest_versions", []) or []), default=None)
                aliases = ", ".join(f"{a['alias']}→{a['version']}" for a in m.get("aliases", []) or [])
                tags = ", ".join(f"{t['key']}={t.get('value', '')}" for t in m.get("tags", []) or [])
                table.add(m["name"], len(reg.versions(m["name"])), latest, aliases or None, tags or None,
                          _when(m.get("last_updated_timestamp")))
        else:
            holders: dict[str, list[str]] = {}
            for a in reg.model(model).get("aliases", []) or []:
                holders.setdefault(str(a["version"]), []).append(a["alias"])
            table = Table(f"versions of {model}", ("version", "aliases", "stage", "status", "run", "created"))
            for v in reg.versions(model):
                table.add(str(v["version"]), ", ".join(holders.get(str(v["version"]), [])) or None,
                          v.get("current_stage"), v.get("status"), v.get("run_id"), _when(v.get("creation_timestamp")))
    if json_out:
        print_json(table.to_json())
    else:
        print_table(console(), table)


@registry_app.command("show", cls=OmgmlCommand)
def show(project: ProjectArg, model: ModelArg, version: VersionArg, url: UrlOpt = None,
         in_cluster: InClusterOpt = False, context: ContextOpt = None, stack_prefix: PrefixOpt = "dev",
         json_out: JsonOption = False) -> None:
    """One version: its run, metrics, params, source, signature and datasets (lineage)."""
    with user_errors(), _registry(project, url, in_cluster, context, stack_prefix) as reg:
        detail = reg.detail(model, version, with_signature=True)
    if json_out:
        print_json(detail)
        return
    out = console()
    facts = Table(f"{model} version {version}", ("field", "value"))
    for key in ("aliases", "stage", "status", "source", "run_id", "run_name", "run_status", "experiment_id"):
        value = detail[key]
        facts.add(key, ", ".join(value) if isinstance(value, list) else value)
    facts.add("created", _when(detail["created"]))
    for k, v in sorted(detail["tags"].items()):
        facts.add(f"tag {k}", v)
    print_table(out, facts)
    metrics = Table("metrics", ("metric", "value"), numeric=frozenset({"value"}))
    for k, v in sorted(detail["metrics"].items()):
        metrics.add(k, v)
    print_table(out, metrics)
    params = Table("params", ("param", "value"))
    for k, v in sorted(detail["params"].items()):
        params.add(k, v)
    print_table(out, params)
    datasets = Table("datasets (lineage)", ("name", "digest", "source type", "source", "context"))
    for d in detail["datasets"]:
        datasets.add(d["name"], d["digest"], d["source_type"], d["source"], d["context"])
    print_table(out, datasets)
    sig = detail.get("signature")
    out.print(f"signature: {sig if sig else 'none logged'}", markup=False)


@registry_app.command("promote", cls=OmgmlCommand)
def promote(project: ProjectArg, model: ModelArg, version: VersionArg,
            alias: Annotated[str, typer.Option("--alias", help="The alias to point at VERSION.")] = "production",
            metric: Annotated[str | None, typer.Option(
                "--metric", help="Gate: the run metric must beat the alias' current version.")] = None,
            lower_is_better: Annotated[bool, typer.Option(
                "--lower-is-better", help="For --metric: lower values are better (loss, error).")] = False,
            min_delta: Annotated[float, typer.Option(
                "--min-delta", help="For --metric: the least improvement required.")] = 0.0,
            threshold: Annotated[float | None, typer.Option(
                "--threshold", help="For --metric: an absolute floor (ceiling with --lower-is-better).")] = None,
            require_tag: Annotated[list[str] | None, typer.Option(
                "--require-tag", help="Gate: the version must carry this tag (KEY or KEY=VALUE); repeatable.")] = None,
            url: UrlOpt = None, in_cluster: InClusterOpt = False, context: ContextOpt = None,
            stack_prefix: PrefixOpt = "dev", json_out: JsonOption = False) -> None:
    """Point ALIAS (default production) at VERSION, if the gates pass."""
    from omgml.daytwo.registry import Gate, check_alias, check_gates

    with user_errors():
        check_alias(alias)
        gate = Gate(metric, lower_is_better, min_delta, threshold, tuple(require_tag or ()))
        with _registry(project, url, in_cluster, context, stack_prefix) as reg:
            candidate = reg.detail(model, version)
            holder = reg.alias_holder(model, alias)
            current = reg.detail(model, holder) if holder is not None else None
            failed = check_gates(gate, candidate, current)
            if not failed:
                reg.set_alias(model, alias, version)
    result = {"model": model, "version": version, "alias": alias, "previous": holder, "promoted": not failed,
              "gate_failures": failed}
    if json_out:
        print_json(result)
    elif failed:
        for line in failed:
            typer.secho(f"gate not met: {line}", err=True, fg=typer.colors.RED)
    else:
        before = f" (was version {holder})" if holder and holder != version else ""
        typer.echo(f"{model}: alias {alias} → version {version}{before}")
    if failed:
        raise typer.Exit(1)


@registry_app.command("compare", cls=OmgmlCommand)
def compare(project: ProjectArg, model: ModelArg, version_a: VersionArg, version_b: VersionArg,
            url: UrlOpt = None, in_cluster: InClusterOpt = False, context: ContextOpt = None,
            stack_prefix: PrefixOpt = "dev", json_out: JsonOption = False) -> None:
    """Two versions' metrics side by side (B − A), and the params that differ."""
    from omgml.daytwo.http import DayTwoError
    from omgml.daytwo.registry import changed_params, compare_versions

    with user_errors():
        if version_a == version_b:
            raise DayTwoError(f"compare: give two different versions (got {version_a} twice)")
    with user_errors(), _registry(project, url, in_cluster, context, stack_prefix) as reg:
        a, b = reg.detail(model, version_a), reg.detail(model, version_b)
    metrics = Table(f"{model}: metrics of {version_a} and {version_b}", ("metric", version_a, version_b, "delta"),
                    numeric=frozenset({version_a, version_b, "delta"}))
    for row in compare_versions(a, b):
        metrics.add(row["metric"], row[version_a], row[version_b], row["delta"])
    params = Table("params that differ", ("param", version_a, version_b))
    for row in changed_params(a, b):
        params.add(row["param"], row[version_a], row[version_b])
    if json_out:
        print_json({"metrics": metrics.to_json(), "params": params.to_json()})
        return
    print_table(console(), metrics)
    print_table(console(), params)
