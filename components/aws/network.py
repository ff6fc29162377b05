"""The VPC: private subnets for nodes and data stores, public subnets for load balancers only.

Layout per availability zone: one private subnet (a /19 of a /16 VPC: the VPC CNI gives every
pod a VPC address, so node subnets need thousands of addresses) and one small public subnet
(a /24: only load balancers and NAT gateways live there). Private subnets reach the internet
through NAT: one per zone in the production profile (a zone outage then takes only its own
egress down), a single one otherwise (a NAT gateway costs about as much as a small node).

AWS APIs stay inside the VPC where the platform's pods call them: an S3 gateway endpoint on
every private route table (no NAT charge per GB, and its prefix list's ranges are what the S3
clients' NetworkPolicies may reach) and interface endpoints, with private DNS, for STS (IRSA),
ECR (image pulls), CloudWatch Logs and Secrets Manager (RDS credentials). Flow logs of the
whole VPC go to CloudWatch Logs (rejected and accepted traffic, 10-minute aggregation).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from omgml.components.aws import common
from omgml.components.base import require_between
from omgml.spec import PlatformSpec
from omgml.spec.common import Profile

TYPE_TOKEN = "omgml:aws:Network"

DEFAULT_VPC_CIDR = "10.0.0.0/16"
# Subnet tags the AWS Load Balancer Controller (and the in-tree service controller) use to
# find where internet-facing and internal load balancers go.
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"
SUBNET_TIER_TAG = "omgml.dev/subnet-tier"
# Subnet tier → its load-balancer role tag: internet-facing ones go public, internal ones private.
ELB_TAGS = {"public": PUBLIC_ELB_TAG, "private": INTERNAL_ELB_TAG}
# Interface endpoints: what pods and nodes call most (STS for every IRSA credential, ECR for
# every image pull, Logs, Secrets Manager for the RDS master secret). Each costs an hourly fee
# per zone, so services called rarely (EC2, SQS, SSM for Karpenter) keep going through NAT.
INTERFACE_ENDPOINTS: tuple[str, ...] = ("sts", "ecr.api", "ecr.dkr", "logs", "secretsmanager")
HTTPS = 443


@dataclass(frozen=True)
class NetworkArgs(common.AwsComponentArgs):
    availability_zones: int
    # One NAT gateway per zone (production) or one for the whole VPC.
    nat_per_az: bool
    vpc_cidr: str = DEFAULT_VPC_CIDR
    region: str = "us-east-1"
    profile: Profile = "laptop"
    # Flow-log retention: a year when compliance asks for audit evidence, three months otherwise.
    flow_log_retention_days: int = 90


@dataclass(frozen=True)
class ZoneSubnets:
    zone_index: int
    private_cidr: str
    public_cidr: str


def network_args_for(spec: PlatformSpec) -> NetworkArgs:
    """The spec's network: its AZ count (3 for "99.99", which the spec carries as a number) and
    NAT per zone only where the profile pays for zone-independent egress."""
    return NetworkArgs(platform=spec.name, availability_zones=spec.aws.availability_zones,
                       nat_per_az=nat_per_az(spec.profile), vpc_cidr=spec.aws.vpc_cidr, region=spec.aws.region,
                       profile=spec.profile, flow_log_retention_days=365 if spec.aws.audit_logging else 90)


def nat_per_az(profile: Profile) -> bool:
    return profile == "production"


def subnet_plan(vpc_cidr: str, zones: int) -> list[ZoneSubnets]:
    """Private /19-style blocks (an eighth of the VPC each) for the first zones, and the public
    blocks (a /24-style 256th each) carved from the eighth that follows them.

    Deterministic: the same CIDR and zone count always give the same plan, so adding nothing
    never moves a subnet (a moved subnet is a replaced subnet).
    """
    try:
        net = ipaddress.ip_network(vpc_cidr)
    except ValueError as exc:
        raise ValueError(f"NetworkArgs.vpc_cidr={vpc_cidr!r} is not a CIDR block ({exc}); use e.g. 10.0.0.0/16") from None
    if not isinstance(net, ipaddress.IPv4Network) or not 16 <= net.prefixlen <= 20:
        raise ValueError(f"NetworkArgs.vpc_cidr={vpc_cidr!r}: use an IPv4 block from /16 to /20 "
                         "(EKS pods take VPC addresses; smaller VPCs run out)")
    if not net.is_private:
        raise ValueError(f"NetworkArgs.vpc_cidr={vpc_cidr!r} is not a private (RFC 1918) range; use e.g. 10.0.0.0/16")
    require_between("NetworkArgs.availability_zones", zones, 2, 3)
    eighths = list(net.subnets(new_prefix=net.prefixlen + 3))
    public_block = eighths[zones]
    publics = list(public_block.subnets(new_prefix=net.prefixlen + 8))
    return [ZoneSubnets(i, str(eighths[i]), str(publics[i])) for i in range(zones)]


def nat_gateway_count(zones: int, per_az: bool) -> int:
    return zones if per_az else 1


def nat_index_for_zone(zone: int, per_az: bool) -> int:
    """Which NAT gateway a zone's private subnet routes through."""
    return zone if per_az else 0


