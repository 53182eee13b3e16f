"""Settings: the real stacks parse; every rule rejects a bad value with key, value and rule."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from config import (
    Problem,
    Settings,
    SettingsError,
    config_keys,
    from_pulumi_config,
    instance_architecture,
    parse_raw,
)
from tests.conftest import ALERTMANAGER_SECRETS, STACKS, raw_settings


@pytest.mark.parametrize("stack", STACKS)
def test_real_stacks_parse(stack: str) -> None:
    settings = parse_raw(stack, raw_settings(stack))
    assert settings.identity.environment == stack


AUDIENCE = ["192.0.2.0/24"]
"""dev's audience (seed 4.2.1: developers only); the settings require one outside prod."""


def test_defaults_make_a_valid_dev_stack_given_the_credentials_and_audience() -> None:
    settings = parse_raw(
        "dev", {"vaultSecrets": ALERTMANAGER_SECRETS, "edgeAllowedCidrs": AUDIENCE}
    )
    assert settings.identity.environment == "dev"
    assert settings.tags["managed-by"] == "pulumi"


def test_every_field_has_a_default_and_a_description() -> None:
    for key, field in config_keys().items():
        assert field.description, key
        assert not field.is_required(), key


def test_strings_as_the_engine_passes_them_are_coerced() -> None:
    raw = {**raw_settings("dev"), "workloadNodeMaxSize": "5", "singleAzCompute": "true"}
    raw["availabilityZones"] = '["eu-west-1a", "eu-west-1b"]'
    settings = parse_raw("dev", raw)
    assert settings.nodes.workload_max_size == 5
    assert settings.cluster.single_az_compute is True
    assert settings.network.availability_zones == ["eu-west-1a", "eu-west-1b"]


def _problems(stack: str, **changes: Any) -> list[Problem]:
    raw = raw_settings(stack)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    with pytest.raises(SettingsError) as info:
        parse_raw(stack, raw)
    return info.value.problems


