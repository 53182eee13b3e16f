"""Metric provenance (platform rule, mandatory): every metric the stack reads has a producer in it.

Consumers are the PromQL expressions the stack ships: the rules of its ``PrometheusRule``
resources (alerts and recording rules), the panels and query variables of the Grafana dashboards
(ConfigMaps labelled ``grafana_dashboard``) and the Prometheus queries of Argo Rollouts
``AnalysisTemplate`` s. Each expression is parsed with ``promql_parser`` (Grafana's macros and
variables, and Argo's ``{{args.x}}``, replaced by placeholders first) and every series selector
in it is a read: a metric name, the names of a ``{__name__=~"a|b"}`` alternation, or a
``__name__`` pattern.

Producers come from the resources of the same stack, through the catalog
(``metric_catalog``):

* Helm releases of catalogued charts at catalogued versions, part by part, each part only when
  the release values turn on its scraping (``kubeStateMetrics.enabled``,
  ``serviceMonitor.enabled``...); the CloudWatch exporter's families are derived from its
  ``config`` value; the blackbox exporter's ``probe_*`` series exist only for the ``job`` s of
  the stack's ``Probe`` resources (``spec.jobName``), so a read's ``job`` matchers must select
  one of them;
* Deployments of catalogued images (the Pushgateway, with the families the delivery pipeline
  pushes);
* the families a service declares (``ttbt2:services`` ``metrics``), carried by its
  ServiceMonitor's ``ttbt2.io/metric-families`` annotation: they count only with that
  ServiceMonitor;
* recording rules, whose series are live only when every series their own expression reads is
  live: a dark input darkens the recorded series and whatever reads it.

A read without a producer is a violation naming the consumer (alert, panel, variable or analysis
metric) and the series, with what would produce it. So is a release of a catalogued chart at a
version the catalog lacks (its metrics need a review; its newest catalogued version stands in
meanwhile), a malformed exporter config or annotation, and an expression that does not parse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import promql_parser
import yaml
from pulumi_policy import Policy, PolicyResource, StackValidationArgs

from .common import (
    MANDATORY,
    InvalidPropError,
    bool_or_string_prop,
    is_list,
    is_mapping,
    list_prop,
    lookup,
    mapping_prop,
    stack_policy,
    str_prop,
    wrong_type,
)
from .metric_catalog import (
    CHARTS,
    DERIVER_INPUTS,
    DERIVERS,
    IMAGES,
    METRIC_FAMILIES_ANNOTATION,
    DerivedConfigError,
    Family,
    Part,
    Producer,
    chart_name,
    cloudwatch_origin,
    declared_family_of,
    family_problem,
    image_key,
    known_names,
    newest,
    origins,
)

RELEASE = "kubernetes:helm.sh/v3:Release"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
PROBE = "kubernetes:monitoring.coreos.com/v1:Probe"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ANALYSIS_TEMPLATES = frozenset(
    {
        "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate",
        "kubernetes:argoproj.io/v1alpha1:ClusterAnalysisTemplate",
    }
)
WORKLOADS = frozenset({"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"})
DASHBOARD_LABEL = "grafana_dashboard"
CATALOG_FILE = "policies/ttbt2_policies/metric_catalog.py"

_LITERAL_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

# --- reading PromQL ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """One series selector: literal names, or a ``__name__`` pattern, and its ``job`` matchers."""

    names: tuple[str, ...] = ()
    pattern: str | None = None
    job: tuple[tuple[str, str], ...] = ()
    """``(operator, value)`` per matcher on ``job``; operators ``=``, ``!=``, ``=~``, ``!~``."""


# MatchOp values compare equal but do not hash: matched by name.
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


def _alternatives(regex: str) -> list[str] | None:
    """The names of a regex that is an alternation of literal names (``a|b``), else None."""
    body = regex[1:-1] if regex.startswith("(") and regex.endswith(")") else regex
    parts = body.split("|")
    return parts if all(_LITERAL_NAME.match(p) for p in parts) else None


def _read_of(name: str | None, matchers: Sequence[Any]) -> Read | None:
    names: list[str] = [name] if name else []
    pattern: str | None = None
    job: list[tuple[str, str]] = []
    for m in matchers:
        op = _OPS[str(m.op)]
        if m.name == "job":
            job.append((op, m.value))
        elif m.name == "__name__" and op == "=":
            names.append(m.value)
        elif m.name == "__name__" and op == "=~":
            expanded = _alternatives(m.value)
            if expanded is None:
                pattern = m.value
            else:
                names += expanded
    if not names and pattern is None:
        return None  # selects by labels only: any producer's series can match
    return Read(tuple(dict.fromkeys(names)), None if names else pattern, tuple(job))


@lru_cache(maxsize=4096)
def reads(expr: str) -> tuple[Read, ...]:
    """Every series selector of a PromQL expression; ValueError when it does not parse."""
    tree = promql_parser.parse(expr)
    found: list[Read] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            groups = [list(node.matchers.matchers)]
            groups += [list(node.matchers.matchers) + list(g) for g in node.matchers.or_matchers]
            for group in groups:
                read = _read_of(node.name, group)
                if read is not None:
                    found.append(read)

    promql_parser.walk(tree, visit)
    return tuple(dict.fromkeys(found))


_GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\[\[[A-Za-z0-9_]+\]\]|\$[A-Za-z0-9_]+")
_ARGO_VAR = re.compile(r"\{\{[^}]*\}\}")
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|\[\[[A-Za-z0-9_]+\]\]|\[[^\]]*\]|'
    r"\$\{[^}]*\}|\$[A-Za-z0-9_]+|\{\{[^}]*\}\}"
)


def _substitute(expr: str, variable: re.Pattern[str]) -> str:
    """``expr`` with template variables replaced by placeholders PromQL accepts where they are.

    In a string (a label value) a variable becomes ``x``; in a range or subquery bracket, the
    duration ``5m``; anywhere else (``$__range_s / 86400``) the number ``1``.
    """

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "\"'`":
            return variable.sub("x", token)
        if token.startswith("[") and not token.startswith("[["):
            return "[" + variable.sub("5m", token[1:-1]) + "]"
        return "1" if variable.fullmatch(token) else token

    return _TOKEN.sub(sub, expr)


def grafana_promql(expr: str) -> str:
    """A Grafana target's expression with its macros and variables replaced (see _substitute)."""
    return _substitute(expr, _GRAFANA_VAR)


