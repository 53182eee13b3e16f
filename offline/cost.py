"""Monthly cost estimate of a stack, from its resource graph and the price table.

The estimate walks the same graph the policy pack sees and turns each resource that costs money
into line items: what is priced (an item of :mod:`offline.prices`), how much of it a month, the
unit price in the resource's region, the monthly cost and the price's source. The region is the
one of the resource's provider (Kubernetes objects: the region of the cluster their provider
reaches).

- Fixed capacity (instance hours, provisioned storage, monthly fees) is counted from the
  resource's inputs: node groups at their desired size, Multi-AZ databases, node root volumes,
  volume claims, one load balancer per Ingress group.
- Usage (requests, GB processed, capacity units) is counted only where the table has a price and
  a named monthly volume (``usage_assumptions``); the report shows it apart from fixed capacity.
- A resource that costs money but has no price in the table is listed as unpriced, never counted
  at zero; a type the estimator does not know at all is listed the same way. Resources that cost
  nothing themselves (IAM, security groups, Kubernetes objects, components) are left out.
- Capacity the program does not fix (nodes Karpenter launches for pending pods) is listed as not
  estimated, with the limits the program sets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from offline.graph import UNKNOWN, Resource, StackGraph, provider_urn, unwrap_secrets
from offline.prices import Kind, PriceTable, UsageAssumption, load_price_table


@dataclass(frozen=True)
class LineItem:
    """One priced quantity of one resource: quantity x unit price = monthly cost."""

    urn: str
    name: str
    type: str
    item: str
    region: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    kind: Kind
    source: str
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the line between two estimates: the resource and what is priced.

        The item's qualifier (``:m7g.xlarge``, a database class) is left out, so a resized
        instance is one line that changed, not one removed and one added.
        """
        return (self.urn, self.item.split(":", 1)[0])


@dataclass(frozen=True)
class Unpriced:
    """Something that costs money and that the table has no price for (or a type not modelled)."""

    urn: str
    name: str
    type: str
    item: str
    region: str | None
    kind: str
    """``fixed``, ``usage`` or ``unknown`` (a type the estimator does not know)."""
    reason: str

    @property
    def key(self) -> tuple[str, str]:
        """The resource and what lacks a price, its qualifier left out (as for line items)."""
        return (self.urn, self.item.split(":", 1)[0])


@dataclass(frozen=True)
class NotEstimated:
    """Capacity the program leaves to a controller at run time, with the limits it sets."""

    urn: str
    name: str
    type: str
    reason: str


@dataclass
class CostEstimate:
    """Every line item of one stack, what could not be priced, and the assumptions used."""

    stack: str
    table: PriceTable
    items: list[LineItem] = field(default_factory=list)
    unpriced: list[Unpriced] = field(default_factory=list)
    not_estimated: list[NotEstimated] = field(default_factory=list)
    assumptions: dict[str, UsageAssumption] = field(default_factory=dict)

    def _sum(self, kind: str | None = None) -> float:
        return round(sum(i.monthly_usd for i in self.items if kind is None or i.kind == kind), 2)

    @property
    def fixed_usd(self) -> float:
        """Monthly cost of fixed capacity."""
        return self._sum("fixed")

    @property
    def usage_usd(self) -> float:
        """Monthly cost of usage at the assumed volumes."""
        return self._sum("usage")

    @property
    def total_usd(self) -> float:
        """Fixed plus usage; unpriced items are not in it."""
        return self._sum()

    def top(self, count: int = 8) -> list[LineItem]:
        """The ``count`` most expensive line items, most expensive first."""
        return sorted(self.items, key=lambda i: (-i.monthly_usd, i.name, i.item))[:count]

    def to_json(self) -> dict[str, Any]:
        """The estimate as JSON data."""
        return {
            "stack": self.stack,
            "currency": self.table.currency,
            "priceTableAsOf": self.table.as_of.isoformat(),
            "hoursPerMonth": self.table.hours_per_month,
            "monthlyUsd": {
                "fixed": self.fixed_usd,
                "usage": self.usage_usd,
                "total": self.total_usd,
            },
            "items": [
                {
                    "urn": i.urn,
                    "name": i.name,
                    "type": i.type,
                    "item": i.item,
                    "region": i.region,
                    "quantity": i.quantity,
                    "unit": i.unit,
                    "unitUsd": i.unit_usd,
                    "monthlyUsd": i.monthly_usd,
                    "kind": i.kind,
                    "source": i.source,
                    "note": i.note,
                }
                for i in self.items
            ],
            "unpriced": [
                {
                    "urn": u.urn,
                    "name": u.name,
                    "type": u.type,
                    "item": u.item,
                    "region": u.region,
                    "kind": u.kind,
                    "reason": u.reason,
                }
                for u in self.unpriced
            ],
            "notEstimated": [
                {"urn": n.urn, "name": n.name, "type": n.type, "reason": n.reason}
                for n in self.not_estimated
            ],
            "usageAssumptions": {
                a.name: {"value": a.value, "unit": a.unit, "basis": a.basis}
                for a in self.assumptions.values()
            },
        }


