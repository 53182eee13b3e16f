"""One entry of the ``ttbt2:services`` stack config key: a service delivered by canary.

This module is pure (no resources, no cloud calls), like the settings (``config/``), which
validate the list with these models and turn :func:`check_services` results into their
``Problem`` type. Field names are camelCase in the stack config and snake_case in Python.

Example stack entry::

    ttbt2:services:
      - name: api
        image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/api@sha256:<64 hex>
        port: 8080
        healthPath: /healthz
        publicPaths: [/api]
        canary:
          steps: [{setWeight: 10}, {pauseSeconds: 60}, {setWeight: 50}, {pauseSeconds: 120}]
          analysis: {intervalSeconds: 60, failureLimit: 2, initialDelaySeconds: 60}
        slo: {successRate: 0.99, p95LatencyMs: 1000}
        metrics:
          - {name: http_server_requests_seconds, type: histogram}
          - {name: ttbt2_active_sessions, type: gauge}
        awsPermissions:
          - actions: [s3:GetObject]
            resources: [arn:aws:s3:::ttbt2-prod-user-data/*]
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components.delivery.rollback import ROLLBACK_LIMIT_SECONDS, rollback_breakdown
from policies.ttbt2_policies.floors import floors_for
from policies.ttbt2_policies.metric_catalog import (
    METRIC_FAMILIES_ANNOTATION,
    SERVICE_DEFAULT_FAMILIES,
    Family,
    Kind,
    family_problem,
)

ServiceProblem = tuple[str, object, str]
"""``(key, value, allowed)``: the shape ``config.Problem`` is built from."""

_DNS_LABEL = r"^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$"
# repository: optional registry host[:port], then lowercase path components (OCI distribution).
_REPOSITORY = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
_QUANTITY = re.compile(
    r"^(?P<number>\+?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"
)
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*]+$")
_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12})?:(?P<resource>.+)$")

IMAGE_ALLOWED = (
    "a pinned image: <repository>@sha256:<64 hex digits> or <repository>:<tag> with a tag "
    "other than 'latest'"
)
UNSCOPED_ACTIONS = frozenset(
    {
        "cloudwatch:PutMetricData",
        "ecr:GetAuthorizationToken",
        "sts:GetCallerIdentity",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
)
"""Actions that support no resource-level scoping, the only ones allowed on resource ``*``."""

_SUFFIX = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse_quantity(text: str) -> Decimal:
    """The value of a Kubernetes quantity string (``250m``, ``1.5``, ``512Mi``, ``1e3``).

    Raises ``ValueError`` for anything the API server would refuse.
    """
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a Kubernetes quantity (e.g. 250m or 1 for CPU, 512Mi or 1Gi "
            "for memory)"
        )
    suffix = match["suffix"] or ""
    try:
        number = Decimal(match["number"])
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from exc
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _SUFFIX[suffix]


def check_image(image: str) -> str:
    """``image`` if it is pinned to a digest or a tag other than ``latest``; else ValueError."""
    reference, _, digest = image.partition("@")
    if digest and not _DIGEST.match(digest):
        raise ValueError(f"image {image!r}: the digest must be sha256:<64 hex>; {IMAGE_ALLOWED}")
    last = reference.rsplit("/", 1)[-1]
    repository, tag = reference, ""
    if ":" in last:
        repository, _, tag = reference.rpartition(":")
    if not _REPOSITORY.match(repository):
        raise ValueError(f"image {image!r}: {repository!r} is not a repository; {IMAGE_ALLOWED}")
    if digest:
        # A digest pins the bytes whatever the tag says, so any valid tag may accompany it.
        if tag and not _TAG.match(tag):
            raise ValueError(f"image {image!r}: {tag!r} is not a tag; {IMAGE_ALLOWED}")
        return image
    if not tag:
        # No tag means `latest` to every runtime: the same config could run different code.
        raise ValueError(f"image {image!r} has no tag or digest; {IMAGE_ALLOWED}")
    if tag == "latest":
        raise ValueError(f"image {image!r} uses the moving tag 'latest'; {IMAGE_ALLOWED}")
    if not _TAG.match(tag):
        raise ValueError(f"image {image!r}: {tag!r} is not a tag; {IMAGE_ALLOWED}")
    return image


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Quantities(_Model):
    """CPU and memory as Kubernetes quantity strings."""

    cpu: str = Field(description="CPU, e.g. 250m or 1.")
    memory: str = Field(description="Memory, e.g. 256Mi or 1Gi.")

    @field_validator("cpu", "memory")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if parse_quantity(value) <= 0:
            raise ValueError(f"{value!r} must be more than zero")
        return value


class Resources(_Model):
    """Requests (what the scheduler reserves) and limits (the most a container may use)."""

    requests: Quantities = Field(
        default=Quantities(cpu="250m", memory="256Mi"), description="Reserved per container."
    )
    limits: Quantities = Field(
        default=Quantities(cpu="1", memory="512Mi"), description="Ceiling per container."
    )

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Resources:
        for kind in ("cpu", "memory"):
            request, limit = getattr(self.requests, kind), getattr(self.limits, kind)
            if parse_quantity(limit) < parse_quantity(request):
                raise ValueError(
                    f"limits.{kind} ({limit}) must be at least requests.{kind} ({request})"
                )
        return self


class CanaryStep(_Model):
    """One canary step: exactly one of setWeight, pauseSeconds, pauseUntilPromoted."""

    set_weight: int | None = Field(
        default=None, ge=1, le=100, description="Percent of traffic sent to the canary."
    )
    pause_seconds: int | None = Field(
        default=None, ge=1, le=86400, description="Wait this long before the next step."
    )
    pause_until_promoted: Literal[True] | None = Field(
        default=None,
        description="Wait until an operator promotes the rollout (kubectl argo rollouts promote).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CanaryStep:
        given = [v for v in (self.set_weight, self.pause_seconds, self.pause_until_promoted) if v]
        if len(given) != 1:
            raise ValueError(
                "a step is exactly one of {setWeight: 1-100}, {pauseSeconds: n} or "
                "{pauseUntilPromoted: true}"
            )
        return self

    def to_argo(self) -> dict[str, Any]:
        """The step as an Argo Rollouts canary step."""
        if self.set_weight is not None:
            return {"setWeight": self.set_weight}
        if self.pause_seconds is not None:
            return {"pause": {"duration": self.pause_seconds}}
        return {"pause": {}}  # no duration: Argo waits for a promotion


class Analysis(_Model):
    """Background analysis of the canary against the service's SLO."""

    interval_seconds: int = Field(default=60, ge=10, le=600, description="Between measurements.")
    failure_limit: int = Field(
        default=2, ge=0, le=10, description="Failed measurements tolerated; one more aborts."
    )
    initial_delay_seconds: int = Field(
        default=60, ge=0, le=600, description="Wait before the first measurement."
    )
    starting_step: int = Field(
        default=1, ge=0, description="Index of the canary step at which analysis starts."
    )


