"""The pack as a whole: names, enforcement levels, checkov references, layout, type tokens."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pulumi.type_token import get_type_token
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from policies.ttbt2_policies import (
    ALL_POLICIES,
    PACK_NAME,
    azure,
    cloudfront,
    data_privacy,
    eks,
    elasticache,
    gcp,
    iam,
    kms,
    network,
    protection,
    rds,
    s3,
    tags,
)
from tests.support.policies import sdk_resource_class

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
PACKAGE_DIR = POLICIES_DIR / "ttbt2_policies"

EXPECTED: dict[str, EnforcementLevel] = {
    "aws-kms-key-rotation-enabled": EnforcementLevel.MANDATORY,
    "aws-kms-key-policy-no-wildcard-principal": EnforcementLevel.MANDATORY,
    "aws-kms-key-deletion-window": EnforcementLevel.MANDATORY,
    "aws-eks-secrets-encryption": EnforcementLevel.MANDATORY,
    "aws-eks-control-plane-logging": EnforcementLevel.MANDATORY,
    "aws-eks-endpoint-not-public": EnforcementLevel.MANDATORY,
    "aws-eks-access-covers-application": EnforcementLevel.MANDATORY,
    "aws-eks-private-endpoint-ci-runner": EnforcementLevel.MANDATORY,
    "aws-iam-no-wildcard-actions": EnforcementLevel.MANDATORY,
    "aws-iam-no-wildcard-resources": EnforcementLevel.MANDATORY,
    "aws-iam-trust-no-wildcard-principal": EnforcementLevel.MANDATORY,
    "aws-iam-no-administrator-access": EnforcementLevel.MANDATORY,
    "aws-iam-web-identity-trust-pinned": EnforcementLevel.MANDATORY,
    "aws-iam-security-group-writes-conditioned": EnforcementLevel.MANDATORY,
    "aws-security-group-no-public-admin-ingress": EnforcementLevel.MANDATORY,
    "aws-launch-template-imdsv2-required": EnforcementLevel.MANDATORY,
    "aws-default-security-group-closed": EnforcementLevel.MANDATORY,
    "aws-vpc-flow-logs-enabled": EnforcementLevel.MANDATORY,
    "aws-vpc-default-security-group-managed": EnforcementLevel.MANDATORY,
    "aws-required-tags": EnforcementLevel.ADVISORY,
    "aws-protect-stateful-resources": EnforcementLevel.MANDATORY,
    "aws-s3-bucket-encryption-kms": EnforcementLevel.MANDATORY,
    "aws-s3-bucket-public-access-block": EnforcementLevel.MANDATORY,
    "aws-s3-bucket-no-public-acl": EnforcementLevel.MANDATORY,
    "aws-s3-bucket-policy-no-public-allow": EnforcementLevel.MANDATORY,
    "aws-s3-bucket-tls-only": EnforcementLevel.MANDATORY,
    "aws-s3-bucket-access-logging": EnforcementLevel.MANDATORY,
    "aws-s3-bucket-versioning": EnforcementLevel.MANDATORY,
    "aws-rds-storage-encrypted": EnforcementLevel.MANDATORY,
    "aws-rds-not-publicly-accessible": EnforcementLevel.MANDATORY,
    "aws-rds-backup-retention": EnforcementLevel.MANDATORY,
    "aws-rds-multi-az": EnforcementLevel.MANDATORY,
    "aws-rds-deletion-protection": EnforcementLevel.MANDATORY,
    "aws-rds-iam-authentication": EnforcementLevel.MANDATORY,
    "aws-rds-final-snapshot": EnforcementLevel.MANDATORY,
    "aws-rds-managed-master-password": EnforcementLevel.MANDATORY,
    "aws-rds-force-tls": EnforcementLevel.MANDATORY,
    "aws-rds-performance-insights": EnforcementLevel.ADVISORY,
    "aws-rds-log-exports": EnforcementLevel.ADVISORY,
    "aws-backup-vault-cmk": EnforcementLevel.MANDATORY,
    "aws-backup-plan-retention": EnforcementLevel.MANDATORY,
    "aws-backup-vault-lock": EnforcementLevel.MANDATORY,
    "aws-backup-cross-region-copy": EnforcementLevel.MANDATORY,
    "aws-backup-data-stores-selected": EnforcementLevel.MANDATORY,
    "aws-backup-no-deletion-grant": EnforcementLevel.MANDATORY,
    "aws-backup-vault-access-policy": EnforcementLevel.MANDATORY,
    "aws-elasticache-at-rest-encryption": EnforcementLevel.MANDATORY,
    "aws-elasticache-transit-encryption": EnforcementLevel.MANDATORY,
    "aws-elasticache-user-group-auth": EnforcementLevel.MANDATORY,
    "aws-elasticache-user-iam-auth": EnforcementLevel.MANDATORY,
    "aws-elasticache-automatic-failover": EnforcementLevel.MANDATORY,
    "aws-elasticache-snapshot-retention": EnforcementLevel.MANDATORY,
    "aws-cloudfront-viewer-https": EnforcementLevel.MANDATORY,
    "aws-cloudfront-viewer-tls": EnforcementLevel.MANDATORY,
    "aws-cloudfront-access-logging": EnforcementLevel.MANDATORY,
    "aws-cloudfront-waf": EnforcementLevel.MANDATORY,
    "aws-cloudfront-s3-origin-access-control": EnforcementLevel.MANDATORY,
    "aws-cloudfront-origin-https": EnforcementLevel.ADVISORY,
    "aws-wafv2-cloudfront-rate-limit": EnforcementLevel.MANDATORY,
    "aws-wafv2-cloudfront-metrics": EnforcementLevel.ADVISORY,
    "aws-wafv2-logging": EnforcementLevel.MANDATORY,
    "vault-policy-least-privilege": EnforcementLevel.MANDATORY,
    "gcp-kms-crypto-key-rotation": EnforcementLevel.MANDATORY,
    "gcp-bigquery-dataset-cmek": EnforcementLevel.MANDATORY,
    "gcp-bigquery-dataset-not-public": EnforcementLevel.MANDATORY,
    "gcp-storage-bucket-not-public": EnforcementLevel.MANDATORY,
    "gcp-storage-bucket-uniform-access": EnforcementLevel.MANDATORY,
    "gcp-storage-bucket-public-access-prevention": EnforcementLevel.MANDATORY,
    "gcp-storage-bucket-access-logging": EnforcementLevel.MANDATORY,
    "gcp-storage-data-access-audit": EnforcementLevel.MANDATORY,
    "gcp-iam-no-service-account-admin-roles": EnforcementLevel.MANDATORY,
    "gcp-iam-no-basic-roles": EnforcementLevel.MANDATORY,
    "gcp-no-service-account-keys": EnforcementLevel.MANDATORY,
    "azure-storage-https-only": EnforcementLevel.MANDATORY,
    "azure-storage-minimum-tls": EnforcementLevel.MANDATORY,
    "azure-storage-no-blob-public-access": EnforcementLevel.MANDATORY,
    "azure-storage-replicated-sku": EnforcementLevel.MANDATORY,
    "azure-storage-no-shared-key": EnforcementLevel.MANDATORY,
    "azure-keyvault-purge-protection": EnforcementLevel.MANDATORY,
    "azure-keyvault-soft-delete": EnforcementLevel.MANDATORY,
    "k8s-probes": EnforcementLevel.MANDATORY,
    "k8s-resource-requests-limits": EnforcementLevel.MANDATORY,
    "k8s-image-tag-pinned": EnforcementLevel.MANDATORY,
    "k8s-image-digest": EnforcementLevel.ADVISORY,
    "k8s-not-privileged": EnforcementLevel.MANDATORY,
    "k8s-no-host-namespaces": EnforcementLevel.MANDATORY,
    "k8s-no-privilege-escalation": EnforcementLevel.MANDATORY,
    "k8s-not-default-namespace": EnforcementLevel.MANDATORY,
    "k8s-read-only-root-filesystem": EnforcementLevel.MANDATORY,
    "k8s-run-as-non-root": EnforcementLevel.MANDATORY,
    "k8s-high-uid": EnforcementLevel.MANDATORY,
    "k8s-seccomp-profile": EnforcementLevel.MANDATORY,
    "k8s-drop-capabilities": EnforcementLevel.MANDATORY,
    "k8s-added-capabilities": EnforcementLevel.MANDATORY,
    "k8s-secrets-as-files": EnforcementLevel.MANDATORY,
    "k8s-service-account-token": EnforcementLevel.MANDATORY,
    "k8s-namespace-network-policy": EnforcementLevel.MANDATORY,
    "k8s-alb-ingress-source-restricted": EnforcementLevel.MANDATORY,
    "k8s-alb-ingress-access-logs": EnforcementLevel.MANDATORY,
    "k8s-alb-ingress-deletion-protection": EnforcementLevel.MANDATORY,
    "ttbt2-recovery-point-objective": EnforcementLevel.MANDATORY,
    "ttbt2-copy-source-has-writer": EnforcementLevel.MANDATORY,
    "ttbt2-metric-provenance": EnforcementLevel.MANDATORY,
    "ttbt2-data-classification-tag": EnforcementLevel.MANDATORY,
    "ttbt2-log-redaction": EnforcementLevel.MANDATORY,
    "ttbt2-log-retention-classification": EnforcementLevel.MANDATORY,
    "ttbt2-cost-under-watch": EnforcementLevel.MANDATORY,
    "ttbt2-nonprod-seed-anonymised": EnforcementLevel.MANDATORY,
}
PLATFORM_RULES = {
    "aws-elasticache-user-iam-auth",
    "aws-eks-private-endpoint-ci-runner",
    "aws-required-tags",
    "aws-protect-stateful-resources",
    "aws-kms-key-deletion-window",
    "aws-rds-final-snapshot",
    "aws-rds-managed-master-password",
    "aws-wafv2-cloudfront-rate-limit",
    "aws-wafv2-cloudfront-metrics",
    "vault-policy-least-privilege",
    "gcp-no-service-account-keys",
    "azure-storage-no-shared-key",
    "aws-backup-plan-retention",
    "aws-backup-vault-lock",
    "aws-backup-cross-region-copy",
    "aws-backup-data-stores-selected",
    "aws-backup-no-deletion-grant",
    "aws-backup-vault-access-policy",
    "aws-iam-security-group-writes-conditioned",
    "aws-eks-access-covers-application",
    "k8s-alb-ingress-source-restricted",
    "k8s-alb-ingress-access-logs",
    "k8s-alb-ingress-deletion-protection",
    "ttbt2-recovery-point-objective",
    "ttbt2-copy-source-has-writer",
    "ttbt2-metric-provenance",
    "ttbt2-data-classification-tag",
    "ttbt2-log-redaction",
    "ttbt2-log-retention-classification",
    "ttbt2-cost-under-watch",
    "ttbt2-nonprod-seed-anonymised",
}
STACK_POLICIES = {
    "aws-eks-private-endpoint-ci-runner",
    "aws-vpc-flow-logs-enabled",
    "aws-vpc-default-security-group-managed",
    "aws-s3-bucket-encryption-kms",
    "aws-s3-bucket-public-access-block",
    "aws-s3-bucket-tls-only",
    "aws-s3-bucket-access-logging",
    "aws-s3-bucket-versioning",
    "aws-rds-force-tls",
    "aws-wafv2-logging",
    "gcp-storage-bucket-access-logging",
    "gcp-storage-data-access-audit",
    "k8s-namespace-network-policy",
    "aws-eks-access-covers-application",
    "aws-backup-vault-lock",
    "aws-backup-data-stores-selected",
    "aws-backup-vault-access-policy",
    "ttbt2-recovery-point-objective",
    "ttbt2-copy-source-has-writer",
    "ttbt2-metric-provenance",
    "ttbt2-log-redaction",
    "ttbt2-log-retention-classification",
    "ttbt2-cost-under-watch",
}


def test_pack_name() -> None:
    assert PACK_NAME == "ttbt2-guardrails"


def test_policies_in_stable_order_with_expected_levels() -> None:
    assert [p.name for p in ALL_POLICIES] == list(EXPECTED)
    assert {p.name: p.enforcement_level for p in ALL_POLICIES} == EXPECTED


def test_names_are_unique_and_kebab_case() -> None:
    names = [p.name for p in ALL_POLICIES]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name


def test_every_policy_has_an_enforcement_level() -> None:
    assert all(isinstance(p.enforcement_level, EnforcementLevel) for p in ALL_POLICIES)


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=lambda p: p.name)
def test_every_policy_names_its_checkov_ids_or_is_a_platform_rule(policy: object) -> None:
    description = getattr(policy, "description", "")
    if getattr(policy, "name", "") in PLATFORM_RULES:
        assert "platform rule" in description.lower()
    else:
        assert re.search(r"CKV2?_(AWS|GCP|AZURE|K8S)_\d+", description), description


def test_policy_kinds() -> None:
    for policy in ALL_POLICIES:
        expected = (
            StackValidationPolicy if policy.name in STACK_POLICIES else ResourceValidationPolicy
        )
        assert isinstance(policy, expected), policy.name


def test_package_imports_as_top_level_from_the_policies_folder() -> None:
    """Pulumi runs the pack from ``policies/``, where the package is ``ttbt2_policies``."""
    code = "import ttbt2_policies as p; print(p.PACK_NAME, len(p.ALL_POLICIES))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=POLICIES_DIR, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [PACK_NAME, str(len(ALL_POLICIES))]


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_package_modules_import_each_other_relatively(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            assert not (node.module or "").startswith(("policies", "ttbt2_policies")), path.name
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith(("policies", "ttbt2_policies")) for a in node.names)


def test_main_only_builds_the_pack() -> None:
    """Checked by reading it: importing it would start the analyzer server and block."""
    tree = ast.parse((POLICIES_DIR / "__main__.py").read_text())
    imports = {
        (node.module, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("ttbt2_policies", "ALL_POLICIES") in imports
    assert ("ttbt2_policies", "PACK_NAME") in imports
    calls = [n for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert len(calls) == 1
    call = calls[0].value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    assert call.func.id == "PolicyPack"
    assert {k.arg for k in call.keywords} == {"name", "policies"}


def test_pulumi_policy_yaml() -> None:
    spec = yaml.safe_load((POLICIES_DIR / "PulumiPolicy.yaml").read_text())
    assert spec["description"]
    assert spec["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}


def test_requirements_are_pinned() -> None:
    """The pack's own virtualenv gets exactly what it imports, at the program's pinned versions.

    The pack runs in a virtualenv of its own (``PulumiPolicy.yaml``), so a version that drifted
    from ``pyproject.toml`` would evaluate policies differently from the offline engine.
    """
    lines = (POLICIES_DIR / "requirements.txt").read_text().split()
    project = tomllib.loads((POLICIES_DIR.parent / "pyproject.toml").read_text())
    pins = [*project["project"]["dependencies"], *project["dependency-groups"]["dev"]]
    pinned = dict(p.split("==", 1) for p in pins if "==" in p)
    assert sorted(lines) == sorted(
        f"{name}=={pinned[name]}"
        for name in ("pulumi-policy", "pulumi", "policy-sentry", "promql-parser", "PyYAML")
    )


USED_TYPES = sorted(
    {
        kms.KEY,
        eks.CLUSTER,
        iam.ROLE,
        *iam.IDENTITY_POLICY_TYPES,
        *iam.ATTACHMENT_TYPES,
        *iam.EXCLUSIVE_ATTACHMENT_TYPES,
        network.VPC,
        network.FLOW_LOG,
        network.SECURITY_GROUP,
        network.SECURITY_GROUP_RULE,
        network.INGRESS_RULE,
        network.DEFAULT_SECURITY_GROUP,
        network.LAUNCH_TEMPLATE,
        *protection.STATEFUL_TYPES,
        *tags.TAGGABLE_TYPES,
        *s3.BUCKET_TYPES,
        *s3.COMPANION_TYPES,
        *rds.DATABASES,
        rds.CLUSTER_INSTANCE,
        rds.PARAMETER_GROUP,
        rds.CLUSTER_PARAMETER_GROUP,
        elasticache.REPLICATION_GROUP,
        cloudfront.DISTRIBUTION,
        cloudfront.WEB_ACL,
        cloudfront.WEB_ACL_LOGGING,
        *(t for t in data_privacy.DATA_STORES if t.startswith("aws:")),
    }
)


@pytest.mark.parametrize("type_", USED_TYPES)
def test_every_type_token_exists_in_the_installed_sdk(type_: str) -> None:
    """A misspelt token would silently make a rule apply to nothing."""
    sdk_resource_class(type_)


GCP_AZURE_TYPES = sorted(
    {
        *gcp.USED_TYPES,
        *azure.USED_TYPES,
        *(t for t in data_privacy.DATA_STORES if not t.startswith("aws:")),
    }
)
SDK_PACKAGES = {"gcp": "pulumi_gcp", "azure-native": "pulumi_azure_native"}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("type_", GCP_AZURE_TYPES)
def test_every_gcp_and_azure_type_token_exists_in_the_installed_sdk(type_: str) -> None:
    """``gcp:<module>/<name>:<Class>`` and ``azure-native:<module>:<Class>`` alike."""
    provider, module_path, class_name = type_.split(":")
    module = importlib.import_module(f"{SDK_PACKAGES[provider]}.{module_path.split('/')[0]}")
    cls = getattr(module, class_name)
    assert get_type_token(cls) == type_, f"{type_} is {get_type_token(cls)} in the SDK"


def test_stack_policy_reports_invalid_props_as_violations() -> None:
    """The shared builder turns InvalidPropError into a violation for stack checks too."""
    from policies.ttbt2_policies.common import MANDATORY, InvalidPropError, stack_policy
    from tests.support.policies import findings_for, resource

    def check(_args: object) -> Iterator[tuple[str, str | None]]:
        raise InvalidPropError("vpcId must be a string")
        yield ("unreachable", None)

    policy = stack_policy(
        name="synthetic", description="CKV_AWS_0", enforcement=MANDATORY, check=check
    )
    found = findings_for(policy, [resource("aws:ec2/vpc:Vpc", {})])
    assert [(f.kind, f.message, f.urn) for f in found] == [
        ("violation", "vpcId must be a string", "")
    ]
