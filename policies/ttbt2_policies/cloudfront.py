"""CloudFront distributions and the WAF web ACLs in front of them.

- every cache behaviour redirects viewers to HTTPS or accepts HTTPS only (CKV_AWS_34);
- viewers negotiate TLS 1.2 or newer, security policy TLSv1.2_2021 or later (CKV_AWS_174);
- standard access logs go to S3 (CKV_AWS_86) and a WAF web ACL is attached (CKV_AWS_68);
- S3 origins are reached through an origin access control, not a legacy origin access identity
  or a public bucket (CKV2_AWS_46);
- advisory: custom origins are reached over HTTPS with TLSv1.2 only (CKV2_AWS_72, CKV2_AWS_54);
- web ACLs of scope CLOUDFRONT rate-limit clients with a rate-based rule (platform rule,
  mandatory) and send CloudWatch metrics (platform rule, advisory);
- every web ACL has a logging configuration in the stack, joined through its ``resourceArn``,
  that redacts the ``authorization`` and ``cookie`` headers (CKV2_AWS_31, a stack policy).

The viewer TLS rule and the default certificate: with ``cloudfrontDefaultCertificate`` (the
``*.cloudfront.net`` name) CloudFront only accepts ``minimumProtocolVersion`` TLSv1, so the
minimum cannot be raised. Such a distribution complies as long as it serves no custom domain
(``aliases`` empty); a custom domain needs a custom certificate, which can set TLSv1.2_2021.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs, StackValidationArgs

from .common import (
    ADVISORY,
    MANDATORY,
    InvalidPropError,
    bool_prop,
    is_mapping,
    list_prop,
    mapping_prop,
    referenced,
    report_on,
    resource_policy,
    stack_policy,
    str_list_prop,
    str_prop,
    wrong_type,
)

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
REDACTED_HEADERS = ("authorization", "cookie")
"""Headers a WAF log must not hold: bearer tokens and session cookies are credentials."""

HTTPS_VIEWER_POLICIES = frozenset({"redirect-to-https", "https-only"})
MINIMUM_SECURITY_POLICY = (2, 2021)
"""TLSv1.2_2021: TLS 1.2 or newer, as ``(minor version, year)``."""
SECURITY_POLICY = re.compile(r"^TLSv1(?:\.(\d))?(?:_(\d{4}))?$")
ORIGIN_TLS_PROTOCOLS = ["TLSv1.2"]


def _security_policy(version: str) -> tuple[int, int] | None:
    """``(minor, year)`` of a security policy name (``TLSv1.2_2021`` -> (2, 2021))."""
    match = SECURITY_POLICY.match(version)
    if match is None:
        return None
    return int(match.group(1) or 0), int(match.group(2) or 0)


def _items(props: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
    """An array of objects, empty when absent."""
    items = list(list_prop(props, path) or [])
    for i, item in enumerate(items):
        if not is_mapping(item):
            raise wrong_type(f"{path}[{i}]", "an object", item)
    return items


# --- distributions -------------------------------------------------------------------------


def _viewer_https(args: ResourceValidationArgs) -> Iterator[str]:
    behaviours: list[tuple[str, Mapping[str, Any] | None]] = [
        ("defaultCacheBehavior", mapping_prop(args.props, "defaultCacheBehavior"))
    ]
    for i, item in enumerate(_items(args.props, "orderedCacheBehaviors")):
        pattern = item.get("pathPattern")
        label = f"orderedCacheBehaviors[{i}]"
        behaviours.append((f"{label} ({pattern})" if isinstance(pattern, str) else label, item))
    for label, behaviour in behaviours:
        if behaviour is None:
            yield f"{label} is not set: viewers' protocol cannot be checked"
            continue
        policy = str_prop(behaviour, "viewerProtocolPolicy")
        if policy not in HTTPS_VIEWER_POLICIES:
            got = "not set" if policy is None else repr(policy)
            yield (
                f"{label}: viewerProtocolPolicy is {got}, must be 'redirect-to-https' or "
                "'https-only' so that viewers never talk plain HTTP"
            )


def _viewer_tls(args: ResourceValidationArgs) -> Iterator[str]:
    certificate = mapping_prop(args.props, "viewerCertificate")
    if certificate is None:
        yield "viewerCertificate is not set: the viewer TLS policy cannot be checked"
        return
    if bool_prop(certificate, "cloudfrontDefaultCertificate"):
        aliases = str_list_prop(args.props, "aliases") or []
        if aliases:
            yield (
                f"the distribution serves {', '.join(aliases)} with the default CloudFront "
                "certificate: use an ACM certificate with minimumProtocolVersion TLSv1.2_2021"
            )
        return
    version = str_prop(certificate, "minimumProtocolVersion")
    parsed = None if version is None else _security_policy(version)
    if parsed is None or parsed < MINIMUM_SECURITY_POLICY:
        got = "not set (AWS default TLSv1)" if version is None else repr(version)
        yield (
            f"viewerCertificate.minimumProtocolVersion is {got}: must be TLSv1.2_2021 or newer "
            "(TLSv1.2_2025, TLSv1.3_2025)"
        )


def _access_logging(args: ResourceValidationArgs) -> Iterator[str]:
    if not str_prop(args.props, "loggingConfig.bucket"):
        yield "access logs are off: loggingConfig.bucket is not set"


def _waf_attached(args: ResourceValidationArgs) -> Iterator[str]:
    if not str_prop(args.props, "webAclId"):
        yield "no WAF web ACL protects the distribution: webAclId is not set"


def _is_s3_domain(domain: str) -> bool:
    domain = domain.lower()
    return domain.endswith(".s3.amazonaws.com") or ".s3." in domain


def _origin_label(i: int, origin: Mapping[str, Any]) -> str:
    origin_id = origin.get("originId")
    return f"origins[{i}] ({origin_id})" if isinstance(origin_id, str) else f"origins[{i}]"


def _s3_origin_access_control(args: ResourceValidationArgs) -> Iterator[str]:
    for i, origin in enumerate(_items(args.props, "origins")):
        domain = str_prop(origin, "domainName")
        if not domain or not _is_s3_domain(domain):
            continue
        if str_prop(origin, "originAccessControlId"):
            continue
        label = _origin_label(i, origin)
        if str_prop(origin, "s3OriginConfig.originAccessIdentity"):
            yield (
                f"{label} reaches S3 bucket {domain} through a legacy origin access identity: "
                "use an origin access control (originAccessControlId)"
            )
        else:
            yield (
                f"{label} reaches S3 bucket {domain} without an origin access control: set "
                "originAccessControlId so that the bucket stays private"
            )


def _origin_https(args: ResourceValidationArgs) -> Iterator[str]:
    for i, origin in enumerate(_items(args.props, "origins")):
        config = mapping_prop(origin, "customOriginConfig")
        if config is None:
            continue
        label = _origin_label(i, origin)
        policy = str_prop(config, "originProtocolPolicy")
        if policy != "https-only":
            got = "not set" if policy is None else repr(policy)
            yield f"{label}: customOriginConfig.originProtocolPolicy is {got}, must be 'https-only'"
        protocols = str_list_prop(config, "originSslProtocols")
        if protocols != ORIGIN_TLS_PROTOCOLS:
            got = "not set" if protocols is None else str(protocols)
            yield (
                f"{label}: customOriginConfig.originSslProtocols is {got}, must be "
                f"{ORIGIN_TLS_PROTOCOLS} only"
            )


# --- WAF web ACLs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """One web ACL rule, from ``rules`` (camelCase) or ``ruleJson`` (the API's PascalCase)."""

    label: str
    rate_based: bool
    metrics: bool | None


def _rules_from_json(value: str) -> list[_Rule]:
    try:
        raw = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidPropError(f"ruleJson is not valid JSON ({exc.msg})") from None
    if not isinstance(raw, list):
        raise wrong_type("ruleJson", "a JSON array of rules", raw)
    rules = []
    for i, rule in enumerate(raw):
        if not isinstance(rule, dict):
            raise wrong_type(f"ruleJson[{i}]", "an object", rule)
        name = rule.get("Name")
        statement = rule.get("Statement")
        visibility = rule.get("VisibilityConfig")
        metrics = (
            visibility.get("CloudWatchMetricsEnabled") if isinstance(visibility, dict) else None
        )
        rules.append(
            _Rule(
                f"rule {name!r}" if isinstance(name, str) else f"ruleJson[{i}]",
                isinstance(statement, dict)
                and isinstance(statement.get("RateBasedStatement"), dict),
                metrics if isinstance(metrics, bool) else None,
            )
        )
    return rules


def _web_acl_rules(props: Mapping[str, Any]) -> list[_Rule]:
    rules = []
    for i, rule in enumerate(_items(props, "rules")):
        name = rule.get("name")
        label = f"rule {name!r}" if isinstance(name, str) else f"rules[{i}]"
        try:
            rate = mapping_prop(rule, "statement.rateBasedStatement")
            metrics = bool_prop(rule, "visibilityConfig.cloudwatchMetricsEnabled")
        except InvalidPropError as exc:
            raise InvalidPropError(f"{label}: {exc.message}") from None
        rules.append(_Rule(label, rate is not None, metrics))
    rule_json = str_prop(props, "ruleJson")
    if rule_json:
        rules += _rules_from_json(rule_json)
    return rules


def _cloudfront_scope(args: ResourceValidationArgs) -> None:
    scope = str_prop(args.props, "scope")
    if (scope or "").upper() != "CLOUDFRONT":
        args.not_applicable(f"scope {scope!r} is not CLOUDFRONT")


def _rate_limited(args: ResourceValidationArgs) -> Iterator[str]:
    _cloudfront_scope(args)
    if not any(rule.rate_based for rule in _web_acl_rules(args.props)):
        yield (
            "no rule of the web ACL has a rateBasedStatement: bots and scrapers can send "
            "requests without limit; add a rate-based rule"
        )


def _metrics(args: ResourceValidationArgs) -> Iterator[str]:
    _cloudfront_scope(args)
    if not bool_prop(args.props, "visibilityConfig.cloudwatchMetricsEnabled"):
        yield "visibilityConfig.cloudwatchMetricsEnabled is not true: the web ACL sends no metrics"
    off = [r.label for r in _web_acl_rules(args.props) if r.metrics is not True]
    if off:
        yield f"CloudWatch metrics are off for {', '.join(off)}"


def _redacted_headers(logging: Mapping[str, Any]) -> set[str]:
    """Lower-cased names of the single headers a logging configuration redacts."""
    headers = set()
    for i, field in enumerate(_items(logging, "redactedFields")):
        try:
            name = str_prop(field, "singleHeader.name")
        except InvalidPropError as exc:
            raise InvalidPropError(f"redactedFields[{i}]: {exc.message}") from None
        if name:
            headers.add(name.lower())
    return headers


def _logging_problems(acl: Any, configs: list[Any]) -> Iterator[str]:
    if not configs:
        yield (
            f"web ACL {acl.name} has no logging configuration in the stack: no "
            "WebAclLoggingConfiguration has its resourceArn, so requests leave no evidence"
        )
        return
    for config in configs:
        try:
            missing = [h for h in REDACTED_HEADERS if h not in _redacted_headers(config.props)]
        except InvalidPropError as exc:
            raise InvalidPropError(
                f"WebAclLoggingConfiguration {config.name}: {exc.message}"
            ) from None
        if missing:
            yield (
                f"the logging configuration {config.name} of web ACL {acl.name} does not redact "
                f"the {', '.join(missing)} header(s): credentials would be written to the log "
                "(redactedFields singleHeader)"
            )


def _web_acl_logging(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    by_acl: dict[str, list[Any]] = {}
    for res in args.resources:
        if res.resource_type == WEB_ACL_LOGGING:
            for acl in referenced(res, "resourceArn", {WEB_ACL}):
                by_acl.setdefault(acl.urn, []).append(res)
    for res in args.resources:
        if res.resource_type == WEB_ACL:
            yield from report_on(res.urn, _logging_problems(res, by_acl.get(res.urn, [])))


# --- policies ------------------------------------------------------------------------------------

viewer_https = resource_policy(
    name="aws-cloudfront-viewer-https",
    description=(
        "Every CloudFront cache behaviour uses viewerProtocolPolicy redirect-to-https or "
        "https-only (CKV_AWS_34)."
    ),
    enforcement=MANDATORY,
    applies_to={DISTRIBUTION},
    check=_viewer_https,
)

viewer_tls = resource_policy(
    name="aws-cloudfront-viewer-tls",
    description=(
        "CloudFront distributions with a custom certificate require TLSv1.2_2021 or newer; the "
        "default certificate is accepted only without custom domains (CKV_AWS_174)."
    ),
    enforcement=MANDATORY,
    applies_to={DISTRIBUTION},
    check=_viewer_tls,
)

access_logging = resource_policy(
    name="aws-cloudfront-access-logging",
    description="CloudFront distributions send access logs to S3 (loggingConfig) (CKV_AWS_86).",
    enforcement=MANDATORY,
    applies_to={DISTRIBUTION},
    check=_access_logging,
)

waf_attached = resource_policy(
    name="aws-cloudfront-waf",
    description="CloudFront distributions are protected by a WAF web ACL (CKV_AWS_68).",
    enforcement=MANDATORY,
    applies_to={DISTRIBUTION},
    check=_waf_attached,
)

s3_origin_access_control = resource_policy(
    name="aws-cloudfront-s3-origin-access-control",
    description=(
        "CloudFront S3 origins use an origin access control, not a legacy origin access "
        "identity or a public bucket (CKV2_AWS_46)."
    ),
    enforcement=MANDATORY,
    applies_to={DISTRIBUTION},
    check=_s3_origin_access_control,
)

origin_https = resource_policy(
    name="aws-cloudfront-origin-https",
    description=(
        "CloudFront custom origins are reached with originProtocolPolicy https-only and "
        "TLSv1.2 only (CKV2_AWS_72, CKV2_AWS_54)."
    ),
    enforcement=ADVISORY,
    applies_to={DISTRIBUTION},
    check=_origin_https,
)

waf_rate_limit = resource_policy(
    name="aws-wafv2-cloudfront-rate-limit",
    description=(
        "Platform rule: WAF web ACLs of scope CLOUDFRONT have a rate-based rule that limits "
        "bot activity."
    ),
    enforcement=MANDATORY,
    applies_to={WEB_ACL},
    check=_rate_limited,
)

waf_metrics = resource_policy(
    name="aws-wafv2-cloudfront-metrics",
    description=(
        "Platform rule: WAF web ACLs of scope CLOUDFRONT and their rules send CloudWatch metrics."
    ),
    enforcement=ADVISORY,
    applies_to={WEB_ACL},
    check=_metrics,
)

waf_logging = stack_policy(
    name="aws-wafv2-logging",
    description=(
        "WAF web ACLs have a logging configuration in the stack (WebAclLoggingConfiguration "
        "whose resourceArn is the web ACL) that redacts the authorization and cookie headers "
        "(CKV2_AWS_31)."
    ),
    enforcement=MANDATORY,
    check=_web_acl_logging,
)

POLICIES: list[Policy] = [
    viewer_https,
    viewer_tls,
    access_logging,
    waf_attached,
    s3_origin_access_control,
    origin_https,
    waf_rate_limit,
    waf_metrics,
    waf_logging,
]