# (stack, changes, key reported, words of the rule)
BAD = [
    ("dev", {"environment": "qa"}, "environment", "allowed values: dev, staging, prod"),
    ("dev", {"workloadNodeMinSize": "many"}, "workloadNodeMinSize", "integer"),
    ("dev", {"nosuchKey": 1}, "nosuchKey", "unknown key"),
    ("dev", {"availabilityZones": "not json"}, "availabilityZones", "must be a list"),
    ("dev", {"vpcCidr": "8.8.0.0/16"}, "vpcCidr", "private"),
    ("dev", {"vpcCidr": "10.0.0.0/8"}, "vpcCidr", "/16 and /22"),
    ("dev", {"vpcCidr": "10.0.0.1/16"}, "vpcCidr", "CIDR form"),
    ("dev", {"reservedCidrs": ["10.10.128.0/20"]}, "reservedCidrs[0]", "overlaps ttbt2:vpcCidr"),
    ("dev", {"serviceCidr": "10.10.0.0/16"}, "serviceCidr", "overlaps"),
    ("prod", {"drVpcCidr": "10.30.0.0/20"}, "drVpcCidr", "overlaps ttbt2:vpcCidr"),
    ("prod", {"drVpcCidr": None}, "drVpcCidr", "DR region"),
    ("prod", {"drAvailabilityZones": ["eu-central-1a"]}, "drAvailabilityZones", "2 or 3 zones"),
    (
        "prod",
        {"drAvailabilityZones": ["eu-central-1a", "eu-west-1b"]},
        "drAvailabilityZones[1]",
        "must be a zone of eu-central-1",
    ),
    (
        "prod",
        {"drAvailabilityZones": ["eu-central-1a", "eu-central-1a"]},
        "drAvailabilityZones",
        "distinct",
    ),
    ("dev", {"drAvailabilityZones": ["eu-central-1a"]}, "drAvailabilityZones", "only with"),
    ("prod", {"drRegion": None}, "drRegion", "disaster-recovery region"),
    ("prod", {"drRegion": "eu-west-1"}, "drRegion", "other than eu-west-1"),
    ("dev", {"awsRegion": "europe"}, "awsRegion", "AWS region"),
    ("dev", {"availabilityZones": ["eu-west-1a"]}, "availabilityZones", "2 or 3 zones"),
    ("dev", {"availabilityZones": ["eu-west-1a", "eu-west-1a"]}, "availabilityZones", "distinct"),
    (
        "dev",
        {"availabilityZones": ["eu-west-1a", "us-east-1b"]},
        "availabilityZones[1]",
        "zone of eu-west-1",
    ),
    (
        "prod",
        {"availabilityZones": ["eu-west-1a", "eu-west-1b"]},
        "availabilityZones",
        "3 availability zones",
    ),
    ("prod", {"natGatewayMode": "single"}, "natGatewayMode", "perAz"),
    ("staging", {"singleAzCompute": True}, "singleAzCompute", "spread nodes"),
    ("dev", {"workloadNodeDesiredSize": 9}, "workloadNodeDesiredSize", "<= workloadNodeMaxSize"),
    ("dev", {"systemNodeMinSize": 3}, "systemNodeDesiredSize", "systemNodeMinSize (3)"),
    (
        "dev",
        {"systemNodeMaxSize": 0, "systemNodeMinSize": 0, "systemNodeDesiredSize": 0},
        "systemNodeMaxSize",
        "at least 1",
    ),
    ("staging", {"workloadNodeMinSize": 1}, "workloadNodeMinSize", "at least 2 nodes"),
    (
        "dev",
        {"workloadNodeInstanceTypes": ["x1e.32xlarge"]},
        "workloadNodeInstanceTypes[0]",
        "instance family",
    ),
    ("dev", {"workloadNodeInstanceTypes": []}, "workloadNodeInstanceTypes", "at least one"),
    (
        "prod",
        {"workloadNodeInstanceTypes": ["t3.large"]},
        "workloadNodeInstanceTypes[0]",
        "instance family",
    ),
    (
        "dev",
        {"workloadNodeInstanceTypes": ["m7g.large", "m7i.large"]},
        "workloadNodeInstanceTypes",
        "mix arm64",
    ),
    ("prod", {"workloadCapacityType": "SPOT"}, "workloadCapacityType", "ON_DEMAND"),
    ("dev", {"clusterEndpointPublic": True}, "clusterPublicAccessCidrs", "CIDRs allowed"),
    (
        "dev",
        {"clusterEndpointPublic": True, "clusterPublicAccessCidrs": ["0.0.0.0/0"]},
        "clusterPublicAccessCidrs[0]",
        "world",
    ),
    (
        "dev",
        {"clusterPublicAccessCidrs": ["not-a-cidr"]},
        "clusterPublicAccessCidrs[0]",
        "IPv4 CIDR",
    ),
    ("dev", {"kubernetesVersion": "1.20"}, "kubernetesVersion", "supported EKS version"),
    ("dev", {"appNamespace": "Bad_Name"}, "appNamespace", "RFC 1123"),
    ("dev", {"nodeDiskSizeGb": 5}, "nodeDiskSizeGb", "between 20 and 500"),
    ("dev", {"flowLogRetentionDays": 10}, "flowLogRetentionDays", "CloudWatch accepts"),
    ("prod", {"controlPlaneLogRetentionDays": 90}, "controlPlaneLogRetentionDays", "365"),
    ("dev", {"dataClassification": "real"}, "dataClassification", "synthetic data"),
    (
        "staging",
        {"dataSourceSnapshot": "arn:aws:rds:eu-west-1:210987654321:snapshot:nightly"},
        "dataSourceSnapshot",
        "production data",
    ),
    (
        "staging",
        {"dataSourceSnapshot": "ttbt2-prod-2026-11-01"},
        "dataSourceSnapshot",
        "production data",
    ),
    (
        "staging",
        {"dataSourceSnapshot": "arn:aws:rds:eu-west-1:222222222222:snapshot:anon"},
        "dataSourceSnapshot",
        "an anonymisation pipeline output, ttbt2-anonymised-<YYYY-MM-DD>",
    ),
    ("dev", {"productionAccountId": "12345"}, "productionAccountId", "12 digits"),
    (
        "prod",
        {"developersRoleArn": "arn:aws:iam::210987654321:role/dev"},
        "developersRoleArn",
        "no access to prod",
    ),
    (
        "dev",
        {"qaRoleArn": "arn:aws:iam::111111111111:role/qa"},
        "qaRoleArn",
        "groups allowed there: developers, sre",
    ),
    ("dev", {"sreRoleArn": "not-an-arn"}, "sreRoleArn", "IAM role ARN"),
    (
        "prod",
        {"sreRoleArn": "arn:aws:iam::111111111111:role/sre"},
        "sreRoleArn",
        "production account",
    ),
    (
        "dev",
        {"dataSourceSnapshot": "ttbt2-anonymised-2026-11"},
        "dataSourceSnapshot",
        "dev starts empty",
    ),
    (
        "prod",
        {"dataSourceSnapshot": "ttbt2-anonymised-2026-11"},
        "dataSourceSnapshot",
        "only production snapshots",
    ),
    ("dev", {"dbInstanceClass": "m7g.large"}, "dbInstanceClass", "RDS class"),
    ("prod", {"dbInstanceClass": "db.t4g.large"}, "dbInstanceClass", "burstable"),
    ("dev", {"dbEngineVersion": "12"}, "dbEngineVersion", "16 or 17"),
    ("dev", {"dbAllocatedStorageGb": 10}, "dbAllocatedStorageGb", "between 20"),
    (
        "dev",
        {"dbMaxAllocatedStorageGb": 10},
        "dbMaxAllocatedStorageGb",
        "at least dbAllocatedStorageGb",
    ),
    ("dev", {"dbBackupRetentionDays": 3}, "dbBackupRetentionDays", "dev keeps 7 to 35"),
    ("staging", {"dbBackupRetentionDays": 7}, "dbBackupRetentionDays", "staging keeps 14 to 35"),
    ("prod", {"dbBackupRetentionDays": 14}, "dbBackupRetentionDays", "prod keeps 35"),
    ("staging", {"dbMultiAz": False}, "dbMultiAz", "Multi-AZ"),
    (
        "dev",
        {"dbPerformanceInsightsRetentionDays": 30},
        "dbPerformanceInsightsRetentionDays",
        "multiple of 31",
    ),
    (
        "dev",
        {"dbMonitoringIntervalSeconds": 0},
        "dbMonitoringIntervalSeconds",
        "enhanced monitoring",
    ),
    ("dev", {"dbMasterUsername": "postgres"}, "dbMasterUsername", "reserved"),
    ("dev", {"cacheEngine": "memcached"}, "cacheEngine", "allowed values: valkey, redis"),
    ("dev", {"cacheEngineVersion": "6.2"}, "cacheEngineVersion", "valkey versions"),
    ("dev", {"cacheNodeType": "m7g.large"}, "cacheNodeType", "node type"),
    ("prod", {"cacheNodeType": "cache.t4g.medium"}, "cacheNodeType", "burstable"),
    ("dev", {"cacheNodes": 9}, "cacheNodes", "between 1 and 6"),
    ("staging", {"cacheNodes": 1}, "cacheNodes", "fail over"),
    ("dev", {"cacheSnapshotRetentionDays": 40}, "cacheSnapshotRetentionDays", "between 0 and 35"),
    ("prod", {"cacheSnapshotRetentionDays": 3}, "cacheSnapshotRetentionDays", "prod keeps 7"),
    ("dev", {"cacheEvictionPolicy": "noeviction"}, "cacheEvictionPolicy", "allowed values"),
    ("dev", {"apiOriginHost": "not a host"}, "apiOriginHost", "DNS host name"),
    ("dev", {"cdnDomain": "www.ttbt2.example"}, "cdnHostedZoneId", "Route 53 zone"),
    ("dev", {"cdnDomain": "-bad-"}, "cdnDomain", "DNS host name"),
    ("prod", {"cdnPriceClass": "PriceClass_100"}, "cdnPriceClass", "PriceClass_All"),
    ("dev", {"apiPublicPaths": ["api/*"]}, "apiPublicPaths[0]", "path pattern"),
    ("dev", {"staticPaths": ["/api/public/*"]}, "staticPaths", "either static or API"),
    ("dev", {"apiCacheTtlSeconds": 301}, "apiCacheTtlSeconds", "between 0 and 300"),
    ("dev", {"wafRateLimit": 9}, "wafRateLimit", "between 10 and"),
    ("dev", {"accessLogRetentionDays": 0}, "accessLogRetentionDays", "at least 1"),
    ("prod", {"accessLogRetentionDays": 90}, "accessLogRetentionDays", "365"),
    ("dev", {"vaultAddress": "http://vault:8200"}, "vaultAddress", "https://"),
    ("dev", {"vaultAuthRole": ""}, "vaultAuthRole", "needs a role"),
    ("prod", {"vaultAuthMethod": "token"}, "vaultAuthMethod", "not a token"),
    ("dev", {"vaultAuthMethod": "ldap"}, "vaultAuthMethod", "allowed values"),
    (
        "staging",
        {"vaultSecrets": [{"consumer": "app", "path": "ttbt2/prod/cache", "key": "k"}]},
        "vaultSecrets[0].path",
        "under ttbt2/staging/",
    ),
    (
        "dev",
        {"vaultSecrets": [{"consumer": "app", "path": "ttbt2/dev/a", "key": "k"}] * 2},
        "vaultSecrets[1]",
        "declared twice",
    ),
    *(
        (
            "prod",
            {"vaultSecrets": [{"consumer": consumer, "path": "ttbt2/prod/a", "key": "k"}]},
            "vaultSecrets[0].consumer",
            "no static credential in Vault KV",
        )
        for consumer in (
            "redis",
            "grafana-admin",
            "pushgateway-web-config",
            "pushgateway-scrape-password",
        )
    ),
    ("dev", {"cacheClients": ["worker"]}, "cacheClients[0]", "a service of ttbt2:services"),
    ("dev", {"cacheClients": ["api", "api"]}, "cacheClients", "each service once"),
    (
        "dev",
        {"vaultSecrets": [{"consumer": "Redis!", "path": "ttbt2/dev/a", "key": "k"}]},
        "vaultSecrets[0].consumer",
        "pattern",
    ),
    (
        "dev",
        {"vaultSecrets": [{"consumer": "app", "path": "ttbt2/dev/a"}]},
        "vaultSecrets[0].key",
        "required",
    ),
    (
        "dev",
        {"vaultSecrets": [{"consumer": "app", "path": "ttbt2/dev/a", "key": "k", "extra": 1}]},
        "vaultSecrets[0].extra",
        "not permitted",
    ),
    ("dev", {"vaultServices": ["API"]}, "vaultServices[0]", "RFC 1123"),
    ("dev", {"vaultSecrets": []}, "vaultSecrets", "declare the database-admin secret"),
    ("prod", {"prometheusReplicas": 1}, "prometheusReplicas", "prod runs 2"),
    ("dev", {"prometheusReplicas": 4}, "prometheusReplicas", "between 1 and 3"),
    ("prod", {"alertmanagerReplicas": 1}, "alertmanagerReplicas", "HA cluster"),
    ("dev", {"alertmanagerReplicas": 9}, "alertmanagerReplicas", "between 1 and 5"),
    ("dev", {"prometheusRetentionDays": 0}, "prometheusRetentionDays", "between 1 and 90"),
    ("prod", {"elasticsearchNodes": 1}, "elasticsearchNodes", "3 or more"),
    ("dev", {"elasticsearchNodes": 20}, "elasticsearchNodes", "between 1 and 15"),
    ("dev", {"elasticsearchNodes": 2}, "elasticsearchNodes", "master quorum"),
    ("dev", {"prometheusStorageGb": 5}, "prometheusStorageGb", "between 10 and 16384"),
    ("dev", {"logRetentionDays": 0}, "logRetentionDays", "between 1 and 3650"),
    ("dev", {"alertSlackChannel": "alerts"}, "alertSlackChannel", "#alerts"),
    ("dev", {"alertEmailTo": "nobody"}, "alertEmailTo", "email address"),
    ("dev", {"alertSmarthost": "smtp"}, "alertSmarthost", "host:port"),
    ("dev", {"alertSmsWebhookUrl": "http://x"}, "alertSmsWebhookUrl", "https://"),
    ("staging", {"gcpEnabled": False}, "gcpEnabled", "GCP analytics"),
    ("prod", {"azureEnabled": False}, "azureEnabled", "copy in Azure"),
    ("dev", {"gcpEnabled": True, "gcpProject": "X"}, "gcpProject", "project id"),
    (
        "dev",
        {"gcpEnabled": True, "gcpProject": "ttbt2-dev-a", "gcpRegion": "eu"},
        "gcpRegion",
        "europe-west1",
    ),
    ("dev", {"azureEnabled": True, "azureLocation": "West Europe"}, "azureLocation", "westeurope"),
    ("prod", {"azureTenantId": "tenant"}, "azureTenantId", "GUID"),
    ("staging", {"appConfigRepo": ""}, "appConfigRepo", "through Argo CD"),
    ("dev", {"appConfigRepo": "git@github.com:o/r.git"}, "appConfigRepo", "https Git URL"),
    ("dev", {"argocdOidcIssuer": "https://sso.example"}, "argocdOidcClientId", "single sign-on"),
    ("dev", {"karpenterCpuLimit": 0}, "karpenterCpuLimit", "between 1 and 1000"),
    ("dev", {"karpenterExpireAfter": "30 days"}, "karpenterExpireAfter", "720h"),
    ("dev", {"predictiveScalingCpuTarget": 95}, "predictiveScalingCpuTarget", "between 10 and 90"),
    ("dev", {"predictiveScalingMode": "Always"}, "predictiveScalingMode", "ForecastOnly"),
    ("prod", {"rtoObjectiveMinutes": 180}, "rtoObjectiveMinutes", "between 1 and 120"),
    ("prod", {"backupCopySchedule": "0 * * * *"}, "backupCopySchedule", "RPO is under 60"),
    ("prod", {"backupCopySchedule": "0 0 * * *"}, "backupCopySchedule", "does not run every"),
    ("dev", {"backupBreakGlassRoleArn": "admin"}, "backupBreakGlassRoleArn", "IAM role ARN"),
    ("prod", {"gcpLandingLocation": "EU"}, "gcpLandingLocation", "one of ASIA1, EUR4"),
    ("prod", {"azureSubscriptionId": ""}, "azureSubscriptionId", "GUID"),
    (
        "dev",
        {"vaultCredentialTtlSeconds": 60},
        "vaultCredentialTtlSeconds",
        "between 300 and 86400",
    ),
    ("dev", {"vaultStaticRotationSeconds": 60}, "vaultStaticRotationSeconds", "between 3600 and"),
    ("prod", {"vaultSnapshots": "elsewhere"}, "vaultSnapshotsBy", "prod backs Vault up"),
    ("prod", {"vaultSnapshots": "elsewhere", "vaultSnapshotsBy": " "}, "vaultSnapshotsBy", "name"),
    ("dev", {"vaultSnapshots": "this-stack", "vaultServices": []}, "vaultSnapshots", "Kubernetes"),
    ("dev", {"vaultSnapshots": "weekly"}, "vaultSnapshots", "this-stack"),
    ("prod", {"exportRetentionDays": 0}, "exportRetentionDays", "between 1 and 3650"),
]