class Canary(_Model):
    """Canary strategy: the steps and the analysis that may abort them."""

    steps: list[CanaryStep] = Field(
        default=[
            CanaryStep(set_weight=10),
            CanaryStep(pause_seconds=120),
            CanaryStep(set_weight=25),
            CanaryStep(pause_seconds=120),
            CanaryStep(set_weight=50),
            CanaryStep(pause_seconds=120),
        ],
        min_length=1,
        description="Steps; after the last one the canary takes all traffic.",
    )
    analysis: Analysis = Field(default=Analysis(), description="Background analysis.")


class Slo(_Model):
    """What the canary must keep to be promoted."""

    success_rate: float = Field(
        default=0.99, gt=0, le=1, description="Share of requests not answered 5xx, e.g. 0.99."
    )
    p95_latency_ms: int = Field(default=1000, ge=1, le=60000, description="p95 latency bound.")


class AwsPermission(_Model):
    """One statement of the service's IAM policy (its IRSA role): allowed actions on ARNs."""

    actions: list[str] = Field(min_length=1, description="IAM actions, e.g. s3:GetObject.")
    resources: list[str] = Field(min_length=1, description="ARNs the actions apply to.")

    @field_validator("actions")
    @classmethod
    def _actions(cls, actions: list[str]) -> list[str]:
        for action in actions:
            service, _, name = action.partition(":")
            if action == "*" or name == "*":
                raise ValueError(
                    f"action {action!r} grants a whole service; "
                    "name each action (e.g. s3:GetObject)"
                )
            if not _ACTION.match(action):
                raise ValueError(f"{action!r} is not an IAM action like s3:GetObject")
            if service == "iam":
                # A workload that can change IAM can grant itself anything.
                raise ValueError(f"action {action!r}: services may not use IAM actions")
        return actions

    @model_validator(mode="after")
    def _resources(self) -> AwsPermission:
        for resource in self.resources:
            if resource == "*":
                unscoped = sorted(set(self.actions) - UNSCOPED_ACTIONS)
                if unscoped:
                    raise ValueError(
                        f"resource '*' is only allowed for actions without resource-level "
                        f"scoping ({', '.join(sorted(UNSCOPED_ACTIONS))}); name the ARNs for "
                        f"{', '.join(unscoped)}"
                    )
                continue
            match = _ARN.match(resource)
            if not match or match["resource"] == "*":
                raise ValueError(
                    f"resource {resource!r} must be an ARN naming resources, "
                    "e.g. arn:aws:s3:::bucket/prefix/*"
                )
        return self

    def to_statement(self) -> dict[str, Any]:
        """The IAM policy statement."""
        return {"Effect": "Allow", "Action": list(self.actions), "Resource": list(self.resources)}