def argo_promql(query: str) -> str:
    """An Argo Rollouts query with its ``{{args.x}}`` templates replaced (see _substitute)."""
    return _substitute(query, _ARGO_VAR)


_VARIABLE_CALL = re.compile(
    r"^\s*(label_values|query_result|metrics|label_names)\((.*)\)\s*$", re.S
)


def _split_last_arg(text: str) -> str:
    """``up{a="b,c"}, job`` -> ``up{a="b,c"}``: the text before the last top-level comma."""
    depth, quote, cut = 0, "", -1
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote and text[i - 1] != "\\" else quote
        elif ch in "\"'`":
            quote = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == "," and depth == 0:
            cut = i
    return text[:cut] if cut >= 0 else ""


def variable_reads(query: str) -> tuple[Read, ...]:
    """What a Grafana Prometheus query variable reads; ValueError when it does not parse."""
    call = _VARIABLE_CALL.match(query)
    if call is None:
        return reads(grafana_promql(query))
    function, inner = call.group(1), call.group(2)
    if function == "label_values":
        metric = _split_last_arg(inner).strip()
        return reads(grafana_promql(metric)) if metric else ()
    if function == "query_result":
        return reads(grafana_promql(inner))
    if function == "metrics":
        return (Read(pattern=inner.strip().strip("\"'") + ".*"),)
    return ()


# --- consumers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consumer:
    """One expression the stack evaluates, with the words that name it in a message."""

    label: str
    urn: str
    reads: tuple[Read, ...]
    record: str | None = None


def _name(res: PolicyResource) -> str:
    return str_prop(res.props, "metadata.name") or res.name


def _rule_consumers(res: PolicyResource) -> Iterator[Consumer | str]:
    """Consumers of a PrometheusRule, or a message for each rule that cannot be read."""
    where = f"PrometheusRule {_name(res)}"
    for g, group in enumerate(list_prop(res.props, "spec.groups") or []):
        if not is_mapping(group):
            raise wrong_type(f"{where}: spec.groups[{g}]", "an object", group)
        for r, rule in enumerate(list_prop(group, "rules") or []):
            if not is_mapping(rule):
                raise wrong_type(f"{where}: spec.groups[{g}].rules[{r}]", "an object", rule)
            record, alert = str_prop(rule, "record"), str_prop(rule, "alert")
            label = (
                f"alert {alert} ({where})"
                if alert
                else f"recording rule {record} ({where})"
                if record
                else f"{where} groups[{g}].rules[{r}]"
            )
            expr = rule.get("expr")
            if isinstance(expr, int | float) and not isinstance(expr, bool):
                expr = str(expr)
            if not isinstance(expr, str) or not expr.strip():
                yield f"{label} has no expr"
                continue
            try:
                found = reads(expr)
            except ValueError as exc:
                yield f"{label}: expression does not parse ({exc}): {expr}"
                continue
            yield Consumer(label, res.urn, found, record if not alert else None)


