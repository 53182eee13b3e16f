"""The application configuration repository Argo CD applies: rendered, and checked.

Layout (docs/gitops.md), one folder per service namespace, which is one Argo CD Application's
path (:func:`components.k8s.gitops.application_spec`)::

    envs/<env>/appproject.yaml               reference copy of the AppProject (Pulumi applies it)
    envs/<env>/<namespace>/kustomization.yaml resources: [rollout.yaml]; the pipeline's images:
    envs/<env>/<namespace>/rollout.yaml       the service's Rollout

:func:`render_gitops` writes that content from ``ttbt2:services``, built by the same code as the
Rollout Pulumi applies where there is no configuration repository. :func:`check_gitops` judges a
checkout (or a rendered folder): the policy pack's Kubernetes rules on every manifest, the
AppProject's allowed kinds and namespaces, each Rollout's canary plan against the stack's
``ttbt2:services`` and its worst-case rollback time, and images pinned by digest in prod.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.delivery.rollback import rollback_breakdown
from components.delivery.spec import CanaryStep, ServiceSpec
from components.k8s.gitops import NAMESPACED_KINDS, GitOpsArgs, app_project_spec
from components.k8s.service_delivery import (
    ROLLOUTS_API,
    ServiceDeliveryArgs,
    build_manifests,
    prometheus_url,
    rollout_spec,
    service_labels,
)
from components.k8s.vault_secrets import config_secret_name, database_secret_name
from config import Settings
from offline.evaluate import Finding, duration_seconds, evaluate
from offline.graph import Resource, StackGraph

GITOPS_DIR = "gitops"
ROLLOUT_FILE = "rollout.yaml"
KUSTOMIZATION_FILE = "kustomization.yaml"
PROJECT_FILE = "appproject.yaml"
ROLLOUT_TYPE = "kubernetes:argoproj.io/v1alpha1:Rollout"
_VAULT_SECRET_TYPES = frozenset(
    {
        "kubernetes:secrets.hashicorp.com/v1beta1:VaultStaticSecret",
        "kubernetes:secrets.hashicorp.com/v1beta1:VaultDynamicSecret",
    }
)
_MANDATORY = "mandatory"


class GitOpsInputError(Exception):
    """A checkout that cannot be judged: missing folder, unreadable file, not a manifest."""


def environment_dir(root: Path, environment: str) -> Path:
    """``envs/<env>`` of a checkout (``root/envs``) or of a render (``root/gitops/envs``)."""
    for base in (root, root / GITOPS_DIR):
        candidate = base / "envs" / environment
        if candidate.is_dir():
            return candidate
    raise GitOpsInputError(
        f"{root}: no envs/{environment} folder (nor {GITOPS_DIR}/envs/{environment}); give a "
        "checkout of the configuration repository or a folder written by `render`"
    )


def _project_args(settings: Settings) -> GitOpsArgs:
    return GitOpsArgs(
        environment=settings.identity.environment,
        config_repo=settings.gitops.app_config_repo,
        service_namespaces=[svc.name for svc in settings.delivery.services],
        target_revision=settings.gitops.target_revision,
    )


def expected_project(settings: Settings) -> dict[str, Any]:
    """The AppProject Pulumi applies for the stack, as a manifest."""
    args = _project_args(settings)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": args.project, "namespace": "argocd"},
        "spec": app_project_spec(args),
    }


def _mounted_secrets(graph: StackGraph, service: str) -> tuple[str, ...]:
    """The Vault-synced Secrets the stack creates in the service's namespace, to mount."""
    synced = {
        str((res.props.get("metadata") or {}).get("name"))
        for res in graph.resources
        if res.type in _VAULT_SECRET_TYPES
        and (res.props.get("metadata") or {}).get("namespace") == service
    }
    wanted = (config_secret_name(service), database_secret_name(service))
    return tuple(name for name in wanted if name in synced)


def pulumi_owned(settings: Settings) -> dict[str, set[tuple[str, str]]]:
    """(kind, name) of the objects Pulumi applies in each service namespace, Rollout aside."""
    owned: dict[str, set[tuple[str, str]]] = {}
    for svc in settings.delivery.services:
        args = ServiceDeliveryArgs(
            service=svc,
            environment=settings.identity.environment,
            role_arn="",
            certificate_arn="",
            vpc_cidr=settings.network.vpc_cidr,
            prometheus_url=prometheus_url(),
            # Any prober: its allow-probes NetworkPolicy is Pulumi's wherever it exists.
            prober_namespace="monitoring",
        )
        owned[svc.name] = {
            (m["kind"], m["metadata"]["name"])
            for m in build_manifests(args)
            if m["kind"] not in ("Rollout", "Namespace")
        }
    return owned


