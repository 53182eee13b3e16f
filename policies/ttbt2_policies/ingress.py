"""Internet-facing load balancers that Kubernetes Ingresses create (AWS Load Balancer Controller).

An Ingress of class ``alb`` (``spec.ingressClassName``, or the legacy annotation
``kubernetes.io/ingress.class``) becomes an Application Load Balancer; its annotations decide
what kind. When the annotation ``alb.ingress.kubernetes.io/scheme`` is ``internet-facing``:

- its sources are restricted (platform rule, mandatory): ``security-group-prefix-lists`` (for
  instance CloudFront's origin-facing list), ``inbound-cidrs`` naming no everyone-network
  (``0.0.0.0/0``, ``::/0``), or ``security-groups`` of its own. Without any of them the
  controller opens the listeners to ``0.0.0.0/0``, and anyone skips the CDN and its WAF;
- it logs its access (platform rule, mandatory): ``load-balancer-attributes`` holds
  ``access_logs.s3.enabled=true`` and an ``access_logs.s3.bucket``;
- in production stacks (config ``productionStacks``) it is deletion-protected (platform rule,
  mandatory): ``load-balancer-attributes`` holds ``deletion_protection.enabled=true``.

Missing properties. The scheme defaults to ``internal`` (the controller's default), so an Ingress
without the annotation, or without annotations, is not internet-facing and the rules do not
apply; nor do they to Ingresses of another class. A missing restriction or attribute on an
internet-facing Ingress is a violation (the controller's defaults are open, unlogged and
deletable).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs

from .common import (
    MANDATORY,
    mapping_prop,
    production_config_schema,
    require_production,
    resource_policy,
    str_prop,
    wrong_type,
)

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
ALB = "alb.ingress.kubernetes.io/"
SCHEME = f"{ALB}scheme"
PREFIX_LISTS = f"{ALB}security-group-prefix-lists"
INBOUND_CIDRS = f"{ALB}inbound-cidrs"
SECURITY_GROUPS = f"{ALB}security-groups"
ATTRIBUTES = f"{ALB}load-balancer-attributes"
LEGACY_CLASS = "kubernetes.io/ingress.class"


def _annotations(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The Ingress's annotations, empty when absent."""
    return mapping_prop(props, "metadata.annotations") or {}


def _note(annotations: Mapping[str, Any], key: str) -> str | None:
    """A string annotation, None when absent."""
    value = annotations.get(key)
    if value is not None and not isinstance(value, str):
        raise wrong_type(f"metadata.annotations[{key!r}]", "a string", value)
    return value


def _internet_facing(args: ResourceValidationArgs) -> Mapping[str, Any]:
    """The annotations of an internet-facing ALB Ingress; marks any other not applicable."""
    annotations = _annotations(args.props)
    cls = str_prop(args.props, "spec.ingressClassName") or _note(annotations, LEGACY_CLASS)
    if cls != "alb":
        args.not_applicable(f"ingress class {cls!r} is not alb")
    if (_note(annotations, SCHEME) or "internal") != "internet-facing":
        args.not_applicable("the load balancer is internal (scheme not internet-facing)")
    return annotations


def _items(value: str) -> list[str]:
    """A stringList annotation's items (comma-separated, spaces ignored)."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _everyone(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def _source_restricted(args: ResourceValidationArgs) -> Iterator[str]:
    notes = _internet_facing(args)
    prefix_lists = _items(_note(notes, PREFIX_LISTS) or "")
    groups = _items(_note(notes, SECURITY_GROUPS) or "")
    cidrs = _items(_note(notes, INBOUND_CIDRS) or "")
    open_cidrs = [c for c in cidrs if _everyone(c)]
    if open_cidrs:
        yield (
            f"{INBOUND_CIDRS} admits everyone ({', '.join(open_cidrs)}): name the networks "
            "that may reach the load balancer, or use a prefix list (CloudFront's origin-facing "
            "list for a load balancer behind the CDN)"
        )
    elif not (prefix_lists or groups or cidrs):
        yield (
            "the internet-facing load balancer has no source restriction, so the controller "
            f"opens it to 0.0.0.0/0: set {PREFIX_LISTS} (CloudFront's origin-facing list), "
            f"{INBOUND_CIDRS} or {SECURITY_GROUPS}"
        )


def _attributes(notes: Mapping[str, Any]) -> dict[str, str]:
    """The ``load-balancer-attributes`` stringMap (``k1=v1,k2=v2``)."""
    pairs: dict[str, str] = {}
    for item in _items(_note(notes, ATTRIBUTES) or ""):
        key, _, value = item.partition("=")
        pairs[key.strip()] = value.strip()
    return pairs


def _access_logs(args: ResourceValidationArgs) -> Iterator[str]:
    attributes = _attributes(_internet_facing(args))
    if attributes.get("access_logs.s3.enabled", "").lower() != "true":
        yield (
            f"{ATTRIBUTES} does not hold access_logs.s3.enabled=true: the internet-facing load "
            "balancer keeps no record of who reached it"
        )
    elif not attributes.get("access_logs.s3.bucket"):
        yield f"{ATTRIBUTES} enables access logs without access_logs.s3.bucket"


def _deletion_protection(args: ResourceValidationArgs) -> Iterator[str]:
    stack = require_production(args)
    attributes = _attributes(_internet_facing(args))
    if attributes.get("deletion_protection.enabled", "").lower() != "true":
        yield (
            f"{ATTRIBUTES} does not hold deletion_protection.enabled=true in production stack "
            f"{stack!r}: a stray change could delete the load balancer the users reach"
        )


source_restricted = resource_policy(
    name="k8s-alb-ingress-source-restricted",
    description=(
        "Platform rule: an internet-facing ALB Ingress restricts its sources "
        "(security-group-prefix-lists, inbound-cidrs without 0.0.0.0/0 or ::/0, or "
        "security-groups), so nobody skips the CDN and its WAF."
    ),
    enforcement=MANDATORY,
    applies_to={INGRESS},
    check=_source_restricted,
)

access_logs = resource_policy(
    name="k8s-alb-ingress-access-logs",
    description=(
        "Platform rule: an internet-facing ALB Ingress enables access logs to S3 "
        "(load-balancer-attributes access_logs.s3.enabled=true with a bucket)."
    ),
    enforcement=MANDATORY,
    applies_to={INGRESS},
    check=_access_logs,
)

deletion_protection = resource_policy(
    name="k8s-alb-ingress-deletion-protection",
    description=(
        "Platform rule: in production stacks (config productionStacks), an internet-facing ALB "
        "Ingress enables deletion protection (load-balancer-attributes "
        "deletion_protection.enabled=true)."
    ),
    enforcement=MANDATORY,
    applies_to={INGRESS},
    check=_deletion_protection,
    config_schema=production_config_schema(),
)

POLICIES: list[Policy] = [source_restricted, access_logs, deletion_protection]

__all__ = ["INGRESS", "POLICIES", "access_logs", "deletion_protection", "source_restricted"]