def _panels(panels: Any) -> Iterator[Mapping[str, Any]]:
    for panel in panels if is_list(panels) else []:
        if is_mapping(panel):
            yield panel
            yield from _panels(panel.get("panels"))


def _items(value: Any) -> list[Any]:
    """The items of a JSON array, none for anything else (dashboards are read leniently)."""
    return list(value) if is_list(value) else []


def _panel_consumers(board: Mapping[str, Any], title: str, urn: str) -> Iterator[Consumer | str]:
    panels = list(_panels(board.get("panels")))
    for row in _items(board.get("rows")):
        panels += list(_panels(row.get("panels") if is_mapping(row) else None))
    for panel in panels:
        label = f'dashboard "{title}" panel "{panel.get("title") or panel.get("id")}"'
        for target in _items(panel.get("targets")):
            expr = target.get("expr") if is_mapping(target) else None
            if not isinstance(expr, str) or not expr.strip():
                continue
            try:
                yield Consumer(label, urn, reads(grafana_promql(expr)))
            except ValueError as exc:
                yield f"{label}: expression does not parse ({exc}): {expr}"


def _variable_consumers(board: Mapping[str, Any], title: str, urn: str) -> Iterator[Consumer | str]:
    templating = board.get("templating")
    for var in _items(templating.get("list") if isinstance(templating, Mapping) else None):
        if not is_mapping(var) or var.get("type") != "query":
            continue
        query = var.get("query")
        if is_mapping(query):
            query = query.get("query")
        if not isinstance(query, str) or not query.strip():
            continue
        label = f'dashboard "{title}" variable "{var.get("name")}"'
        try:
            yield Consumer(label, urn, variable_reads(query))
        except ValueError as exc:
            yield f"{label}: query does not parse ({exc}): {query}"


def _dashboard_consumers(res: PolicyResource) -> Iterator[Consumer | str]:
    """Consumers of a dashboard ConfigMap: panel targets and query variables."""
    if not _is_dashboard(res):
        return
    data = mapping_prop(res.props, "data") or {}
    for key, text in data.items():
        if not isinstance(text, str):
            raise wrong_type(f"dashboard ConfigMap {_name(res)}: data.{key}", "a string", text)
        try:
            board = json.loads(text)
        except json.JSONDecodeError as exc:
            yield f"dashboard ConfigMap {_name(res)} key {key} is not JSON ({exc.msg})"
            continue
        if not is_mapping(board):
            yield f"dashboard ConfigMap {_name(res)} key {key} is not a dashboard object"
            continue
        title = str(board.get("title") or key)
        yield from _panel_consumers(board, title, res.urn)
        yield from _variable_consumers(board, title, res.urn)


def _analysis_consumers(res: PolicyResource) -> Iterator[Consumer | str]:
    """Consumers of an AnalysisTemplate: its Prometheus metrics."""
    kind = res.resource_type.rsplit(":", 1)[-1]
    for i, metric in enumerate(list_prop(res.props, "spec.metrics") or []):
        if not is_mapping(metric):
            raise wrong_type(f"{kind} {_name(res)}: spec.metrics[{i}]", "an object", metric)
        query = str_prop(metric, "provider.prometheus.query")
        if query is None:
            continue
        label = f'{kind} {_name(res)} metric "{metric.get("name") or i}"'
        try:
            yield Consumer(label, res.urn, reads(argo_promql(query)))
        except ValueError as exc:
            yield f"{label}: query does not parse ({exc}): {query}"


# --- producers -----------------------------------------------------------------------------------


@dataclass
class Supply:
    """The series names the stack's producers export, by name, with who exports them."""

    live: dict[str, str] = field(default_factory=dict)
    probed: dict[str, str] = field(default_factory=dict)
    """Series that exist only for Probe targets (the blackbox exporter's)."""
    probe_jobs: list[str] = field(default_factory=list)
    off: dict[str, str] = field(default_factory=dict)
    """Series a deployed producer would export if its release turned its scraping on: why not."""

    def add(self, families: Iterable[Family], who: str, *, probed: bool = False) -> None:
        """Record ``families`` as produced by ``who``."""
        target = self.probed if probed else self.live
        for family in families:
            for sample in family.samples():
                target.setdefault(sample, who)