@dataclass(frozen=True)
class _Need:
    """What a resource needs priced: an item, a quantity in the price's unit, and why."""

    item: str
    quantity: float
    kind: Kind = "fixed"
    note: str = ""
    assumption: str | None = None
    """For usage: the quantity is per unit of this assumption's value."""
    unpriced_reason: str = ""
    """Set when the quantity cannot be known from the graph; the need is listed unpriced."""


# --- what costs nothing, and what costs only by use -------------------------------------------

FREE_TYPE_PREFIXES: tuple[str, ...] = (
    "aws:iam/",
    "aws:ec2/vpc:",
    "aws:ec2/subnet:",
    "aws:ec2/internetGateway:",
    "aws:ec2/routeTable",
    "aws:ec2/route:",
    "aws:ec2/securityGroup",
    "aws:ec2/defaultSecurityGroup",
    "aws:vpc/securityGroup",
    "aws:ec2/flowLog:",  # delivered to a log group, which is where it is billed
    "aws:ec2/launchTemplate:",  # its volumes are billed with the node group that uses it
    "aws:ec2/tag:",
    "aws:kms/alias:",
    "aws:eks/addon:",
    "aws:eks/access",
    "aws:elasticache/parameterGroup:",
    "aws:elasticache/subnetGroup:",
    "aws:elasticache/user:",  # access control: billed with the nodes
    "aws:elasticache/userGroup:",
    "aws:rds/parameterGroup:",
    "aws:rds/subnetGroup:",
    "aws:s3/bucketPolicy:",
    "aws:s3/bucketPublicAccessBlock:",
    "aws:s3/bucketOwnershipControls:",
    "aws:s3/bucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning",
    "aws:s3/bucketLogging",
    "aws:s3/bucketLifecycleConfiguration",
    "aws:backup/plan:",
    "aws:backup/selection:",
    "aws:backup/vaultPolicy:",
    "aws:backup/vaultLockConfiguration:",
    "aws:cloudfront/cachePolicy:",
    "aws:cloudfront/originAccessControl:",
    "aws:cloudfront/responseHeadersPolicy:",
    "aws:wafv2/ipSet:",
    "aws:wafv2/webAclLoggingConfiguration:",  # billed at the log group
    "aws:acm/",
    "aws:route53/record:",  # queries are billed to the hosted zone
    "aws:autoscaling/policy:",
    "aws:cloudwatch/eventRule:",
    "aws:cloudwatch/eventTarget:",
    "aws:sqs/queuePolicy:",
    "aws:codebuild/webhook:",
    "kubernetes:",
    "vault:",
    "random:",
    "tls:",
    "pulumi:providers:",
    "gcp:projects/",
    "gcp:iam/",
    "gcp:serviceaccount/",
    "gcp:kms/keyRing:",
    "azure-native:resources:",
    "azure-native:managedidentity:",
    "azure-native:authorization:",
    "azure-native:keyvault:Vault",
    "azure-native:storage:BlobContainer",
    "azure-native:storage:BlobServiceProperties",
    # Cost controls: Cost Anomaly Detection, cost allocation tags and Compute Optimizer's
    # standard recommendations (enhanced infrastructure metrics are not enabled) are free, as are
    # Cloud Billing budgets and Azure Cost Management budgets. AWS Budgets is priced below.
    "aws:costexplorer/",
    "aws:computeoptimizer/",
    "gcp:billing/budget:",
    "azure-native:consumption:Budget",
)
"""Types that are billed nothing themselves (prefixes of type tokens)."""