def endpoint_service(region: str, service: str) -> str:
    """The VPC endpoint service name of an AWS service in `region` (com.amazonaws.<region>.<svc>)."""
    return f"com.amazonaws.{region}.{service}"


def flow_log_statements(log_group_arn: str) -> list[common.JsonDict]:
    """What VPC Flow Logs needs to deliver into one log group (and its streams), nothing else."""
    return [{"Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams"],
             "Resource": [log_group_arn, f"{log_group_arn}:*"]}]


def zone_name(names: list[str], index: int, wanted: int) -> str:
    if len(names) < wanted:
        raise ValueError(
            f"aws.availability_zones={wanted}, but the region offers only {len(names)} zones "
            f"({names}); lower aws.availability_zones or pick another aws.region"
        )
    return names[index]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    availability_zones: list[pulumi.Output[str]]
    nat_gateway_count: int
    # The ranges of S3's regional prefix list (what the S3 gateway endpoint routes), for
    # NetworkPolicies that let S3 clients out on 443 and nowhere else.
    s3_cidrs: pulumi.Output[list[str]]
    s3_prefix_list_id: pulumi.Output[str]
    endpoint_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        plan = subnet_plan(args.vpc_cidr, args.availability_zones)
        nats = nat_gateway_count(args.availability_zones, args.nat_per_az)
        child = pulumi.ResourceOptions(parent=self)

        def tagged(role: str, extra: dict[str, str] | None = None) -> dict[str, str]:
            return args.tag_set("network", {"Name": f"{args.platform}-{role}", **(extra or {})})

        # Opt-in zones (Local Zones, Wavelength) lack most services (EKS, RDS Multi-AZ, MSK).
        zones = aws.get_availability_zones_output(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.availability_zones = [
            zones.names.apply(lambda names, i=i: zone_name(list(names), i, args.availability_zones))
            for i in range(args.availability_zones)
        ]

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            # EKS, RDS and the VPC endpoints all rely on DNS names inside the VPC.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tagged("vpc"),
            opts=child,
        )
        # The default group admits all traffic between its members; nothing should use it, so
        # it is emptied (CIS AWS Foundations 5.4) instead of left as a trap.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], tags=tagged("default-closed"), opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tagged("igw"), opts=child)

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags=tagged("public"), opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=child)

        def subnet(tier: str, zone: int, cidr: str) -> aws.ec2.Subnet:
            # Nothing launched in a subnet gets a public address by accident: load balancers and
            # NAT gateways bring their own.
            return aws.ec2.Subnet(
                f"{name}-{tier}-{zone}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=self.availability_zones[zone],
                map_public_ip_on_launch=False,
                tags=tagged(f"{tier}-{zone}", {ELB_TAGS[tier]: "1", SUBNET_TIER_TAG: tier}),
                opts=child,
            )

        publics: list[aws.ec2.Subnet] = []
        privates: list[aws.ec2.Subnet] = []
        for z in plan:
            pub = subnet("public", z.zone_index, z.public_cidr)
            aws.ec2.RouteTableAssociation(f"{name}-public-{z.zone_index}-rta", subnet_id=pub.id,
                                          route_table_id=public_rt.id, opts=child)
            publics.append(pub)
            privates.append(subnet("private", z.zone_index, z.private_cidr))

        gateways: list[aws.ec2.NatGateway] = []
        for i in range(nats):
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", tags=tagged(f"nat-{i}"), opts=child)
            gateways.append(aws.ec2.NatGateway(
                f"{name}-nat-{i}",
                allocation_id=eip.id,
                subnet_id=publics[i].id,
                tags=tagged(f"nat-{i}"),
                # A NAT gateway needs the internet gateway attached before it can route.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            ))
        private_tables: list[aws.ec2.RouteTable] = []
        for z, priv in zip(plan, privates, strict=True):
            rt = aws.ec2.RouteTable(f"{name}-private-{z.zone_index}-rt", vpc_id=vpc.id,
                                    tags=tagged(f"private-{z.zone_index}"), opts=child)
            private_tables.append(rt)
            aws.ec2.Route(
                f"{name}-private-{z.zone_index}-default",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=gateways[nat_index_for_zone(z.zone_index, args.nat_per_az)].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{z.zone_index}-rta", subnet_id=priv.id,
                                          route_table_id=rt.id, opts=child)

        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=vpc.id,
            service_name=endpoint_service(args.region, "s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_tables],
            tags=tagged("s3-endpoint"),
            opts=child,
        )
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            description=f"VPC interface endpoints of {args.platform}: HTTPS from inside the VPC only",
            vpc_id=vpc.id,
            tags=tagged("endpoints"),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https", security_group_id=endpoint_sg.id, cidr_ipv4=args.vpc_cidr,
            ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
            description="HTTPS to the AWS API endpoints from the VPC", tags=tagged("endpoints-https"),
            opts=pulumi.ResourceOptions(parent=endpoint_sg))
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}-endpoint",
                vpc_id=vpc.id,
                service_name=endpoint_service(args.region, service),
                vpc_endpoint_type="Interface",
                subnet_ids=[p.id for p in privates],
                security_group_ids=[endpoint_sg.id],
                # The service's public name resolves to the endpoint inside the VPC: SDKs need no
                # endpoint override.
                private_dns_enabled=True,
                tags=tagged(f"{service}-endpoint"),
                opts=child,
            )

        flow_logs = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/omgml/{args.platform}/vpc-flow-logs",
            retention_in_days=args.flow_log_retention_days,
            tags=tagged("flow-logs"),
            opts=common.stateful_options(args.profile, self),
        )
        flow_role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=common.service_trust_policy("vpc-flow-logs.amazonaws.com"),
            description=f"VPC Flow Logs delivery of {args.platform}",
            tags=tagged("flow-logs"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy", role=flow_role.id,
            policy=flow_logs.arn.apply(lambda arn: common.policy_document(flow_log_statements(arn))), opts=child)
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=flow_logs.arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=600,
            tags=tagged("flow-log"),
            opts=child,
        )

        self.vpc_id = vpc.id
        self.vpc_cidr = args.vpc_cidr
        self.s3_cidrs = s3.cidr_blocks.apply(lambda blocks: sorted(blocks or []))
        self.s3_prefix_list_id = s3.prefix_list_id
        self.endpoint_security_group_id = endpoint_sg.id
        self.private_subnet_ids = [s.id for s in privates]
        self.public_subnet_ids = [s.id for s in publics]
        self.nat_gateway_count = nats
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "private_subnet_ids": self.private_subnet_ids,
            "public_subnet_ids": self.public_subnet_ids,
        })