@pytest.mark.parametrize(
    ("stack", "changes", "key", "words"), BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD]
)
def test_bad_value_is_named_with_its_rule(
    stack: str, changes: dict[str, Any], key: str, words: str
) -> None:
    problems = _problems(stack, **changes)
    matching = [p for p in problems if p.key == key]
    assert matching, f"no problem for {key}: {problems}"
    assert any(words in p.allowed for p in matching), [p.allowed for p in matching]


def test_every_problem_is_reported_in_one_message() -> None:
    with pytest.raises(SettingsError) as info:
        parse_raw(
            "prod",
            {
                **raw_settings("prod"),
                "natGatewayMode": "single",
                "workloadCapacityType": "SPOT",
                "drRegion": "",
                "drAvailabilityZones": [],
            },
        )
    message = str(info.value)
    assert "3 problem(s)" in message
    for key in (
        'ttbt2:natGatewayMode = "single"',
        'ttbt2:workloadCapacityType = "SPOT"',
        "ttbt2:drRegion",
    ):
        assert key in message
    assert "Pulumi.prod.yaml" in message
    assert isinstance(info.value, pulumi.RunError)


def test_type_errors_and_unknown_keys_are_reported_together() -> None:
    problems = _problems("dev", typoKey="x", systemNodeMinSize="one", environment="test")
    assert {p.key for p in problems} >= {"typoKey", "systemNodeMinSize", "environment"}