_IAM_MEMBER = re.compile(r"(?i)iam(member|binding|policy)")

USAGE_ONLY: Mapping[str, tuple[str, str]] = {
    "aws:s3/bucket:Bucket": ("aws.s3.standard-gb-month", "stored GB and requests"),
    "aws:s3/bucketV2:BucketV2": ("aws.s3.standard-gb-month", "stored GB and requests"),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": (
        "aws.s3.replication-gb",
        "GB replicated to the other region",
    ),
    "aws:cloudwatch/logGroup:LogGroup": ("aws.logs.ingested-gb", "GB ingested and stored"),
    "aws:codebuild/project:Project": ("aws.codebuild.build-minute", "build minutes"),
    "aws:cloudfront/distribution:Distribution": (
        "aws.cloudfront.transfer-gb",
        "GB delivered and requests",
    ),
    "aws:backup/vault:Vault": ("aws.backup.warm-gb-month", "GB of backups kept"),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": (
        "aws.rds.backup-replication-gb",
        "GB of backups copied to and kept in the DR region",
    ),
    "aws:sqs/queue:Queue": ("aws.sqs.requests-million", "requests"),
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": (
        "aws.ecr.replicated-gb-month",
        "GB of images replicated and stored",
    ),
    "gcp:storage/bucket:Bucket": ("gcp.storage.gb-month", "stored GB and operations"),
    "gcp:bigquery/dataset:Dataset": ("gcp.bigquery.storage-gb-month", "stored GB and queries"),
    "gcp:pubsub/topic:Topic": ("gcp.pubsub.throughput-tib", "message throughput"),
    "gcp:vertex/aiDataset:AiDataset": ("gcp.vertex.dataset-gb-month", "stored data"),
    "azure-native:storage:StorageAccount": ("azure.storage.gb-month", "stored GB and operations"),
    "azure-native:keyvault:Key": ("azure.keyvault.operations", "key operations"),
}
"""Types billed only by use, which the table has no assumed volume for: item, what is billed."""


def is_free(res: Resource) -> bool:
    """True for components and for types billed nothing themselves."""
    if not res.custom:
        return True
    if res.type.startswith(FREE_TYPE_PREFIXES):
        return True
    return res.type.startswith("gcp:") and bool(_IAM_MEMBER.search(res.type.split(":")[-1]))


# --- regions -----------------------------------------------------------------------------------


def resource_regions(graph: StackGraph) -> dict[str, str | None]:
    """URN -> the region the resource is created in, from its provider (None when unknown)."""
    by_urn = graph.by_urn()
    provider_region: dict[str, str | None] = {}
    for res in graph.resources:
        if not res.type.startswith("pulumi:providers:"):
            continue
        props = unwrap_secrets(res.props)
        region = props.get("region") or props.get("location")
        provider_region[res.urn] = region if isinstance(region, str) else None
    regions: dict[str, str | None] = {}
    for res in graph.resources:
        provider = provider_urn(res, by_urn)
        regions[res.urn] = provider_region.get(provider) if provider else None
    # A Kubernetes provider reaches the cluster its kubeconfig names: its objects are there.
    for res in graph.resources:
        if res.type != "pulumi:providers:kubernetes":
            continue
        sources = res.dependencies + [u for us in res.property_dependencies.values() for u in us]
        clusters = [u for u in sources if u in by_urn and by_urn[u].type == _EKS]
        provider_region[res.urn] = regions.get(clusters[0]) if clusters else None
    for res in graph.resources:
        if res.type.startswith("kubernetes:"):
            provider = provider_urn(res, by_urn)
            regions[res.urn] = provider_region.get(provider) if provider else None
    return regions


# --- what each type needs priced --------------------------------------------------------------

_EKS = "aws:eks/cluster:Cluster"
_STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTP]i?)?\s*$")
_GIB_PER_UNIT = {
    "Ki": 1 / 1024**2,
    "Mi": 1 / 1024,
    "Gi": 1.0,
    "Ti": 1024.0,
    "Pi": 1024.0**2,
    "K": 1e3 / 1024**3,
    "M": 1e6 / 1024**3,
    "G": 1e9 / 1024**3,
    "T": 1e12 / 1024**3,
    "P": 1e15 / 1024**3,
}


