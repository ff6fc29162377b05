"""The child-options helper: the depends_on convention it relies on, and the retention rule."""

from __future__ import annotations

import asyncio

import pulumi
import pulumi_kubernetes as k8s
import pytest

from omgml.components.options import Children, keeps_data
from tests.synth_helpers import synth


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Box", name, None, opts)
        children = Children(self, "small")
        first = k8s.core.v1.ConfigMap(f"{name}-first", metadata={"name": "first"}, opts=children())
        k8s.core.v1.ConfigMap(f"{name}-data", metadata={"name": "data"}, opts=children.data(first))
        self.register_outputs({})


def test_children_are_created_after_what_their_component_depends_on() -> None:
    # Why Children does not copy the component's depends_on: the SDK registers a child only once
    # its parent's URN is known, which waits for the parent's own dependencies.
    def program() -> None:
        slow = k8s.core.v1.ConfigMap("slow", metadata={"name": "slow"},
                                     data={"k": pulumi.Output.from_input(asyncio.sleep(0.2, result="v"))})
        Box("box", pulumi.ResourceOptions(depends_on=[slow]))
        k8s.core.v1.ConfigMap("free", metadata={"name": "free"})

    result = synth(program)
    order = [r.name for r in result.resources]
    assert order.index("free") < order.index("slow")  # the delay is real
    assert order.index("slow") < order.index("box-first") < order.index("box-data")
    by_name = {r.name: r for r in result.resources}
    assert by_name["box-data"].dependencies == [by_name["box-first"].urn]
    assert by_name["box-first"].dependencies == []


def test_data_children_are_kept_outside_the_laptop_profile() -> None:
    assert [keeps_data(p) for p in ("laptop", "small", "production")] == [False, True, True]

    def program() -> None:
        Box("box")

    by_name = {r.name: r for r in synth(program).resources}
    assert by_name["box-data"].protect and by_name["box-data"].retain_on_delete
    assert not by_name["box-first"].protect and not by_name["box-first"].retain_on_delete


@pytest.mark.parametrize("profile", ["laptop", "small"])
def test_the_retention_rule_decides_protection(profile: str) -> None:
    class Profiled(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("test:index:Profiled", name, None, None)
            k8s.core.v1.ConfigMap(f"{name}-data", metadata={"name": "d"},
                                  opts=Children(self, profile).data())
            self.register_outputs({})

    def program() -> None:
        Profiled("p")

    rec = next(r for r in synth(program).resources if r.name == "p-data")
    assert rec.protect is (profile != "laptop") and rec.retain_on_delete is (profile != "laptop")
