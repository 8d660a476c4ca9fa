"""The VPC every AWS-side role shares.

Two public subnets for EC2 workers (public address + egress-only security group, so no NAT is
needed for them) and two private subnets for RDS, Valkey and VPC-attached Lambdas. A NAT gateway is
declared only when the plan has a VPC-attached Lambda that needs the internet (`plan.needs_nat`);
an S3 gateway endpoint keeps bucket traffic off the NAT either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from docpipe.plan import PlacementPlan
from infra.common import child, tags

VPC_CIDR = "10.40.0.0/16"
PUBLIC_CIDRS = ("10.40.0.0/20", "10.40.16.0/20")
PRIVATE_CIDRS = ("10.40.128.0/20", "10.40.144.0/20")


@dataclass(frozen=True)
class NetworkArgs:
    stack: str
    region: str
    needs_nat: bool


class Network(pulumi.ComponentResource):
    """VPC, subnets, routes, optional NAT gateway and the S3 gateway endpoint."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("docpipe:baseline:Network", name, {"needsNat": args.needs_nat}, opts)
        self._name = name
        self._args = args
        self.vpc_cidr = VPC_CIDR
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=VPC_CIDR,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags(args.stack, "network", Name=f"docpipe-{args.stack}"),
            opts=child(self),
        )
        self.vpc_id = vpc.id
        zones = [f"{args.region}a", f"{args.region}b"]
        public_rt = self._create_public_routing(vpc)
        self.public_subnet_ids = []
        for i, (zone, cidr) in enumerate(zip(zones, PUBLIC_CIDRS, strict=True)):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=True,
                tags=tags(args.stack, "network", Name=f"docpipe-{args.stack}-public-{i}"),
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}-rt", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child(self)
            )
            self.public_subnet_ids.append(subnet.id)
        private_rt = aws.ec2.RouteTable(
            f"{name}-private-rt", vpc_id=vpc.id, tags=tags(args.stack, "network"), opts=child(self)
        )
        self.private_subnet_ids = []
        for i, (zone, cidr) in enumerate(zip(zones, PRIVATE_CIDRS, strict=True)):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tags(args.stack, "network", Name=f"docpipe-{args.stack}-private-{i}"),
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}-rt", subnet_id=subnet.id, route_table_id=private_rt.id, opts=child(self)
            )
            self.private_subnet_ids.append(subnet.id)
        if args.needs_nat:
            self._create_nat(private_rt)
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[public_rt.id, private_rt.id],
            opts=child(self),
        )
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _create_public_routing(self, vpc: aws.ec2.Vpc) -> aws.ec2.RouteTable:
        self._igw = aws.ec2.InternetGateway(
            f"{self._name}-igw", vpc_id=vpc.id, tags=tags(self._args.stack, "network"), opts=child(self)
        )
        table = aws.ec2.RouteTable(
            f"{self._name}-public-rt", vpc_id=vpc.id, tags=tags(self._args.stack, "network"), opts=child(self)
        )
        aws.ec2.Route(
            f"{self._name}-public-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=self._igw.id,
            opts=child(self),
        )
        return table

    def _create_nat(self, private_rt: aws.ec2.RouteTable) -> None:
        # One NAT gateway (not one per zone): the VPC-attached Lambdas' egress is light and a second
        # gateway would double the fixed monthly cost.
        eip = aws.ec2.Eip(f"{self._name}-nat-eip", domain="vpc", opts=child(self))
        nat = aws.ec2.NatGateway(
            f"{self._name}-nat",
            allocation_id=eip.id,
            subnet_id=self.public_subnet_ids[0],
            tags=tags(self._args.stack, "network"),
            opts=child(self, depends_on=[self._igw]),
        )
        aws.ec2.Route(
            f"{self._name}-private-default",
            route_table_id=private_rt.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=child(self),
        )


def build_network(plan: PlacementPlan) -> Network:
    config = plan.config
    return Network(
        "network", NetworkArgs(stack=config.stack, region=config.aws_region, needs_nat=plan.needs_nat)
    )