def size_gib(text: Any) -> float | None:
    """A Kubernetes quantity (``200Gi``, ``1Ti``, ``500G``) in GiB, the unit EBS bills as GB."""
    if not isinstance(text, str):
        return None
    match = _SIZE.match(text)
    if not match or not match.group(2):
        return None
    return float(match.group(1)) * _GIB_PER_UNIT[match.group(2)]


class _Context:
    """What the rules look up across resources: storage classes, templates, Ingress groups."""

    def __init__(self, graph: StackGraph, table: PriceTable) -> None:
        self.graph = graph
        self.table = table
        self.by_urn = graph.by_urn()
        self.storage_classes: dict[str, dict[str, Any]] = {}
        self.default_class: str | None = None
        for res in graph.resources:
            if res.type != _STORAGE_CLASS:
                continue
            props = unwrap_secrets(res.props)
            name = (props.get("metadata") or {}).get("name")
            if isinstance(name, str):
                self.storage_classes[name] = props
                annotations = (props.get("metadata") or {}).get("annotations") or {}
                if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                    self.default_class = name
        self.ingress_groups = self._ingress_groups()

    @property
    def hours(self) -> float:
        return self.table.hours_per_month

    def volume(self, class_name: Any, gib: float, count: float, what: str) -> _Need:
        """EBS storage for ``count`` volumes of ``gib`` through a storage class of the graph."""
        name = class_name if isinstance(class_name, str) else self.default_class
        if name is None:
            return _Need(
                "aws.ebs.default-class-gb-month",
                gib * count,
                note=what,
                unpriced_reason="no storage class named and no default class in the graph",
            )
        props = self.storage_classes.get(name)
        if props is None:
            return _Need(
                f"aws.ebs.class-{name}-gb-month",
                gib * count,
                note=what,
                unpriced_reason=f"storage class '{name}' is not in the graph",
            )
        provisioner = props.get("provisioner")
        if provisioner != "ebs.csi.aws.com":
            return _Need(
                f"storage.{provisioner}-gb-month",
                gib * count,
                note=what,
                unpriced_reason=f"storage class '{name}' uses provisioner {provisioner!r}",
            )
        volume_type = (props.get("parameters") or {}).get("type", "gp3")
        return _Need(
            f"aws.ebs.{volume_type}-gb-month",
            gib * count,
            note=f"{what}: {count:g} x {gib:g} GB ({name})",
        )

    def _ingress_groups(self) -> dict[str, list[Resource]]:
        """ALB Ingresses by the load balancer they share: the group name, or the Ingress alone."""
        groups: dict[str, list[Resource]] = {}
        for res in self.graph.resources:
            if res.type != "kubernetes:networking.k8s.io/v1:Ingress":
                continue
            props = unwrap_secrets(res.props)
            spec = props.get("spec") or {}
            annotations = (props.get("metadata") or {}).get("annotations") or {}
            ingress_class = spec.get("ingressClassName") or annotations.get(
                "kubernetes.io/ingress.class"
            )
            if ingress_class != "alb":
                continue
            group = annotations.get("alb.ingress.kubernetes.io/group.name") or res.urn
            groups.setdefault(str(group), []).append(res)
        # The group's first member carries the load balancer's price: first by URN, because the
        # order resources register in differs between a sequential and a parallel preview.
        return {group: sorted(members, key=lambda r: r.urn) for group, members in groups.items()}


@dataclass
class _On:
    """The resource a rule prices, its inputs with secrets unwrapped, and the shared lookups."""

    res: Resource
    ctx: _Context
    props: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.props = dict(unwrap_secrets(self.res.props))


def _eks_cluster(on: _On) -> list[_Need]:
    return [_Need("aws.eks.cluster-hour", on.ctx.hours, note="control plane")]