def rollout_manifest(
    svc: ServiceSpec, environment: str, secrets: tuple[str, ...]
) -> dict[str, Any]:
    """The Rollout of ``svc``, as :mod:`components.k8s.service_delivery` builds it."""
    # Argo CD applies it; the pods' labels are the same as under Pulumi (selector included).
    labels = {**service_labels(svc.name, environment), "app.kubernetes.io/managed-by": "argocd"}
    return {
        "apiVersion": ROLLOUTS_API,
        "kind": "Rollout",
        "metadata": {"name": svc.name, "namespace": svc.name, "labels": labels},
        "spec": rollout_spec(svc, labels, secrets),
    }


def gitops_documents(settings: Settings, graph: StackGraph) -> dict[str, dict[str, Any]]:
    """The configuration repository's files for the stack, by path; empty without GitOps."""
    if not settings.gitops.app_config_repo or not settings.delivery.services:
        return {}
    env = settings.identity.environment
    docs: dict[str, dict[str, Any]] = {f"envs/{env}/{PROJECT_FILE}": expected_project(settings)}
    for svc in settings.delivery.services:
        folder = f"envs/{env}/{svc.name}"
        docs[f"{folder}/{KUSTOMIZATION_FILE}"] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [ROLLOUT_FILE],
        }
        docs[f"{folder}/{ROLLOUT_FILE}"] = rollout_manifest(
            svc, env, _mounted_secrets(graph, svc.name)
        )
    return docs


def render_gitops(settings: Settings, graph: StackGraph, out: Path) -> list[Path]:
    """Write :func:`gitops_documents` under ``out/gitops``; return the files written."""
    written: list[Path] = []
    for rel, doc in gitops_documents(settings, graph).items():
        path = out / GITOPS_DIR / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        # A JSON round trip unshares the label maps, so the file has no YAML anchors.
        plain = json.loads(json.dumps(doc))
        path.write_text(yaml.safe_dump(plain, sort_keys=False, width=100))
        written.append(path)
    return written


@dataclass
class Manifest:
    """One object of the checkout, with the file it came from (relative to ``envs/<env>``)."""

    path: str
    namespace: str
    """The folder's namespace (the Application's destination); empty at the top level."""
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        """The object's kind."""
        return str(self.doc.get("kind", ""))

    @property
    def group(self) -> str:
        """The API group (``""`` for the core group)."""
        api = str(self.doc.get("apiVersion", ""))
        return api.rpartition("/")[0]

    @property
    def name(self) -> str:
        """``metadata.name``."""
        return str((self.doc.get("metadata") or {}).get("name", ""))

    def resource(self, stack: str) -> Resource:
        """The manifest as a resource of the graph the policies read."""
        api = str(self.doc.get("apiVersion", ""))
        group_version = api if "/" in api else f"core/{api}"
        token = f"kubernetes:{group_version}:{self.kind}"
        return Resource(
            urn=f"urn:pulumi:{stack}::gitops::{token}::{self.path}", type=token, name=self.path
        )


@dataclass
class GitOpsCheck:
    """What :func:`check_gitops` found: the manifests judged and the findings."""

    graph: StackGraph
    findings: list[Finding] = field(default_factory=list)


def _load(path: Path, rel: str) -> list[dict[str, Any]]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise GitOpsInputError(f"{rel}: cannot read file ({exc})") from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise GitOpsInputError(f"{rel}: not valid YAML{where}") from None
    for doc in docs:
        if not isinstance(doc, dict):
            raise GitOpsInputError(f"{rel}: every YAML document must be a mapping")
    return docs