def test_problem_renders_key_value_and_rule() -> None:
    assert Problem("drRegion", "", "needed").render() == 'ttbt2:drRegion = "": needed'


def test_non_prod_may_seed_from_an_anonymised_snapshot() -> None:
    raw = {
        **raw_settings("staging"),
        "dataSourceSnapshot": "arn:aws:rds:eu-west-1:222222222222:snapshot:ttbt2-anonymised-2026-12-01",
    }
    assert parse_raw("staging", raw).identity.data_source_snapshot.endswith("2026-12-01")


def test_derived_views() -> None:
    dev = parse_raw("dev", raw_settings("dev"))
    assert dev.compute_zones == ["eu-west-1a"]
    assert set(dev.access_roles()) == {"developers", "sre"}
    prod = parse_raw("prod", raw_settings("prod"))
    assert prod.compute_zones == prod.network.availability_zones
    assert prod.is_prod and not dev.is_prod


@pytest.mark.parametrize(
    ("itype", "arch"),
    [
        ("m7g.large", "arm64"),
        ("c6gn.xlarge", "arm64"),
        ("t3.large", "x86_64"),
        ("m7i.large", "x86_64"),
    ],
)
def test_instance_architecture(itype: str, arch: str) -> None:
    assert instance_architecture(itype) == arch