def _node_group(on: _On) -> list[_Need]:
    scaling = on.props.get("scalingConfig") or {}
    nodes = scaling.get("desiredSize", scaling.get("minSize"))
    types = on.props.get("instanceTypes") or ["t3.medium"]
    if not isinstance(nodes, int | float) or not isinstance(types, list) or not types:
        return [
            _Need(
                "aws.ec2.instance-hour",
                0,
                unpriced_reason="scalingConfig.desiredSize or instanceTypes is not known",
            )
        ]
    first = str(types[0])
    note = f"{nodes:g} nodes (desiredSize; max {scaling.get('maxSize', '?')}) of {first}"
    if len(types) > 1:
        note += f", the first of {', '.join(map(str, types))}"
    if on.props.get("capacityType") == "SPOT":
        note += "; SPOT capacity at the on-demand price (an upper bound)"
    needs = [_Need(f"aws.ec2.instance-hour:{first}", nodes * on.ctx.hours, note=note)]
    needs += _root_volumes(on, nodes)
    return needs


def _root_volumes(on: _On, nodes: float) -> list[_Need]:
    template_urns = on.res.property_dependencies.get("launchTemplate") or []
    template = next((on.ctx.by_urn[u] for u in template_urns if u in on.ctx.by_urn), None)
    if template is None:
        size = on.props.get("diskSize") or 20
        return [
            _Need(
                "aws.ebs.node-default-gb-month",
                size * nodes,
                note="root volume",
                unpriced_reason="the root volume type is the AMI's default (no launch template)",
            )
        ]
    needs = []
    for mapping in unwrap_secrets(template.props).get("blockDeviceMappings") or []:
        ebs = mapping.get("ebs") or {}
        size = ebs.get("volumeSize")
        if not isinstance(size, int | float):
            continue
        volume_type = ebs.get("volumeType") or "gp2"
        needs.append(
            _Need(
                f"aws.ebs.{volume_type}-gb-month",
                size * nodes,
                note=f"root volumes: {nodes:g} x {size:g} GB ({template.name})",
            )
        )
    return needs


def _nat_gateway(on: _On) -> list[_Need]:
    if on.props.get("connectivityType") == "private":
        return [_Need("aws.vpc.private-nat-gateway-hour", on.ctx.hours)]
    return [
        _Need("aws.vpc.nat-gateway-hour", on.ctx.hours),
        _Need("aws.vpc.nat-gateway-gb", 1, kind="usage", assumption="nat-gb-per-gateway"),
    ]


def _eip(on: _On) -> list[_Need]:
    return [_Need("aws.vpc.public-ipv4-hour", on.ctx.hours, note="public IPv4 address")]


def _kms_key(_on: _On) -> list[_Need]:
    return [_Need("aws.kms.key-month", 1)]


def _budget(_on: _On) -> list[_Need]:
    return [
        _Need("aws.budgets.budget-month", 1, note="upper bound: two budgets per payer are free")
    ]


_BOT_CONTROL = "AWSManagedRulesBotControlRuleSet"


def _web_acl(on: _On) -> list[_Need]:
    needs = [
        _Need("aws.waf.web-acl-month", 1),
        _Need(
            "aws.waf.requests-million",
            1,
            kind="usage",
            assumption="waf-million-requests-per-web-acl",
        ),
    ]
    rules = on.props.get("rules")
    if not isinstance(rules, list):
        why = "secret in this graph file" if rules == UNKNOWN else "not known"
        return [*needs, _Need("aws.waf.rule-month", 0, unpriced_reason=f"the rules are {why}")]
    needs.append(_Need("aws.waf.rule-month", len(rules), note=f"{len(rules)} rules"))
    names = {
        ((r.get("statement") or {}).get("managedRuleGroupStatement") or {}).get("name")
        for r in rules
        if isinstance(r, dict)
    }
    if _BOT_CONTROL in names:
        needs += [
            _Need("aws.waf.bot-control-month", 1, note=_BOT_CONTROL),
            _Need(
                "aws.waf.bot-control-requests-million",
                1,
                kind="usage",
                assumption="waf-million-requests-per-web-acl",
            ),
        ]
    return needs


