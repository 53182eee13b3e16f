"""Schema validation of the configuration repository's manifests for one stack's environment.

Usage, from the repository root: ``python -m scripts.validate_gitops_schemas DIR --stack NAME``,
DIR a checkout of the application configuration repository (or a folder written by
``python -m offline render``).
Custom resources (the Rollout, ServiceMonitor, VPA, ...) are validated against the CRDs vendored
with the charts (``vendor/charts/*/crds``), unknown fields included; built-in kinds against the
Kubernetes 1.33 schema. Exit 0 valid, 1 a schema error, 2 unreadable input or bad usage.

Needs the dev dependency group (jsonschema, kubernetes-validate): the reusable workflow
``gitops-check.yml`` runs it after ``check-gitops``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import kubernetes_validate

from config import SettingsError, from_config_values
from offline.gitops import GitOpsInputError, environment_dir, read_checkout
from offline.stackfile import StackFileError, load_stack
from tests.support.validate.crds import CrdError, index_crds, validate_custom_resource

ROOT = Path(__file__).resolve().parent.parent
CRD_DIRS = sorted((ROOT / "vendor" / "charts").glob("*/crds"))
KUBERNETES_VERSION = "1.33"


def validate(root: Path, environment: str) -> list[str]:
    """Every schema error of the manifests under ``envs/<environment>``, naming the file."""
    env_dir = environment_dir(root, environment)
    manifests, _ = read_checkout(env_dir)
    crds = index_crds(CRD_DIRS)
    errors: list[str] = []
    for item in manifests:
        group, _, version = str(item.doc.get("apiVersion", "")).rpartition("/")
        if (group, version, item.kind) in crds:
            errors += [f"{item.path}: {e}" for e in validate_custom_resource(item.doc, CRD_DIRS)]
            continue
        try:
            kubernetes_validate.validate(item.doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{item.path}: {item.kind} {item.name}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(
                f"{item.path}: {item.doc.get('apiVersion')} {item.kind} has no schema (neither a "
                f"vendored CRD nor a built-in kind of Kubernetes {KUBERNETES_VERSION})"
            )
    return errors


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--stack", required=True)
    args = parser.parse_args(argv)
    try:
        settings = from_config_values(args.stack, load_stack(ROOT, args.stack).values)
        errors = validate(args.dir, settings.identity.environment)
    except (StackFileError, SettingsError, GitOpsInputError, CrdError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for error in errors:
        print(f"error: {error}")
    print(f"schema validation: {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