def _values(res: PolicyResource) -> Mapping[str, Any]:
    return mapping_prop(res.props, "values") or {}


def _toggle_off(values: Mapping[str, Any], part: Part) -> str | None:
    """The first of the part's toggles the values leave off, as ``path is false``; else None."""
    for toggle in part.toggles:
        value = bool_or_string_prop(values, toggle.path)
        if not (toggle.default if value is None else value):
            return f"{toggle.path} is {'unset' if value is None else 'false'}, must be true"
    return None


def _derived(res: PolicyResource, part: Part, values: Mapping[str, Any]) -> list[Family]:
    """The families of a part computed from the release's values (CloudWatch, KSM configs)."""
    assert part.derive is not None
    source = DERIVER_INPUTS[part.derive]
    where = f"release {res.name} ({part.name}): values.{source.path}"
    raw = lookup(values, source.path)
    if raw is None:
        if source.default is None:
            return []
        raw = source.default
    if not source.text:
        if not is_mapping(raw):
            raise wrong_type(where, "an object", raw)
        config: Any = raw
    elif not isinstance(raw, str):
        raise wrong_type(where, "a YAML string", raw)
    else:
        try:
            config = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise InvalidPropError(f"{where} is not YAML ({exc})") from None
    try:
        return DERIVERS[part.derive](config)
    except DerivedConfigError as exc:
        raise InvalidPropError(f"{where}: {exc}") from None


def _add_producer(
    supply: Supply, res: PolicyResource, producer: Producer, values: Mapping[str, Any]
) -> None:
    for part in producer.parts:
        who = f"{producer.name} {producer.version} ({part.name}, release {res.name})"
        found = list(part.families())
        if part.derive is not None:
            found += _derived(res, part, values)
        why = _toggle_off(values, part)
        if why is not None:
            for family in found:
                for sample in family.samples():
                    supply.off.setdefault(
                        sample,
                        f"{producer.name} ({part.name}), which release {res.name} deploys "
                        f"without scraping: {why}",
                    )
            continue
        supply.add(found, who, probed=part.probe_targets)


def _release_problems(supply: Supply, res: PolicyResource) -> Iterator[str]:
    chart = str_prop(res.props, "chart")
    if chart is None:
        return
    name, version = chart_name(chart), str_prop(res.props, "version")
    if name not in known_names(CHARTS):
        return
    producer = CHARTS.get((name, version or ""))
    if producer is None:
        listed = sorted(v for n, v in CHARTS if n == name)
        yield (
            f"release {res.name}: catalog has no entry for chart {name} version "
            f"{version or '(none)'}: review its metrics (catalogued: {', '.join(listed)}; "
            f"{CATALOG_FILE})"
        )
        # Stand in with the newest reviewed version, so the review is the one finding.
        producer = newest(CHARTS, name)
        assert producer is not None
    _add_producer(supply, res, producer, _values(res))


def _workload_problems(supply: Supply, res: PolicyResource) -> Iterator[str]:
    containers = list_prop(res.props, "spec.template.spec.containers") or []
    for container in containers:
        image = str_prop(container, "image") if is_mapping(container) else None
        key = image_key(image) if image else None
        if key is None or key[0] not in known_names(IMAGES):
            continue
        producer = IMAGES.get(key)
        if producer is None:
            listed = sorted(v for n, v in IMAGES if n == key[0])
            yield (
                f"{res.name}: catalog has no entry for image {key[0]} tag {key[1]}: review its "
                f"metrics (catalogued: {', '.join(listed)}; {CATALOG_FILE})"
            )
            producer = newest(IMAGES, key[0])
            assert producer is not None
        _add_producer(supply, res, producer, {})


def _declared(supply: Supply, res: PolicyResource) -> Iterator[str]:
    """The families a service's ServiceMonitor declares it exposes."""
    # Not through a dotted path: the annotation's own name has a dot.
    annotations = mapping_prop(res.props, "metadata.annotations") or {}
    text = annotations.get(METRIC_FAMILIES_ANNOTATION)
    if text is None:
        return
    where = f"ServiceMonitor {_name(res)}: annotation {METRIC_FAMILIES_ANNOTATION}"
    try:
        items = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        items = None
    if not isinstance(items, list):
        yield f"{where} must be a JSON list of {{name, type}} objects"
        return
    declared: list[Family] = []
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(kind, str):
            yield f"{where}[{i}] must be an object with name and type strings"
            continue
        problem = family_problem(name, kind)
        if problem is not None:
            yield f"{where}[{i}]: {problem}"
            continue
        declared.append(Family(name, kind))  # type: ignore[arg-type]
    namespace = str_prop(res.props, "metadata.namespace") or "?"
    supply.add(declared, f"service {namespace}/{_name(res)} (declared on its ServiceMonitor)")


