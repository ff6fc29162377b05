"""The offline synth: recording, collisions, secret masking, stack references, YAML output."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs
from omgml.components.namespace import NamespaceArgs, PlatformNamespace
from omgml.errors import SynthError
from omgml.spec import spec_from_dict
from omgml.synth.engine import synthesize
from omgml.synth.manifests import MASK, inventory_entries, manifests, object_collisions
from omgml.synth.render import dump_yaml_documents, render_platform
from tests.synth_helpers import assert_valid, one


class Pair(pulumi.ComponentResource):
    """A component that names its child without its own name: the classic collision bug."""

    def __init__(self, name: str, child: str) -> None:
        super().__init__("omgml:test:Pair", name, None, None)
        k8s.core.v1.ConfigMap(child, metadata={"name": f"{name}-cm"}, data={"a": "b"},
                              opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def _two_pairs(first: str, second: str) -> None:
    Pair("one", first)
    Pair("two", second)


def test_deliberate_collision_is_reported() -> None:
    result = synthesize(lambda: _two_pairs("cm", "cm"), project="p", stack="s")
    assert len(result.collisions) == 1
    assert "kubernetes:core/v1:ConfigMap named 'cm'" in result.collisions[0]


def test_prefixed_children_do_not_collide() -> None:
    result = synthesize(lambda: _two_pairs("one-cm", "two-cm"), project="p", stack="s")
    assert result.collisions == []


def test_same_kubernetes_object_twice_is_reported() -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}] * 2
    assert object_collisions(items) == ["two ConfigMap objects named 'a' in namespace 'n'"]


def test_generated_password_never_appears_in_the_render() -> None:
    def program() -> None:
        creds = GeneratedSecret("db", GeneratedSecretArgs(namespace="ns", secret_name="db-creds",
                                                          password_keys=("password",)))
        uri = pulumi.Output.format("postgresql://app:{0}@db:5432/app", creds.passwords["password"])
        GeneratedSecret("uri", GeneratedSecretArgs(namespace="ns", secret_name="db-uri", derived={"uri": uri}))

    result = synthesize(program, project="p", stack="s")
    raw = [r for r in result.resources if r.type == "random:index/randomPassword:RandomPassword"]
    assert len(raw) == 1
    items = manifests(result)
    text = dump_yaml_documents(items) + repr(inventory_entries(result, "foundation"))
    assert "mock" not in text  # the generated values start with "mock"
    secret = one(items, "Secret", "db-creds")
    assert secret["stringData"] == {"password": MASK}
    assert one(items, "Secret", "db-uri")["stringData"] == {"uri": MASK}
    assert_valid(items)


def test_output_used_as_string_is_an_error() -> None:
    def program() -> None:
        ns = PlatformNamespace("ns", NamespaceArgs(name="x"))
        f"{ns.name}"  # the mistake under test

    with pytest.raises(Exception, match="Calling __str__ on an Output"):
        synthesize(program, project="p", stack="s")


def test_numbers_come_back_as_ints_and_dicts_sorted() -> None:
    def program() -> None:
        k8s.core.v1.Service("svc", metadata={"name": "svc", "namespace": "n"},
                            spec={"selector": {"b": "1", "a": "2"}, "ports": [{"port": 80, "targetPort": 8080}]})

    (svc,) = manifests(synthesize(program, project="p", stack="s"))
    assert svc["spec"]["ports"][0] == {"port": 80, "targetPort": 8080}
    assert isinstance(svc["spec"]["ports"][0]["port"], int)
    assert list(svc["spec"]["selector"]) == ["a", "b"]
    assert list(svc)[:3] == ["apiVersion", "kind", "metadata"]


def test_render_feeds_foundation_exports_to_later_phases() -> None:
    render = render_platform(spec_from_dict({"name": "demo"}))
    fnd, trn, srv = render.phases
    assert fnd.result.exports["data_namespace"] == "omgml-data"
    refs = [r for r in trn.result.resources if r.type == "pulumi:pulumi:StackReference"]
    assert [r.inputs["name"] for r in refs] == ["organization/demo/render-foundation"]
    srv_refs = sorted(r.inputs["name"] for r in srv.result.resources if r.type == "pulumi:pulumi:StackReference")
    assert srv_refs == ["organization/demo/render-foundation", "organization/demo/render-training"]


def test_single_phase_render_still_synthesizes_its_upstream() -> None:
    render = render_platform(spec_from_dict({"name": "demo"}), ["serving"])
    assert [p.phase for p in render.phases] == ["serving"]


def test_missing_upstream_outputs_is_a_clear_error() -> None:
    from omgml.synth.render import synth_phase

    with pytest.raises(SynthError, match="render the earlier phase first"):
        synth_phase(spec_from_dict({"name": "demo"}), "training", {})


def test_yaml_round_trips_through_a_yaml_1_1_reader() -> None:
    tricky = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"},
               "data": {"a": "yes", "b": "on", "c": "0755", "d": "1e3", "e": "null", "f": "~", "g": "12:30",
                        "h": "", "i": "-", "j": "0x1F", "k": "multi\nline"}}]
    text = dump_yaml_documents(tricky)
    assert list(yaml.safe_load_all(text)) == tricky
    assert_valid(tricky)


def test_inventory_lists_every_resource_with_parents() -> None:
    render = render_platform(spec_from_dict({"name": "demo"}), ["foundation"])
    inv = render.inventory()["resources"]
    types = {e["type"] for e in inv}
    assert {"omgml:blueprints:Foundation", "omgml:core:Namespace", "kubernetes:core/v1:Namespace"} <= types
    ns = next(e for e in inv if e["type"] == "kubernetes:core/v1:Namespace")
    assert ns["parent_type"] == "omgml:core:Namespace" and ns["inputs"]["kind"] == "Namespace"


def _python_dump(items: list[dict]) -> str:
    return yaml.safe_dump_all(items, sort_keys=False, default_flow_style=False, width=4096, explicit_start=True)


def test_fast_yaml_writes_the_same_bytes_as_the_python_emitter() -> None:
    pieces = ["plain", "yes", "0755", "a: b", "- x", "#c", "'q'", '"dq"', "back\\slash", "tab\there", "nl\n",
              " lead", "trail ", "\x85", "\u2028", "é", "日本", "\U0001f600", "\x01", "{x}", "*a", "&b", "!t", "%p",
              "@at", "`bt`", "|", ">", "~", "?", "\ufeff"]
    docs = []
    for i, piece in enumerate(pieces):
        for n in (1, 7, 60, 400, 900, 3000):  # short ones go through libyaml, long ones are folded by PyYAML
            value = (piece * n)[: n * max(1, len(piece))]
            docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}-{n}"},
                         "data": {"v": value, piece: [value, {"k": value}]}})
    assert dump_yaml_documents(docs) == _python_dump(docs)


@pytest.mark.parametrize(("template", "target"), [("enterprise", "local"), ("fintech", "aws")])
def test_rendered_files_are_byte_for_byte_the_python_emitters(template: str, target: str) -> None:
    from omgml.recommend import recommend
    from omgml.spec.requirements import requirements_from_dict
    from omgml.templates import load_template

    data = load_template(template).model_dump(mode="json", exclude_unset=True) | {"target": target}
    render = render_platform(recommend(requirements_from_dict(data)).to_platform_spec())
    for phase in render.phases:
        assert dump_yaml_documents(phase.manifests) == _python_dump(phase.manifests), phase.phase


def test_the_synth_gives_back_pulumi_stack_capture() -> None:
    # The synth skips Pulumi's per-resource stack capture (the mocks drop source positions);
    # a real deployment afterwards in the same process must get it back.
    from pulumi.runtime import resource

    before = resource._get_stack_trace
    render_platform(spec_from_dict({"name": "demo"}), ["foundation"])
    assert resource._get_stack_trace is before


def test_the_render_gives_back_the_garbage_collector() -> None:
    import gc

    assert gc.isenabled()
    render_platform(spec_from_dict({"name": "demo"}), ["foundation"])
    assert gc.isenabled()
    gc.disable()
    try:
        render_platform(spec_from_dict({"name": "demo"}), ["foundation"])
        assert not gc.isenabled()  # a caller that paused it keeps it paused
    finally:
        gc.enable()


def test_an_aws_render_loads_only_the_sdk_modules_it_needs() -> None:
    """pulumi_aws loads a whole service package on first attribute access; a render takes each
    class from its own module instead (omgml.sdk_imports), so the ~50 CloudWatch modules stay
    unloaded for the one LogGroup the EKS audit log needs, and ec2 loads a handful of ~180."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from omgml.spec import spec_from_dict\n"
        "from omgml.synth.render import render_platform\n"
        "spec = spec_from_dict({'name': 'x', 'target': 'aws', 'profile': 'small', 'aws': {'audit_logging': True}})\n"
        "render = render_platform(spec, ['foundation'])\n"
        "types = sorted({r['type'] for r in render.inventory()['resources']})\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('pulumi_aws.'))\n"
        "print(json.dumps([types, loaded]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    types, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "aws:cloudwatch/logGroup:LogGroup" in types and "aws:ec2/vpc:Vpc" in types
    assert [m for m in loaded if m.startswith("pulumi_aws.cloudwatch.")] == ["pulumi_aws.cloudwatch.log_group"]
    assert len([m for m in loaded if m.startswith("pulumi_aws.ec2.")]) < 20