class MetricFamily(_Model):
    """A metric family the service exposes on its metrics path, as its ``# TYPE`` line names it."""

    name: str = Field(
        description="Metric name; a counter ends in _total, a histogram has no _bucket suffix."
    )
    type: Kind = Field(description="counter, gauge, histogram or summary.")

    @model_validator(mode="after")
    def _valid(self) -> MetricFamily:
        problem = family_problem(self.name, self.type)
        if problem is not None:
            raise ValueError(problem)
        return self

    def to_family(self) -> Family:
        """The catalog's form of the family."""
        return Family(self.name, self.type)


DEFAULT_METRICS = [MetricFamily(name=f.name, type=f.kind) for f in SERVICE_DEFAULT_FAMILIES]


class ServiceSpec(_Model):
    """One application service: its image, pods, scaling, canary, SLO and AWS access."""

    name: str = Field(
        description="Service name (DNS-1123 label, max 42 chars): namespace, Service, Rollout.",
        pattern=_DNS_LABEL,
    )
    image: str = Field(description=IMAGE_ALLOWED)
    port: int = Field(
        default=8080,
        ge=1024,
        le=65535,
        description="Container port (1024-65535: the pod runs without root or capabilities).",
    )
    health_path: str = Field(
        default="/healthz", pattern=_PATH.pattern, description="Readiness/liveness HTTP path."
    )
    metrics_path: str = Field(
        default="/metrics",
        pattern=_PATH.pattern,
        description="Path of the Prometheus metrics on the service port (scraped every 15 s).",
    )
    metrics: list[MetricFamily] = Field(
        default=DEFAULT_METRICS,
        min_length=1,
        description=(
            "Metric families the service exposes on metricsPath, each {name, type}; the "
            "default is the HTTP contract, http_server_requests_seconds (histogram), which the "
            "canary analysis and the alerts read. A list replaces the default, so keep it in."
        ),
    )
    public_paths: list[str] = Field(
        default=[], description="Path prefixes served through the CDN and the ingress."
    )
    resources: Resources = Field(default=Resources(), description="CPU and memory per pod.")
    min_replicas: int = Field(default=2, ge=1, le=100, description="Fewest pods (HPA).")
    max_replicas: int = Field(default=6, ge=1, le=200, description="Most pods (HPA).")
    target_cpu_utilization: int = Field(
        default=70, ge=10, le=95, description="HPA target, percent of the CPU request."
    )
    canary: Canary = Field(default=Canary(), description="Canary steps and analysis.")
    slo: Slo = Field(default=Slo(), description="Success rate and p95 latency the canary keeps.")
    aws_permissions: list[AwsPermission] = Field(
        default=[], description="IAM statements of the service's IRSA role."
    )

    @field_validator("image")
    @classmethod
    def _image(cls, image: str) -> str:
        return check_image(image)

    @field_validator("public_paths")
    @classmethod
    def _paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not _PATH.match(path):
                raise ValueError(f"{path!r} must be a URL path prefix starting with /")
        if len(set(paths)) != len(paths):
            raise ValueError("path prefixes must be unique")
        return paths

    @field_validator("metrics")
    @classmethod
    def _unique_metrics(cls, metrics: list[MetricFamily]) -> list[MetricFamily]:
        names = [m.name for m in metrics]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"metric families must be unique; repeated: {', '.join(repeated)}")
        return metrics

    def metric_families_annotation(self) -> dict[str, str]:
        """The ServiceMonitor annotation through which the stack's policies see the families."""
        listed = [{"name": m.name, "type": m.type} for m in self.metrics]
        return {METRIC_FAMILIES_ANNOTATION: json.dumps(listed, separators=(",", ":"))}

    def iam_policy_document(self) -> dict[str, Any]:
        """The IAM policy of the service's IRSA role (``{}`` statements when none)."""
        return {
            "Version": "2012-10-17",
            "Statement": [p.to_statement() for p in self.aws_permissions],
        }