def _probe_job(res: PolicyResource) -> str:
    """The ``job`` label of a Probe's series: ``spec.jobName``, else the operator's default."""
    namespace = str_prop(res.props, "metadata.namespace") or "default"
    return str_prop(res.props, "spec.jobName") or f"probe/{namespace}/{_name(res)}"


# --- darkness ------------------------------------------------------------------------------------


def _job_matches(matchers: Sequence[tuple[str, str]], job: str) -> bool:
    for op, value in matchers:
        if op in ("=~", "!~"):
            try:
                hit = re.fullmatch(value, job) is not None
            except re.error:
                return False
            if hit != (op == "=~"):
                return False
        elif (job == value) != (op == "="):
            return False
    return True


def _shown(name: str, read: Read) -> str:
    if not read.job:
        return name
    return name + "{" + ", ".join(f'job{op}"{v}"' for op, v in read.job) + "}"


def _catalog_hint(name: str, read: Read) -> str | None:
    """The catalogued producer of ``name``, in words, or None when no catalog entry has it."""
    found = origins().get(name)
    if not found:
        cloudwatch = cloudwatch_origin(name)
        return None if cloudwatch is None else f"prometheus-cloudwatch-exporter with {cloudwatch}"
    origin = found[0]
    if origin.probe_targets:
        jobs = [v for op, v in read.job if op == "="]
        probe = f"a Probe with jobName {jobs[0]}" if jobs else "a Probe"
        return f"{origin.producer} and {probe}"
    if origin.producer in known_names(IMAGES):
        return f"a Deployment of image {origin.producer} ({origin.part})"
    needs = [t.path for t in origin.toggles if not t.default]
    with_values = f" with {', '.join(p + ': true' for p in needs)}" if needs else ""
    return f"{origin.producer} ({origin.part}){with_values}"


def expected(name: str, read: Read, supply: Supply) -> str:
    """What would produce ``name`` (as ``read`` selects it), for the message."""
    if name in supply.off:
        return supply.off[name]
    hint = _catalog_hint(name, read)
    if hint is not None:
        return hint
    if ":" in name:
        return "a recording rule of that name in a PrometheusRule of this stack"
    family = declared_family_of(name)
    if family is not None:
        return f"a service declaring {family.describe()} in its ttbt2:services metrics"
    return "a service declaring it in its ttbt2:services metrics, or a catalogued exporter"


class _Darkness:
    """Decides, with memory, whether each read has a producer, and why not."""

    def __init__(self, supply: Supply, records: Mapping[str, Sequence[Consumer]]) -> None:
        self.supply = supply
        self.records = records
        self._record_memo: dict[str, str | None] = {}
        self._resolving: set[str] = set()

    def name(self, name: str, read: Read) -> str | None:
        """Why the series ``name`` has no producer, or None when it has one."""
        if name in self.records:
            return self._recorded(name)
        if name in self.supply.probed:
            if any(_job_matches(read.job, job) for job in self.supply.probe_jobs):
                return None
        elif name in self.supply.live:
            return None
        return (
            f"{_shown(name, read)}: no producer in this stack "
            f"(expected: {expected(name, read, self.supply)})"
        )

    def _recorded(self, name: str) -> str | None:
        if name in self._record_memo:
            return self._record_memo[name]
        if name in self._resolving:
            return f"{name}: its recording rule reads itself"
        self._resolving.add(name)
        reasons = [self.consumer(rule) for rule in self.records[name]]
        self._resolving.discard(name)
        dark = [r[0] for r in reasons if r]
        result = None if len(dark) < len(reasons) else f"{name}, recorded from {dark[0]}"
        self._record_memo[name] = result
        return result

    def read(self, read: Read) -> list[str]:
        """Why each series of ``read`` has no producer (empty when all have one)."""
        if read.pattern is not None:
            try:
                pattern = re.compile(read.pattern)
            except re.error:
                return [f'{{__name__=~"{read.pattern}"}}: the name pattern is not a regex']
            names = [*self.supply.live, *self.supply.probed, *self.records]
            if any(pattern.fullmatch(n) for n in names):
                return []
            return [f'{{__name__=~"{read.pattern}"}}: no producer in this stack has such a series']
        return [why for n in read.names if (why := self.name(n, read)) is not None]

    def consumer(self, consumer: Consumer) -> list[str]:
        """Why each read of ``consumer`` has no producer, in order, without repeats."""
        return list(dict.fromkeys(why for read in consumer.reads for why in self.read(read)))


