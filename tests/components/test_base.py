"""The shared component shape: resolve before any child, outputs registered from build, type
token from the class line; the common Args check and the in-cluster service URL helper."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from omgml.components.base import Component, ComponentArgs, check_component_args, require_between
from omgml.components.options import Children
from omgml.naming import service_host, service_url
from tests.synth_helpers import synth

SIZES = {"laptop": 1, "small": 2}


@dataclass(frozen=True, kw_only=True)
class ToyArgs(ComponentArgs):
    instance: str = "toy"


def resolve_toy(args: ToyArgs) -> str:
    check_component_args("ToyArgs", args, SIZES)
    return f"{args.instance}-plan"


class Toy(Component[ToyArgs, str], type_token="omgml:test:Toy", resolve=resolve_toy):
    plan: str

    def build(self, name: str, args: ToyArgs, r: str, children: Children) -> dict[str, object]:
        self.plan = r
        self.profile = children.profile
        return {"plan": r}


def test_build_gets_the_resolved_plan_and_the_profile() -> None:
    seen: list[Toy] = []
    synth(lambda: seen.append(Toy("t", ToyArgs(namespace="ns", profile="small"))))
    assert seen[0].plan == "toy-plan"
    assert seen[0].profile == "small"
    assert Toy.TYPE_TOKEN == "omgml:test:Toy"


@pytest.mark.parametrize(("kw", "field"), [
    ({"namespace": "Bad_NS"}, "ToyArgs.namespace"),
    ({"namespace": "ns", "instance": "-x"}, "ToyArgs.instance"),
    ({"namespace": "ns", "profile": "production"}, "ToyArgs.profile"),
])
def test_bad_common_fields_fail_before_any_child(kw: dict[str, str], field: str) -> None:
    built: list[str] = []

    class Watched(Toy):
        def build(self, name: str, args: ToyArgs, r: str, children: Children) -> dict[str, object]:
            built.append(name)
            return {}

    with pytest.raises(Exception, match=field):
        synth(lambda: Watched("w", ToyArgs(**kw)))  # type: ignore[arg-type]
    assert built == []


def test_a_class_without_type_token_is_refused() -> None:
    class NoToken(Component[ToyArgs, str], resolve=resolve_toy):
        pass

    with pytest.raises(TypeError, match="NoToken names no type token"):
        NoToken("x", ToyArgs(namespace="ns"))


def test_service_urls_name_the_cluster_dns() -> None:
    assert service_host("mlflow", "omgml-data") == "mlflow.omgml-data.svc.cluster.local"
    assert service_url("prefect", "orch", 4200, "/api") == "http://prefect.orch.svc.cluster.local:4200/api"
    assert service_url("katib-ui", "kubeflow", path="/katib/") == "http://katib-ui.kubeflow.svc.cluster.local/katib/"


@pytest.mark.parametrize("value", [1, 3, 6])
def test_require_between_keeps_a_value_in_range(value: int) -> None:
    assert require_between("ToyArgs.nodes", value, 1, 6) == value


@pytest.mark.parametrize(("value", "why", "line"), [
    (0, "", "ToyArgs.nodes=0: use 1 to 6"),
    (7, "a primary and five replicas", "ToyArgs.nodes=7: use 1 to 6 (a primary and five replicas)"),
])
def test_require_between_names_the_field_the_value_and_the_range(value: int, why: str, line: str) -> None:
    with pytest.raises(ValueError) as err:
        require_between("ToyArgs.nodes", value, 1, 6, why)
    assert str(err.value) == line