def _rds_instance(on: _On) -> list[_Need]:
    deployment = "multi-az" if on.props.get("multiAz") else "single-az"
    engine = on.props.get("engine") or "unknown-engine"
    needs = [
        _Need(
            f"aws.rds.instance-hour:{engine}:{on.props.get('instanceClass')}:{deployment}",
            on.ctx.hours,
        )
    ]
    storage = on.props.get("allocatedStorage")
    if isinstance(storage, int | float):
        needs.append(
            _Need(
                f"aws.rds.{on.props.get('storageType') or 'gp2'}-gb-month:{deployment}",
                storage,
                note=f"allocatedStorage {storage:g} GB (grows up to maxAllocatedStorage)",
            )
        )
    if on.props.get("manageMasterUserPassword"):
        needs.append(_Need("aws.secretsmanager.secret-month", 1, note="managed master password"))
    retention = on.props.get("performanceInsightsRetentionPeriod")
    if on.props.get("performanceInsightsEnabled") and isinstance(retention, int) and retention > 7:
        needs.append(
            _Need(
                "aws.rds.performance-insights-vcpu-month",
                1,
                note=f"{retention} days of Performance Insights",
                unpriced_reason="billed per vCPU of the class; the table has no vCPU counts",
            )
        )
    return needs


def _replication_group(on: _On) -> list[_Need]:
    shards = on.props.get("numNodeGroups")
    if isinstance(shards, int):
        nodes = shards * (1 + int(on.props.get("replicasPerNodeGroup") or 0))
    else:
        nodes = int(on.props.get("numCacheClusters") or 1)
    engine = on.props.get("engine") or "redis"
    return [
        _Need(
            f"aws.elasticache.node-hour:{engine}:{on.props.get('nodeType')}",
            nodes * on.ctx.hours,
            note=f"{nodes} nodes",
        )
    ]


def _route53_zone(_on: _On) -> list[_Need]:
    return [_Need("aws.route53.hosted-zone-month", 1)]


def _vpc_endpoint(on: _On) -> list[_Need]:
    if on.props.get("vpcEndpointType", "Gateway") == "Gateway":
        return []
    return [_Need("aws.vpc.interface-endpoint-hour", on.ctx.hours)]


def _gcp_crypto_key(_on: _On) -> list[_Need]:
    return [_Need("gcp.kms.key-version-month", 1, note="active key versions grow with rotation")]


def _ingress(on: _On) -> list[_Need]:
    for members in on.ctx.ingress_groups.values():
        if members[0].urn != on.res.urn:
            continue
        shared = f"shared by {len(members)} Ingresses" if len(members) > 1 else "one Ingress"
        return [
            _Need("aws.elb.alb-hour", on.ctx.hours, note=f"application load balancer, {shared}"),
            _Need(
                "aws.elb.alb-lcu-hour",
                on.ctx.hours,
                kind="usage",
                assumption="alb-lcu-per-load-balancer",
            ),
        ]
    return []


def _service(on: _On) -> list[_Need]:
    if (on.props.get("spec") or {}).get("type") != "LoadBalancer":
        return []
    return [_Need("aws.elb.nlb-hour", on.ctx.hours, note="Service of type LoadBalancer")]