# --- the rule ------------------------------------------------------------------------------------


def _by_type(resources: Iterable[PolicyResource]) -> dict[str, list[PolicyResource]]:
    found: dict[str, list[PolicyResource]] = {}
    for res in resources:
        found.setdefault(res.resource_type, []).append(res)
    return found


def _is_dashboard(res: PolicyResource) -> bool:
    labels = mapping_prop(res.props, "metadata.labels") or {}
    return DASHBOARD_LABEL in labels


Problems = list[tuple[str, str]]


def _collect(problems: Problems, res: PolicyResource, found: Iterable[str]) -> None:
    """Every message of ``found`` about ``res``; a wrongly typed prop ends it with one more."""
    try:
        problems.extend((message, res.urn) for message in found)
    except InvalidPropError as exc:
        problems.append((exc.message, res.urn))


def _probe_jobs(supply: Supply, res: PolicyResource) -> Iterator[str]:
    """Records the Probe's job; a step like the others, with no message of its own."""
    supply.probe_jobs.append(_probe_job(res))
    yield from ()


def gather_supply(typed: Mapping[str, Sequence[PolicyResource]], problems: Problems) -> Supply:
    """What the stack's producers export; their problems are added to ``problems``."""
    supply = Supply()
    steps = [(RELEASE, _release_problems), (SERVICE_MONITOR, _declared), (PROBE, _probe_jobs)]
    steps += [(typ, _workload_problems) for typ in sorted(WORKLOADS)]
    for typ, step in steps:
        for res in typed.get(typ, []):
            _collect(problems, res, step(supply, res))
    return supply


def gather_consumers(
    typed: Mapping[str, Sequence[PolicyResource]], problems: Problems
) -> list[Consumer]:
    """Every expression the stack evaluates; unreadable ones are added to ``problems``."""
    steps = [(PROMETHEUS_RULE, _rule_consumers), (CONFIG_MAP, _dashboard_consumers)]
    steps += [(typ, _analysis_consumers) for typ in sorted(ANALYSIS_TEMPLATES)]
    consumers: list[Consumer] = []
    for typ, step in steps:
        for res in typed.get(typ, []):
            try:
                for item in step(res):
                    if isinstance(item, Consumer):
                        consumers.append(item)
                    else:
                        problems.append((item, res.urn))
            except InvalidPropError as exc:
                problems.append((exc.message, res.urn))
    return consumers


def check(resources: Iterable[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    """Every violation of the rule in a stack's resources, as ``(message, urn)``."""
    typed = _by_type(resources)
    problems: Problems = []
    supply = gather_supply(typed, problems)
    consumers = gather_consumers(typed, problems)
    yield from problems
    records: dict[str, list[Consumer]] = {}
    for consumer in consumers:
        if consumer.record:
            records.setdefault(consumer.record, []).append(consumer)
    darkness = _Darkness(supply, records)
    reported: set[tuple[str, str]] = set()
    for consumer in consumers:
        for why in darkness.consumer(consumer):
            message = f"{consumer.label} reads {why}"
            if (message, consumer.urn) not in reported:
                reported.add((message, consumer.urn))
                yield message, consumer.urn


def _check(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    return check(args.resources)


metric_provenance = stack_policy(
    name="ttbt2-metric-provenance",
    description=(
        "Platform rule: every metric read by the stack's PrometheusRules, Grafana dashboards "
        "and AnalysisTemplates has a producer deployed in the same stack (catalogued exporter "
        "release, Pushgateway, a service's declared metrics or a live recording rule), and "
        "every catalogued chart runs at a reviewed version."
    ),
    enforcement=MANDATORY,
    check=_check,
)

POLICIES: list[Policy] = [metric_provenance]

__all__ = [
    "POLICIES",
    "Consumer",
    "Read",
    "Supply",
    "argo_promql",
    "check",
    "expected",
    "gather_consumers",
    "gather_supply",
    "grafana_promql",
    "metric_provenance",
    "reads",
    "variable_reads",
]
