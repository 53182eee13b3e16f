"""Network: security-group ingress, instance metadata, default security groups, flow logs.

- no ingress from 0.0.0.0/0 or ::/0 to admin or data ports, or to all ports (CKV_AWS_24,
  CKV_AWS_25, CKV_AWS_277; CKV_AWS_260 as far as port 80 falls in a wide range or "all");
- launch templates require IMDSv2 with a hop limit of 1 (CKV_AWS_79, CKV_AWS_341);
- every VPC's default security group is managed and has no rules (CKV2_AWS_12);
- every VPC has a flow log (CKV2_AWS_11).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs, StackValidationArgs

from .common import (
    MANDATORY,
    InvalidPropError,
    is_mapping,
    is_number,
    is_open_cidr,
    list_prop,
    mapping_prop,
    number_prop,
    resource_policy,
    stack_policy,
    str_list_prop,
    str_prop,
    wrong_type,
)

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"

RESTRICTED_PORTS: Mapping[int, str] = {
    22: "SSH",
    3389: "RDP",
    5985: "WinRM",
    5986: "WinRM/TLS",
    2375: "Docker",
    2376: "Docker/TLS",
    6443: "Kubernetes API",
    10250: "kubelet",
    5432: "PostgreSQL",
    3306: "MySQL",
    6379: "Redis",
    9200: "Elasticsearch",
    27017: "MongoDB",
}
"""Administration and data ports that must never be reachable from the whole internet."""

ALL_PROTOCOLS = frozenset({"-1", "all"})
ICMP_PROTOCOLS = frozenset({"icmp", "1", "icmpv6", "58"})
MAX_PORT = 65535


@dataclass(frozen=True)
class _Ingress:
    """One ingress rule, whatever resource declared it."""

    where: str
    protocol: str | None
    from_port: float | None
    to_port: float | None
    sources: list[str]


def _protocol(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if is_number(value):
        return str(int(value))
    if isinstance(value, str):
        return value.strip().lower()
    raise wrong_type(key, "a string", value)


def _exposure(rule: _Ingress) -> str | None:
    """What an ingress rule opens on a restricted port, or None.

    A missing protocol counts as every protocol and missing ports as the full range: what
    cannot be shown narrow is treated as wide.
    """
    proto = rule.protocol
    if proto in ICMP_PROTOCOLS:
        return None
    if proto is None or proto in ALL_PROTOCOLS:
        return "all ports (protocol -1)" if proto else "all ports (no protocol set)"
    low = 0 if rule.from_port is None else rule.from_port
    high = MAX_PORT if rule.to_port is None else rule.to_port
    if low <= 0 and high >= MAX_PORT:
        return f"all {proto} ports"
    hit = [f"{p} ({name})" for p, name in sorted(RESTRICTED_PORTS.items()) if low <= p <= high]
    if not hit:
        return None
    span = f"port {low:g}" if low == high else f"ports {low:g}-{high:g}"
    return f"{proto} {span}, including {', '.join(hit)}"


def _rule_from(item: Mapping[str, Any], where: str, keys: dict[str, str]) -> _Ingress:
    """An :class:`_Ingress` from a rule object, given the names of its fields."""
    try:
        sources: list[str] = []
        for key in ("cidrBlocks", "ipv6CidrBlocks"):
            if key in keys:
                sources += str_list_prop(item, keys[key]) or []
        for key in ("cidrIpv4", "cidrIpv6"):
            if key in keys:
                cidr = str_prop(item, keys[key])
                sources += [cidr] if cidr else []
        return _Ingress(
            where,
            _protocol(item.get(keys["protocol"]), keys["protocol"]),
            number_prop(item, keys["fromPort"]),
            number_prop(item, keys["toPort"]),
            sources,
        )
    except InvalidPropError as exc:
        raise InvalidPropError(f"{where}: {exc.message}") from None


_CLASSIC_KEYS = {
    "fromPort": "fromPort",
    "toPort": "toPort",
    "protocol": "protocol",
    "cidrBlocks": "cidrBlocks",
    "ipv6CidrBlocks": "ipv6CidrBlocks",
}
_VPC_RULE_KEYS = {
    "fromPort": "fromPort",
    "toPort": "toPort",
    "protocol": "ipProtocol",
    "cidrIpv4": "cidrIpv4",
    "cidrIpv6": "cidrIpv6",
}


def _ingress_rules(args: ResourceValidationArgs) -> Iterator[_Ingress]:
    if args.resource_type == SECURITY_GROUP:
        for i, item in enumerate(list_prop(args.props, "ingress") or []):
            if not is_mapping(item):
                raise wrong_type(f"ingress[{i}]", "an object", item)
            yield _rule_from(item, f"ingress[{i}]", _CLASSIC_KEYS)
    elif args.resource_type == SECURITY_GROUP_RULE:
        kind = str_prop(args.props, "type")
        if kind != "egress":
            yield _rule_from(args.props, "rule", _CLASSIC_KEYS)
    else:
        yield _rule_from(args.props, "rule", _VPC_RULE_KEYS)


def _no_public_admin_ingress(args: ResourceValidationArgs) -> Iterator[str]:
    for rule in _ingress_rules(args):
        open_sources = [s for s in rule.sources if is_open_cidr(s)]
        if not open_sources:
            continue
        exposed = _exposure(rule)
        if exposed:
            yield f"{rule.where} lets {', '.join(open_sources)} reach {exposed}"


def _imdsv2_required(args: ResourceValidationArgs) -> Iterator[str]:
    """IMDSv2 only and a hop limit of 1, so containers cannot borrow the node's role.

    A template that turns the metadata endpoint off (``httpEndpoint: disabled``) complies.
    Without ``metadataOptions`` the AMI decides, which allows IMDSv1 or a hop limit of 2.
    """
    options = mapping_prop(args.props, "metadataOptions")
    if options is None:
        yield (
            "metadataOptions is not set: instances get the AMI's defaults; set httpTokens to "
            "'required' and httpPutResponseHopLimit to 1"
        )
        return
    if str_prop(args.props, "metadataOptions.httpEndpoint") == "disabled":
        return
    tokens = str_prop(args.props, "metadataOptions.httpTokens")
    if tokens != "required":
        got = "not set" if tokens is None else f"{tokens!r}"
        yield f"IMDSv1 is allowed: metadataOptions.httpTokens is {got}, must be 'required'"
    hops = number_prop(args.props, "metadataOptions.httpPutResponseHopLimit")
    if hops != 1:
        got = "not set" if hops is None else f"{hops:g}"
        yield (
            f"containers can reach the instance metadata: metadataOptions.httpPutResponseHopLimit "
            f"is {got}, must be 1"
        )


def _default_group_closed(args: ResourceValidationArgs) -> Iterator[str]:
    """No rules on the default security group; leaving ``ingress``/``egress`` out removes them."""
    for key in ("ingress", "egress"):
        rules = list_prop(args.props, key) or []
        if rules:
            yield (
                f"the default security group has {len(rules)} {key} rule(s): it must allow no "
                "traffic, so that resources without a security group get none"
            )


def _vpcs_without(args: StackValidationArgs, dependent: str) -> Iterator[tuple[str, str | None]]:
    """VPCs no resource of type ``dependent`` depends on, as ``(name, urn)``."""
    covered = {
        dep.urn
        for res in args.resources
        if res.resource_type == dependent
        for dep in res.dependencies
    }
    for res in args.resources:
        if res.resource_type == VPC and res.urn not in covered:
            yield res.name, res.urn


def _vpc_flow_logs(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    for name, urn in _vpcs_without(args, FLOW_LOG):
        yield f"VPC {name} has no flow log (no aws.ec2.FlowLog depends on it)", urn


def _vpc_default_group(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    for name, urn in _vpcs_without(args, DEFAULT_SECURITY_GROUP):
        yield (
            f"VPC {name} leaves its default security group unmanaged, which allows all traffic "
            "between its members; manage it with aws.ec2.DefaultSecurityGroup and no rules",
            urn,
        )


no_public_admin_ingress = resource_policy(
    name="aws-security-group-no-public-admin-ingress",
    description=(
        "Security groups admit no traffic from 0.0.0.0/0 or ::/0 to admin/data ports "
        "(22, 3389, 5985-5986, 2375-2376, 6443, 10250, 5432, 3306, 6379, 9200, 27017) or to "
        "all ports (CKV_AWS_24, CKV_AWS_25, CKV_AWS_277, CKV_AWS_260)."
    ),
    enforcement=MANDATORY,
    applies_to={SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE},
    check=_no_public_admin_ingress,
)

launch_template_imdsv2 = resource_policy(
    name="aws-launch-template-imdsv2-required",
    description=(
        "Launch templates require IMDSv2 tokens and a metadata hop limit of 1 "
        "(CKV_AWS_79, CKV_AWS_341)."
    ),
    enforcement=MANDATORY,
    applies_to={LAUNCH_TEMPLATE},
    check=_imdsv2_required,
)

default_security_group_closed = resource_policy(
    name="aws-default-security-group-closed",
    description="Default security groups have no ingress or egress rules (CKV2_AWS_12).",
    enforcement=MANDATORY,
    applies_to={DEFAULT_SECURITY_GROUP},
    check=_default_group_closed,
)

vpc_flow_logs_enabled = stack_policy(
    name="aws-vpc-flow-logs-enabled",
    description="Every VPC has a flow log that depends on it (CKV2_AWS_11).",
    enforcement=MANDATORY,
    check=_vpc_flow_logs,
)

vpc_default_security_group_managed = stack_policy(
    name="aws-vpc-default-security-group-managed",
    description=(
        "Every VPC has a DefaultSecurityGroup resource that depends on it, so that its default "
        "group is closed (CKV2_AWS_12)."
    ),
    enforcement=MANDATORY,
    check=_vpc_default_group,
)

POLICIES: list[Policy] = [
    no_public_admin_ingress,
    launch_template_imdsv2,
    default_security_group_closed,
    vpc_flow_logs_enabled,
    vpc_default_security_group_managed,
]
