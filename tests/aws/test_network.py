"""The VPC: subnet plan, zones and NAT gateways follow the spec's availability and profile."""

from __future__ import annotations

import ipaddress

import pytest

from omgml.components.aws.network import (
    INTERNAL_ELB_TAG,
    PUBLIC_ELB_TAG,
    Network,
    NetworkArgs,
    nat_gateway_count,
    network_args_for,
    subnet_plan,
    zone_name,
)
from omgml.synth.mock_outputs import mock_id
from tests.aws.aws_helpers import aws_spec, of_type, synth_foundation
from tests.synth_helpers import synth

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"


@pytest.mark.parametrize("zones", [2, 3])
@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.20.0.0/18", "192.168.0.0/20"])
def test_subnet_plan_is_disjoint_and_inside_the_vpc(zones: int, cidr: str) -> None:
    vpc = ipaddress.ip_network(cidr)
    plan = subnet_plan(cidr, zones)
    assert [z.zone_index for z in plan] == list(range(zones))
    blocks = [ipaddress.ip_network(c) for z in plan for c in (z.private_cidr, z.public_cidr)]
    assert all(b.subnet_of(vpc) for b in blocks)  # type: ignore[arg-type]
    for i, a in enumerate(blocks):
        for b in blocks[i + 1:]:
            assert not a.overlaps(b), (a, b)
    # Node subnets are far bigger than load-balancer subnets: pods take VPC addresses.
    assert all(ipaddress.ip_network(z.private_cidr).num_addresses >= 16 * ipaddress.ip_network(z.public_cidr).num_addresses
               for z in plan)


def test_subnet_plan_keeps_existing_subnets_when_a_zone_is_added() -> None:
    two, three = subnet_plan("10.0.0.0/16", 2), subnet_plan("10.0.0.0/16", 3)
    assert [z.private_cidr for z in two] == [z.private_cidr for z in three[:2]]


@pytest.mark.parametrize("cidr, fix", [("10.0.0.0/8", "/16 to /20"), ("8.8.0.0/16", "private"), ("nonsense", "CIDR")])
def test_bad_vpc_cidrs_are_refused_with_the_fix(cidr: str, fix: str) -> None:
    with pytest.raises(ValueError, match=fix):
        subnet_plan(cidr, 2)


def test_too_few_zones_in_the_region_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"aws\.availability_zones=3"):
        zone_name(["us-west-1a", "us-west-1b"], 2, 3)


def test_nat_per_zone_only_in_production() -> None:
    assert network_args_for(aws_spec("production", 3)).nat_per_az
    assert not network_args_for(aws_spec("small", 3)).nat_per_az
    assert nat_gateway_count(3, True) == 3 and nat_gateway_count(3, False) == 1


@pytest.mark.parametrize("profile, zones, nats", [("production", 3, 3), ("production", 2, 2), ("small", 3, 1),
                                                  ("small", 2, 1)])
def test_synth_subnets_follow_zones_and_nat_follows_profile(profile: str, zones: int, nats: int) -> None:
    result = synth_foundation(profile, zones, audit=False, managed=False)
    subnets = of_type(result, SUBNET)
    public = [s for s in subnets if PUBLIC_ELB_TAG in s.inputs["tags"]]
    private = [s for s in subnets if INTERNAL_ELB_TAG in s.inputs["tags"]]
    assert len(public) == len(private) == zones
    assert len({s.inputs["availabilityZone"] for s in private}) == zones  # one per zone
    assert all(s.inputs.get("mapPublicIpOnLaunch") is False for s in subnets)
    assert len(of_type(result, NAT)) == nats
    # Every private subnet routes to the internet through a NAT gateway, never the IGW.
    private_routes = [r for r in of_type(result, ROUTE) if "private" in r.name]
    assert len(private_routes) == zones
    assert all(r.inputs.get("natGatewayId") and not r.inputs.get("gatewayId") for r in private_routes)
    used_nats = {r.inputs["natGatewayId"] for r in private_routes}
    assert len(used_nats) == nats


def test_nat_gateways_sit_in_public_subnets() -> None:
    result = synth_foundation("production", 3, audit=False, managed=False)
    public_ids = {mock_id(SUBNET, s.name) for s in of_type(result, SUBNET) if PUBLIC_ELB_TAG in s.inputs["tags"]}
    assert {n.inputs["subnetId"] for n in of_type(result, NAT)} <= public_ids


def test_default_security_group_is_emptied() -> None:
    result = synth_foundation("small", 2, audit=False, managed=False)
    [default] = of_type(result, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default.inputs.get("ingress") and not default.inputs.get("egress")


def test_two_networks_do_not_collide() -> None:
    def program() -> None:
        Network("a", NetworkArgs(platform="a", availability_zones=2, nat_per_az=False))
        Network("b", NetworkArgs(platform="b", availability_zones=3, nat_per_az=True, vpc_cidr="10.1.0.0/16"))

    result = synth(program)  # synth() asserts there are no URN collisions
    assert len(of_type(result, "aws:ec2/vpc:Vpc")) == 2