def _pvc(on: _On) -> list[_Need]:
    spec = on.props.get("spec") or {}
    gib = size_gib(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
    if gib is None:
        return []
    return [on.ctx.volume(spec.get("storageClassName"), gib, 1, "volume claim")]


def _elasticsearch(on: _On) -> list[_Need]:
    needs = []
    for node_set in (on.props.get("spec") or {}).get("nodeSets") or []:
        count = node_set.get("count") or 1
        for template in node_set.get("volumeClaimTemplates") or []:
            spec = template.get("spec") or {}
            gib = size_gib(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
            if gib is not None:
                what = f"Elasticsearch node set {node_set.get('name')}"
                needs.append(on.ctx.volume(spec.get("storageClassName"), gib, count, what))
    return needs


def _helm_release(on: _On) -> list[_Need]:
    """Volumes the chart values ask for: ``volumeClaimTemplate`` specs and ``persistence``."""
    needs = []
    for path, owner, volume in _chart_volumes(on.props.get("values") or {}, ""):
        replicas = owner.get("replicas", 1)
        count = replicas if isinstance(replicas, int) else 1
        if "spec" in volume:
            spec = volume.get("spec") or {}
            gib = size_gib(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
            class_name = spec.get("storageClassName")
        else:
            gib = size_gib(volume.get("size"))
            class_name = volume.get("storageClassName") or volume.get("storageClass")
        if gib is not None:
            needs.append(on.ctx.volume(class_name, gib, count, f"chart values {path}"))
    return needs


def _chart_volumes(
    values: Any, path: str, owner: dict[str, Any] | None = None
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(path, the spec that owns the volume, the volume) for each volume in chart values."""
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        if not isinstance(value, dict):
            continue
        here = f"{path}.{key}" if path else key
        if key == "volumeClaimTemplate":
            yield here, owner or {}, value
        elif key == "persistence" and value.get("enabled") and value.get("size"):
            yield here, values, value
        else:
            # The spec a storage block sits in carries the replica count.
            yield from _chart_volumes(
                value, here, values if key in ("storageSpec", "storage") else value
            )


def _karpenter_pool(on: _On) -> NotEstimated:
    limits = (on.props.get("spec") or {}).get("limits")
    bound = f"limits {limits}" if limits else "no limits set"
    return NotEstimated(
        on.res.urn,
        on.res.name,
        on.res.type,
        f"nodes Karpenter launches for pending pods vary with load ({bound})",
    )


RULES: Mapping[str, Callable[[_On], list[_Need]]] = {
    _EKS: _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/eip:Eip": _eip,
    "aws:kms/key:Key": _kms_key,
    "aws:budgets/budget:Budget": _budget,
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:route53/zone:Zone": _route53_zone,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "gcp:kms/cryptoKey:CryptoKey": _gcp_crypto_key,
    "kubernetes:networking.k8s.io/v1:Ingress": _ingress,
    "kubernetes:core/v1:Service": _service,
    "kubernetes:core/v1:PersistentVolumeClaim": _pvc,
    "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch": _elasticsearch,
    "kubernetes:helm.sh/v3:Release": _helm_release,
}
"""Types the estimator prices from their inputs."""

NOT_ESTIMATED: Mapping[str, Callable[[_On], NotEstimated]] = {
    "kubernetes:karpenter.sh/v1:NodePool": _karpenter_pool,
}


def estimate_cost(graph: StackGraph, table: PriceTable | None = None) -> CostEstimate:
    """The monthly cost estimate of ``graph``'s stack with ``table`` (default: the repo's)."""
    table = table or load_price_table()
    ctx = _Context(graph, table)
    regions = resource_regions(graph)
    result = CostEstimate(graph.stack, table)
    for res in graph.resources:
        if res.type in NOT_ESTIMATED:
            result.not_estimated.append(NOT_ESTIMATED[res.type](_On(res, ctx)))
            continue
        rule = RULES.get(res.type)
        if rule is not None:
            needs = rule(_On(res, ctx))
            _price(res, regions.get(res.urn), needs, table, result)
        elif res.type in USAGE_ONLY:
            item, billed = USAGE_ONLY[res.type]
            result.unpriced.append(
                Unpriced(
                    res.urn,
                    res.name,
                    res.type,
                    item,
                    regions.get(res.urn),
                    "usage",
                    f"billed by use: {billed}",
                )
            )
        elif not is_free(res):
            result.unpriced.append(
                Unpriced(
                    res.urn,
                    res.name,
                    res.type,
                    res.type,
                    regions.get(res.urn),
                    "unknown",
                    "type not in the cost model; it may cost money",
                )
            )
    return result


def _price(
    res: Resource,
    region: str | None,
    needs: Iterable[_Need],
    table: PriceTable,
    result: CostEstimate,
) -> None:
    for need in needs:
        price = table.price(need.item, region)
        if need.unpriced_reason or price is None:
            where = region or "an unknown region"
            reason = need.unpriced_reason or f"no price for {need.item} in {where} in the table"
            result.unpriced.append(
                Unpriced(res.urn, res.name, res.type, need.item, region, need.kind, reason)
            )
            continue
        quantity = need.quantity
        note = need.note
        if need.assumption is not None:
            assumed = table.assumption(need.assumption)
            result.assumptions[assumed.name] = assumed
            quantity *= assumed.value
            note = note or f"assumed {assumed.value:g} {assumed.unit} ({assumed.name})"
        result.items.append(
            LineItem(
                urn=res.urn,
                name=res.name,
                type=res.type,
                item=need.item,
                region=price.region,
                quantity=round(quantity, 4),
                unit=price.unit,
                unit_usd=price.usd,
                monthly_usd=round(quantity * price.usd, 2),
                kind=price.kind,
                source=price.source,
                note=note,
            )
        )


# --- the change between two estimates --------------------------------------------------------


@dataclass(frozen=True)
class ItemChange:
    """A line item added, removed or changed between two estimates (None where absent)."""

    old: LineItem | None
    new: LineItem | None

    @property
    def delta_usd(self) -> float:
        """New monthly cost minus old."""
        before = self.old.monthly_usd if self.old else 0.0
        after = self.new.monthly_usd if self.new else 0.0
        return round(after - before, 2)

    @property
    def op(self) -> str:
        """``add``, ``remove`` or ``change``."""
        if self.old is None:
            return "add"
        return "remove" if self.new is None else "change"

    @property
    def line(self) -> LineItem:
        """The line as it is now, or as it was when removed."""
        line = self.new or self.old
        assert line is not None
        return line


@dataclass
class CostDiff:
    """What an update adds to or removes from the monthly bill, item by item."""

    base: CostEstimate
    head: CostEstimate
    changes: list[ItemChange] = field(default_factory=list)
    unpriced_added: list[Unpriced] = field(default_factory=list)
    unpriced_removed: list[Unpriced] = field(default_factory=list)
    unpriced_changed: list[tuple[Unpriced, Unpriced]] = field(default_factory=list)
    """Still unpriced, but for another item (a database resized to another unpriced class)."""

    @property
    def delta_usd(self) -> float:
        """Head total minus base total."""
        return round(self.head.total_usd - self.base.total_usd, 2)

    def to_json(self) -> dict[str, Any]:
        """The change as JSON data."""
        return {
            "baseMonthlyUsd": self.base.total_usd,
            "headMonthlyUsd": self.head.total_usd,
            "deltaMonthlyUsd": self.delta_usd,
            "deltaFixedUsd": round(self.head.fixed_usd - self.base.fixed_usd, 2),
            "deltaUsageUsd": round(self.head.usage_usd - self.base.usage_usd, 2),
            "changes": [
                {
                    "op": c.op,
                    "urn": c.line.urn,
                    "name": c.line.name,
                    "item": c.line.item,
                    "oldItem": c.old.item if c.old else None,
                    "oldMonthlyUsd": c.old.monthly_usd if c.old else None,
                    "newMonthlyUsd": c.new.monthly_usd if c.new else None,
                    "deltaMonthlyUsd": c.delta_usd,
                }
                for c in self.changes
            ],
            "unpricedAdded": [{"urn": u.urn, "item": u.item} for u in self.unpriced_added],
            "unpricedRemoved": [{"urn": u.urn, "item": u.item} for u in self.unpriced_removed],
            "unpricedChanged": [
                {"urn": new.urn, "oldItem": old.item, "item": new.item}
                for old, new in self.unpriced_changed
            ],
        }


def _keyed(items: Iterable[LineItem]) -> dict[tuple[str, str, int], LineItem]:
    """Line items by key; a resource with two lines of one kind numbers them in order."""
    seen: dict[tuple[str, str], int] = {}
    keyed = {}
    for line in items:
        count = seen.get(line.key, 0)
        seen[line.key] = count + 1
        keyed[(*line.key, count)] = line
    return keyed


def diff_costs(base: CostEstimate, head: CostEstimate) -> CostDiff:
    """Line items added, removed or changed in cost from ``base`` to ``head``, largest first.

    Lines are matched by resource URN and what is priced (an instance's class may change); a
    resource renamed through an alias shows as one line removed and one added.
    """
    old = _keyed(base.items)
    new = _keyed(head.items)
    changes = [
        ItemChange(old.get(key), new.get(key))
        for key in [*old, *(k for k in new if k not in old)]
        if old.get(key) is None
        or new.get(key) is None
        or old[key].monthly_usd != new[key].monthly_usd
        or old[key].item != new[key].item
    ]
    changes.sort(key=lambda c: (-abs(c.delta_usd), c.line.name, c.line.item))
    old_unpriced = {u.key: u for u in base.unpriced}
    new_unpriced = {u.key: u for u in head.unpriced}
    return CostDiff(
        base,
        head,
        changes,
        [u for u in head.unpriced if u.key not in old_unpriced],
        [u for u in base.unpriced if u.key not in new_unpriced],
        [
            (old_unpriced[u.key], u)
            for u in head.unpriced
            if u.key in old_unpriced and old_unpriced[u.key].item != u.item
        ],
    )