def test_from_pulumi_config_reads_only_the_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    pulumi.runtime.set_all_config(
        {
            "ttbt2:environment": "dev",
            "aws:region": "eu-west-1",
            "ttbt2:workloadNodeMaxSize": "4",
            "ttbt2:vaultSecrets": json.dumps(ALERTMANAGER_SECRETS),
            "ttbt2:edgeAllowedCidrs": json.dumps(AUDIENCE),
        }
    )
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    try:
        settings = from_pulumi_config()
    finally:
        pulumi.runtime.set_all_config({})
    assert isinstance(settings, Settings)
    assert settings.nodes.workload_max_size == 4


@pytest.mark.parametrize(
    ("stack", "value", "expected"),
    [("dev", None, True), ("prod", None, False), ("prod", True, True), ("staging", False, False)],
)
def test_spot_is_allowed_outside_prod_unless_set(
    stack: str, value: bool | None, expected: bool
) -> None:
    raw = raw_settings(stack)
    if value is None:
        raw.pop("spotAllowed", None)
    else:
        raw["spotAllowed"] = value
    assert parse_raw(stack, raw).spot_enabled is expected


def test_prod_may_leave_vault_snapshots_to_someone_it_names() -> None:
    raw = {
        **raw_settings("prod"),
        "vaultSnapshots": "elsewhere",
        "vaultSnapshotsBy": "HCP Vault's hourly snapshots (provider runbook)",
    }
    assert parse_raw("prod", raw).vault.snapshots == "elsewhere"
    # Outside prod, nobody need be named.
    dev = {**raw_settings("dev"), "vaultSnapshotsBy": ""}
    assert parse_raw("dev", dev).vault.snapshots_by == ""