def read_checkout(env_dir: Path) -> tuple[list[Manifest], dict[str, dict[str, Any]]]:
    """Every Kubernetes object under ``env_dir``, and each folder's kustomization by namespace."""
    manifests: list[Manifest] = []
    kustomizations: dict[str, dict[str, Any]] = {}
    files = sorted(p for p in env_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        rel = path.relative_to(env_dir).as_posix()
        parts = rel.split("/")
        namespace = parts[0] if len(parts) > 1 else ""
        for doc in _load(path, f"envs/{env_dir.name}/{rel}"):
            if path.name in (KUSTOMIZATION_FILE, "kustomization.yml") or doc.get("kind") == (
                "Kustomization"
            ):
                kustomizations[namespace] = doc
                continue
            meta = doc.get("metadata")
            if not isinstance(doc.get("kind"), str) or not isinstance(meta, dict):
                raise GitOpsInputError(
                    f"envs/{env_dir.name}/{rel}: a document without kind and metadata is not a "
                    "Kubernetes object"
                )
            manifests.append(Manifest(f"envs/{env_dir.name}/{rel}", namespace, doc))
    return manifests, kustomizations


def _image_name(image: str) -> str:
    reference = image.partition("@")[0]
    head, _, tail = reference.rpartition(":")
    return head if head and "/" not in tail else reference


def apply_images(doc: dict[str, Any], kustomization: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` with the kustomization's ``images`` overrides applied, as Argo CD renders it."""
    overrides = {
        str(entry.get("name")): entry
        for entry in kustomization.get("images") or []
        if isinstance(entry, dict) and entry.get("name")
    }
    if not overrides:
        return doc
    pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    for key in ("containers", "initContainers"):
        for container in pod.get(key) or []:
            image = str(container.get("image", ""))
            entry = overrides.get(_image_name(image))
            if entry is None:
                continue
            name = str(entry.get("newName") or _image_name(image))
            if entry.get("digest"):
                container["image"] = f"{name}@{entry['digest']}"
            elif entry.get("newTag"):
                container["image"] = f"{name}:{entry['newTag']}"
            else:
                container["image"] = name + image[len(_image_name(image)) :]
    return doc


def _steps_back(raw: Any) -> list[CanaryStep]:
    """Argo canary steps as :class:`CanaryStep` (ValueError for a step the plan cannot hold)."""
    if not isinstance(raw, list):
        raise ValueError("spec.strategy.canary.steps must be a list")
    steps: list[CanaryStep] = []
    for i, step in enumerate(raw):
        if isinstance(step, dict) and set(step) == {"setWeight"}:
            steps.append(CanaryStep(set_weight=step["setWeight"]))
        elif isinstance(step, dict) and set(step) == {"pause"} and isinstance(step["pause"], dict):
            duration = step["pause"].get("duration")
            if duration is None:
                steps.append(CanaryStep(pause_until_promoted=True))
                continue
            seconds = duration_seconds(int(duration) if str(duration).isdigit() else duration)
            if seconds <= 0:
                raise ValueError(f"step {i}: pause duration {duration!r} is not a duration")
            steps.append(CanaryStep(pause_seconds=int(seconds)))
        else:
            raise ValueError(f"step {i}: {step!r} is not a setWeight or pause step")
    return steps


def _canary_findings(svc: ServiceSpec, rollout: Manifest, fail: Callable[..., None]) -> None:
    canary = ((rollout.doc.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    written = canary.get("steps")
    planned = [step.to_argo() for step in svc.canary.steps]
    starting = (canary.get("analysis") or {}).get("startingStep")
    if written != planned or starting != svc.canary.analysis.starting_step:
        fail(
            "gitops-canary-plan",
            _PLAN,
            f"service {svc.name}: {rollout.path} has steps {written} with startingStep "
            f"{starting}; ttbt2:services plans {planned} with startingStep "
            f"{svc.canary.analysis.starting_step}",
            rollout,
        )
    # The rest of the strategy comes from ttbt2:services and the objects Pulumi applies around
    # the Rollout (its Services, Ingress and AnalysisTemplate): another template, no analysis
    # or a longer abort delay would change what the rollback figure assumes.
    expected = rollout_spec(svc, {}, ())["strategy"]["canary"]
    for key in sorted((set(expected) | set(canary)) - {"steps"}):
        have, want = canary.get(key), expected.get(key)
        if key == "analysis" and isinstance(have, dict):
            have = {k: v for k, v in have.items() if k != "startingStep"}
            want = {k: v for k, v in want.items() if k != "startingStep"}
        if have != want:
            fail(
                "gitops-canary-plan",
                _PLAN,
                f"service {svc.name}: {rollout.path}: strategy.canary.{key} is {have!r}; "
                f"ttbt2:services gives {want!r}",
                rollout,
            )
    try:
        steps = _steps_back(written)
        starting_step = int(starting) if starting is not None else 0
    except (ValueError, TypeError) as exc:
        fail("gitops-rollback-time", _ROLLBACK, f"service {svc.name}: {exc}", rollout)
        return
    analysis = svc.canary.analysis.model_copy(update={"starting_step": starting_step})
    written_svc = svc.model_copy(
        update={"canary": svc.canary.model_copy(update={"steps": steps, "analysis": analysis})}
    )
    breakdown = rollback_breakdown(written_svc)
    if not breakdown.within_limit:
        fail("gitops-rollback-time", _ROLLBACK, f"{rollout.path}: {breakdown.problem()}", rollout)


_PLAN = (
    "Each Rollout's canary strategy (steps, analysis, traffic routing) is the one ttbt2:services "
    "gives, whose plan the rollback-time rule checks."
)
_ROLLBACK = "The worst-case rollback of each Rollout's canary plan stays under 10 minutes."


def check_gitops(root: Path, settings: Settings, stack: str) -> GitOpsCheck:
    """Judge the configuration repository's ``envs/<env>`` for ``settings``' environment.

    Raises :class:`GitOpsInputError` for input that cannot be read.
    """
    from policies.ttbt2_policies import kubernetes

    env = settings.identity.environment
    env_dir = environment_dir(root, env)
    manifests, kustomizations = read_checkout(env_dir)
    services = {svc.name: svc for svc in settings.delivery.services}
    findings: list[Finding] = []
    urns: dict[int, str] = {}
    resources: list[Resource] = []
    for item in manifests:
        res = item.resource(stack)
        # Argo CD puts an object without a namespace into its Application's destination.
        doc = dict(item.doc)
        meta = dict(doc.get("metadata") or {})
        if item.namespace and not meta.get("namespace"):
            meta["namespace"] = item.namespace
        doc["metadata"] = meta
        res.props = apply_images(doc, kustomizations.get(item.namespace, {}))
        urns[id(item)] = res.urn
        resources.append(res)
    graph = StackGraph("gitops", stack, resources)

    def fail(policy: str, description: str, message: str, item: Manifest | None) -> None:
        urn = urns[id(item)] if item is not None else ""
        findings.append(Finding(policy, description, _MANDATORY, message, urn))

    _placement_findings(manifests, settings, stack, fail)
    findings += evaluate(graph, kubernetes.POLICIES)
    for name, svc in services.items():
        rollouts = [
            m for m in manifests if m.kind == "Rollout" and m.namespace == name and m.name == name
        ]
        if not rollouts:
            fail(
                "gitops-rollout-present",
                "Every service of ttbt2:services has its Rollout in its namespace's folder.",
                f"service {name}: no Rollout {name} under envs/{env}/{name}",
                None,
            )
            continue
        _canary_findings(svc, rollouts[0], fail)
    if env == "prod":
        for item, res in zip(manifests, resources, strict=True):
            for image in _images(res.props):
                if "@sha256:" not in image:
                    fail(
                        "gitops-image-digest",
                        "In prod every image is pinned by digest (repository@sha256:...).",
                        f"{item.path}: image {image} is not pinned by digest",
                        item,
                    )
    return GitOpsCheck(graph, findings)


def _placement_findings(
    manifests: list[Manifest], settings: Settings, stack: str, fail: Callable[..., None]
) -> None:
    """The AppProject's rules on each manifest: its folder, namespace and kind."""
    env = settings.identity.environment
    services = [svc.name for svc in settings.delivery.services]
    owned = pulumi_owned(settings)
    allowed = set(NAMESPACED_KINDS)
    project = expected_project(settings)
    for item in manifests:
        if item.kind == "AppProject" and not item.namespace:
            if item.doc.get("spec") != project["spec"]:
                fail(
                    "gitops-appproject-copy",
                    "The repository's reference copy of the AppProject is the one Pulumi applies.",
                    f"{item.path} differs from the AppProject of stack {stack}; render it again",
                    item,
                )
            continue
        if not item.namespace:
            fail(
                "gitops-appproject-namespaces",
                "Every manifest is in a service namespace's folder, an Application's path.",
                f"{item.path} is outside every envs/{env}/<namespace> folder",
                item,
            )
            continue
        if item.namespace not in services:
            fail(
                "gitops-appproject-namespaces",
                "The AppProject's destinations are the environment's service namespaces only.",
                f"{item.path}: folder {item.namespace} is not a service namespace of stack "
                f"{stack} (allowed: {', '.join(services) or 'none'})",
                item,
            )
        declared = (item.doc.get("metadata") or {}).get("namespace")
        if declared and declared != item.namespace:
            fail(
                "gitops-appproject-namespaces",
                "An object lands in its folder's namespace, its Application's destination.",
                f"{item.path}: metadata.namespace {declared} is not the folder's {item.namespace}",
                item,
            )
        if (item.kind, item.name) in owned.get(item.namespace, set()):
            fail(
                "gitops-pulumi-owned",
                "No object of the repository is one Pulumi applies around the Rollout.",
                f"{item.path}: {item.kind} {item.name} is applied by Pulumi from ttbt2:services; "
                "remove it from the repository",
                item,
            )
        if (item.group, item.kind) not in allowed:
            kinds = ", ".join(f"{g or 'core'}/{k}" for g, k in NAMESPACED_KINDS)
            fail(
                "gitops-appproject-kinds",
                "The AppProject allows no cluster-scoped kind and only the services' namespaced "
                "kinds.",
                f"{item.path}: {item.group or 'core'}/{item.kind} is not allowed "
                f"(allowed: {kinds})",
                item,
            )


def _images(doc: Mapping[str, Any]) -> Iterator[str]:
    pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    for key in ("containers", "initContainers"):
        for container in pod.get(key) or []:
            if isinstance(container, dict) and "image" in container:
                yield str(container["image"])