class ServicesError(ValueError):
    """Bad ``ttbt2:services`` entries; :attr:`problems` lists ``(key, value, allowed)``."""

    def __init__(self, problems: list[ServiceProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k} = {v!r}: {a}" for k, v, a in problems))


def _key(loc: Sequence[int | str]) -> str:
    """``("services", 0, "image")`` -> ``services[0].image``."""
    text = str(loc[0]) if loc else "services"
    for part in loc[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _lookup(raw: Any, loc: Sequence[int | str]) -> object:
    for part in loc[1:]:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def parse_services(environment: str, raw: Any) -> list[ServiceSpec]:
    """Validate a raw ``ttbt2:services`` list; raise :class:`ServicesError` naming each key.

    Runs the field rules, then :func:`check_services`, so every problem is reported at once.
    """

    class _Services(BaseModel):
        services: list[ServiceSpec]

    try:
        parsed = _Services.model_validate({"services": raw}).services
    except ValidationError as exc:
        problems: list[ServiceProblem] = []
        for error in exc.errors():
            loc = error["loc"]
            msg = str(error["msg"]).removeprefix("Value error, ")
            problems.append((_key(loc), _lookup({"services": raw}["services"], loc), msg))
        raise ServicesError(problems) from None
    problems = check_services(environment, parsed)
    if problems:
        raise ServicesError(problems)
    return parsed


def service_namespace(service: str, delivered: Collection[str], app_namespace: str) -> str:
    """Namespace of ``service``'s pods and of the Secrets and identity they use.

    A delivered service (one of ``delivered``, declared in ``ttbt2:services``) has a namespace
    of its own, named after it; any other service runs in the shared ``app_namespace``.
    """
    return service if service in delivered else app_namespace


def min_replicas_floor(environment: str) -> int:
    """Fewest replicas a service may run: 2 outside dev (one pod per zone survives a drain)."""
    return floors_for(environment).service_min_replicas


def _overlap(a: str, b: str) -> bool:
    a_dir, b_dir = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a == b or a_dir.startswith(b_dir) or b_dir.startswith(a_dir)


def check_services(environment: str, services: Iterable[ServiceSpec]) -> list[ServiceProblem]:
    """Cross-field and cross-service rules; ``(key, value, allowed)`` for every problem.

    Keys are relative to the stack config (``services[1].minReplicas``).
    """
    problems: list[ServiceProblem] = []
    seen_names: dict[str, int] = {}
    # Every service's Ingress joins the one ALB of the environment, so a path served by two
    # services would be routed by rule order, not by intent.
    seen_paths: list[tuple[str, str, int]] = []
    floor = min_replicas_floor(environment)
    for i, svc in enumerate(services):
        key = f"services[{i}]"
        if svc.name in seen_names:
            problems.append(
                (f"{key}.name", svc.name, f"unique; services[{seen_names[svc.name]}] has it")
            )
        seen_names.setdefault(svc.name, i)
        if svc.min_replicas < floor:
            problems.append(
                (
                    f"{key}.minReplicas",
                    svc.min_replicas,
                    f"at least {floor} in {environment}, so a node drain or zone loss "
                    "leaves a pod serving",
                )
            )
        if svc.max_replicas < svc.min_replicas:
            problems.append(
                (
                    f"{key}.maxReplicas",
                    svc.max_replicas,
                    f"at least minReplicas ({svc.min_replicas})",
                )
            )
        steps = len(svc.canary.steps)
        if svc.canary.analysis.starting_step >= steps:
            problems.append(
                (
                    f"{key}.canary.analysis.startingStep",
                    svc.canary.analysis.starting_step,
                    f"the index of one of the {steps} canary steps (0-{steps - 1})",
                )
            )
        elif (breakdown := rollback_breakdown(svc)).total_seconds is None or (
            breakdown.total_seconds >= ROLLBACK_LIMIT_SECONDS
        ):
            problems.append((f"{key}.canary", breakdown.total_seconds, breakdown.problem()))
        paths = [*svc.public_paths, svc.health_path]
        for j, path in enumerate(paths):
            path_key = (
                f"{key}.publicPaths[{j}]" if j < len(svc.public_paths) else f"{key}.healthPath"
            )
            for other_path, other_name, other_i in seen_paths:
                if other_i != i and _overlap(path, other_path):
                    problems.append(
                        (
                            path_key,
                            path,
                            f"a path no other service serves; {other_name} (services[{other_i}]) "
                            f"serves {other_path} on the same load balancer",
                        )
                    )
                    break
        seen_paths.extend((p, svc.name, i) for p in paths)
    return problems
