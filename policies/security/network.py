"""Network exposure: no ingress from the whole internet, and IMDSv2 on every instance."""

from __future__ import annotations

import ipaddress
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs
from pydantic import Field

from docpipe.config import internet_covered
from policies.common import PolicyConfig, resource_policy
from policies.props import UNKNOWN, elements, get, number
from policies.resource_types import (
    EC2_INSTANCE,
    LAUNCH_TEMPLATE,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
    VPC_INGRESS_RULE,
)

OPEN_NETWORKS = {"0.0.0.0/0", "::/0"}


def _is_open(cidr: Any) -> bool:
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return cidr.strip() in OPEN_NETWORKS


def _ports(rule: Any) -> str:
    low, high = number(get(rule, "fromPort")), number(get(rule, "toPort"))
    protocol = get(rule, "protocol", get(rule, "ipProtocol"))
    if protocol in ("-1", -1, "all") or (low in (None, 0.0, -1.0) and high in (None, 0.0, 65535.0, -1.0)):
        return "all ports"
    if low == high or high is None:
        return f"port {int(low or 0)}"
    return f"ports {int(low or 0)}-{int(high)}"


def _allowed_port(rule: Any, allowed: list[Any]) -> bool:
    low, high = number(get(rule, "fromPort")), number(get(rule, "toPort"))
    ports = {number(p) for p in allowed}
    return low is not None and low == high and low in ports


class IngressConfig(PolicyConfig):
    """Config of `no-open-ingress`."""

    allowed_ports: list[float] = Field(
        default=[],
        description="Single ports that may be open to the internet (e.g. 443 for a public endpoint).",
    )


def check_ingress(args: ResourceValidationArgs, config: IngressConfig, report: ReportViolation) -> None:
    """No ingress rule admits the whole internet (0.0.0.0/0 or ::/0)."""
    props = args.props
    rules: list[tuple[Any, list[Any]]] = []
    if args.resource_type == SECURITY_GROUP:
        for rule in elements(get(props, "ingress")):
            rules.append((rule, [*elements(get(rule, "cidrBlocks")), *elements(get(rule, "ipv6CidrBlocks"))]))
    elif args.resource_type == SECURITY_GROUP_RULE:
        if get(props, "type") == "ingress":
            rules.append(
                (props, [*elements(get(props, "cidrBlocks")), *elements(get(props, "ipv6CidrBlocks"))])
            )
    elif args.resource_type == VPC_INGRESS_RULE:
        rules.append((props, [get(props, "cidrIpv4"), get(props, "cidrIpv6")]))
    union: list[str] = []
    for rule, cidrs in rules:
        if _allowed_port(rule, list(config.allowed_ports)):
            continue
        open_cidrs = sorted({str(c).strip() for c in cidrs if _is_open(c)})
        if open_cidrs:
            report(
                f"{args.name!r} allows ingress from {', '.join(open_cidrs)} on {_ports(rule)}; "
                "restrict the source to the VPC or a security group",
                None,
            )
        else:
            union.extend(str(c).strip() for c in cidrs if isinstance(c, str))
    whole = _union_open(union)
    if whole:
        # 0.0.0.0/1 + 128.0.0.0/1 (or any split) admits the same internet as 0.0.0.0/0.
        report(
            f"{args.name!r} allows ingress from {', '.join(sorted(set(union)))}, which together cover "
            f"{whole}; restrict the source to the VPC or a security group",
            None,
        )


def _union_open(cidrs: list[str]) -> str:
    """`"0.0.0.0/0"` / `"::/0"` when the networks together cover a whole address family (the same
    judgement config validation makes of `allowedCidrs`); unparsable entries are skipped."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    return internet_covered(networks)


no_open_ingress = resource_policy(
    name="no-open-ingress",
    description="No security group admits ingress from 0.0.0.0/0 or ::/0, alone or as a union of "
    "smaller networks.",
    remediation=(
        "Workers only poll outwards, so their security groups need no ingress; the database and cache "
        "take ingress from the workers' security group (sourceSecurityGroupId / referencedSecurityGroupId) "
        "or the VPC CIDR, never from 0.0.0.0/0."
    ),
    types=(SECURITY_GROUP, SECURITY_GROUP_RULE, VPC_INGRESS_RULE),
    config=IngressConfig,
    check=check_ingress,
)


class Imdsv2Config(PolicyConfig):
    """Config of `ec2-imdsv2-required`."""

    max_put_response_hop_limit: float = Field(
        default=2,
        description="Highest accepted httpPutResponseHopLimit (2 lets a container on the instance "
        "use the metadata service).",
    )


def check_imdsv2(args: ResourceValidationArgs, config: Imdsv2Config, report: ReportViolation) -> None:
    """Instances require IMDSv2 session tokens (httpTokens 'required')."""
    options = get(args.props, "metadataOptions")
    if options is UNKNOWN:
        return
    if get(options, "httpEndpoint") == "disabled":
        return  # no metadata service at all, so no IMDSv1 either
    tokens = get(options, "httpTokens")
    if tokens != "required":
        report(
            f"{args.name!r} allows IMDSv1 (metadataOptions.httpTokens={tokens!r}); set "
            "metadataOptions.httpTokens='required'",
            None,
        )
    hops = number(get(options, "httpPutResponseHopLimit"))
    limit = config.max_put_response_hop_limit
    if hops is not None and hops > limit:
        report(
            f"{args.name!r} has metadataOptions.httpPutResponseHopLimit={int(hops)}; at most {int(limit)} "
            "keeps credentials from leaking past the container network",
            None,
        )


ec2_imdsv2_required = resource_policy(
    name="ec2-imdsv2-required",
    description="EC2 instances and launch templates require IMDSv2 (metadata session tokens).",
    remediation=(
        "Set metadataOptions={'httpTokens': 'required', 'httpEndpoint': 'enabled', "
        "'httpPutResponseHopLimit': 2} on the launch template (2 hops lets the worker container reach it)."
    ),
    types=(LAUNCH_TEMPLATE, EC2_INSTANCE),
    config=Imdsv2Config,
    check=check_imdsv2,
)
