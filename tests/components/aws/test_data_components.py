"""Database, cache and buckets, checked on the inputs they register, per environment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.graph import SECRET_SIG, SECRET_SIG_KEY
from tests.conftest import STACKS, of_type, one
from tests.support.stacks import StackRenders

DB = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"


def _doc(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.parametrize("stack", STACKS)
def test_database_is_private_encrypted_and_authenticates_by_iam(
    stack: str, stacks: StackRenders
) -> None:
    graph = stacks.graph(stack)
    db = one(graph, DB).props
    assert db["engine"] == "postgres" and db["engineVersion"] == "17"
    assert db["storageEncrypted"] is True and db["kmsKeyId"].startswith("arn:aws:kms:")
    assert db["publiclyAccessible"] is False
    assert db["iamDatabaseAuthenticationEnabled"] is True
    assert db["manageMasterUserPassword"] is True and "password" not in db
    assert db["performanceInsightsEnabled"] is True
    assert db["monitoringInterval"] == 60 and db["monitoringRoleArn"].startswith("arn:aws:iam::")
    assert db["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    subnet_group = one(graph, "aws:rds/subnetGroup:SubnetGroup")
    isolated = [
        s
        for s in of_type(graph, "aws:ec2/subnet:Subnet")
        # The DR region's pilot-light network has isolated subnets of its own.
        if s.props["tags"]["tier"] == "isolated" and "aws-dr" not in (s.provider or "")
    ]
    assert len(subnet_group.props["subnetIds"]) == len(isolated)


def test_database_parameter_group_forces_tls(stacks: StackRenders) -> None:
    params = one(stacks.graph("dev"), "aws:rds/parameterGroup:ParameterGroup").props
    assert params["family"] == "postgres17"
    assert {"name": "rds.force_ssl", "value": "1"}.items() <= next(
        p for p in params["parameters"] if p["name"] == "rds.force_ssl"
    ).items()


def test_database_reachable_only_from_the_cluster_nodes(stacks: StackRenders) -> None:
    graph = stacks.graph("dev")
    rules = [
        r
        for r in of_type(graph, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if "db" in r.name
    ]
    assert len(rules) == 1
    rule = rules[0].props
    assert rule["fromPort"] == rule["toPort"] == 5432
    assert rule["referencedSecurityGroupId"].startswith("sg-")
    assert "cidrIpv4" not in rule
    cluster = one(graph, "aws:eks/cluster:Cluster")
    assert cluster.urn in rules[0].dependencies
    assert not one(graph, "aws:ec2/securityGroup:SecurityGroup", "db").props.get("ingress")


@pytest.mark.parametrize(
    ("stack", "retention", "multi_az", "protected"),
    [("dev", 7, False, False), ("staging", 14, True, False), ("prod", 35, True, True)],
)
def test_database_differs_by_environment(
    stack: str, retention: int, multi_az: bool, protected: bool, stacks: StackRenders
) -> None:
    db = one(stacks.graph(stack), DB)
    assert db.props["backupRetentionPeriod"] == retention
    assert db.props["multiAz"] is multi_az
    assert db.props["deletionProtection"] is protected
    assert db.props["skipFinalSnapshot"] is (not protected)
    assert bool(db.option("protect")) is protected
    if protected:
        assert db.props["finalSnapshotIdentifier"] == "ttbt2-prod-db-final"


def test_dev_starts_empty_staging_restores_the_anonymised_snapshot(stacks: StackRenders) -> None:
    dev = one(stacks.graph("dev"), DB).props
    staging = one(stacks.graph("staging"), DB).props
    assert "snapshotIdentifier" not in dev and dev["dbName"] == "ttbt2"
    assert staging["snapshotIdentifier"] == "ttbt2-anonymised-2026-11"
    # A restore takes database name and master user from the snapshot.
    assert "dbName" not in staging and "username" not in staging


def test_database_log_groups_are_created_encrypted_before_the_instance(
    stacks: StackRenders,
) -> None:
    graph = stacks.graph("prod")
    db = one(graph, DB)
    groups = [
        g
        for g in of_type(graph, "aws:cloudwatch/logGroup:LogGroup")
        if "/aws/rds/" in g.props["name"]
    ]
    assert sorted(g.props["name"] for g in groups) == [
        "/aws/rds/instance/ttbt2-prod-db/postgresql",
        "/aws/rds/instance/ttbt2-prod-db/upgrade",
    ]
    for group in groups:
        assert group.urn in db.dependencies
        assert group.props["kmsKeyId"].startswith("arn:aws:kms:")


@pytest.mark.parametrize(
    ("stack", "nodes", "failover", "retention"),
    [("dev", 1, False, 1), ("staging", 2, True, 3), ("prod", 3, True, 7)],
)
def test_cache_differs_by_environment(
    stack: str, nodes: int, failover: bool, retention: int, stacks: StackRenders
) -> None:
    cache = one(stacks.graph(stack), CACHE)
    assert cache.props["numCacheClusters"] == nodes
    assert cache.props["automaticFailoverEnabled"] is failover
    assert cache.props["multiAzEnabled"] is failover
    assert cache.props["snapshotRetentionLimit"] == retention
    assert bool(cache.option("protect")) is (stack == "prod")


def test_cache_is_encrypted_authenticated_and_private(stacks: StackRenders) -> None:
    graph = stacks.graph("staging")
    cache = one(graph, CACHE).props
    assert cache["atRestEncryptionEnabled"] is True and cache["kmsKeyId"].startswith("arn:aws:kms:")
    assert (
        cache["transitEncryptionEnabled"] is True and cache["transitEncryptionMode"] == "required"
    )
    assert cache["engine"] == "valkey"
    params = one(graph, "aws:elasticache/parameterGroup:ParameterGroup").props
    assert params["family"] == "valkey8"
    assert params["parameters"] == [{"name": "maxmemory-policy", "value": "allkeys-lru"}]
    private = [
        s for s in of_type(graph, "aws:ec2/subnet:Subnet") if s.props["tags"]["tier"] == "private"
    ]
    assert len(one(graph, "aws:elasticache/subnetGroup:SubnetGroup").props["subnetIds"]) == len(
        private
    )


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_cache_authenticates_iam_users_only(stack: str, stacks: StackRenders) -> None:
    """No AUTH token: a user group of the api's IAM user and a switched-off default user."""
    graph = stacks.graph(stack)
    cache = one(graph, CACHE)
    assert "authToken" not in cache.props and "authTokenWo" not in cache.props
    # What moves a group created with a token to the user group in place.
    assert cache.props["authTokenUpdateStrategy"] == "DELETE"
    group = one(graph, "aws:elasticache/userGroup:UserGroup")
    assert cache.props["userGroupIds"] == [group.props["userGroupId"]]
    users = {u.props["userName"]: u.props for u in of_type(graph, "aws:elasticache/user:User")}
    api = f"ttbt2-{stack}-cache-api"
    assert sorted(users) == sorted(["default", api])
    assert sorted(group.props["userIds"]) == sorted(u["userId"] for u in users.values())
    assert users[api]["authenticationMode"] == {"type": "iam"}
    assert users[api]["userId"] == api
    assert users["default"]["accessString"].split()[0] == "off"


def test_only_the_cache_clients_role_may_connect_and_only_to_its_user(
    stacks: StackRenders,
) -> None:
    graph = stacks.graph("prod")
    cache = one(graph, CACHE)
    api_user = one(graph, "aws:elasticache/user:User", "cache-api-user")
    policies = {
        p.name: _doc(p.props["policy"]) for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy")
    }
    connects = {
        name: [s for s in doc["Statement"] if s.get("Action") == "elasticache:Connect"]
        for name, doc in policies.items()
    }
    holders = sorted(name for name, found in connects.items() if found)
    assert holders == ["ttbt2-prod-svc-api"]
    [statement] = connects["ttbt2-prod-svc-api"]
    # Exactly this group and this user (the mock's ARNs end in the resource names), never *.
    group_arn, user_arn = statement["Resource"]
    assert group_arn.startswith("arn:aws:elasticache:") and group_arn.endswith(f"/{cache.name}")
    assert user_arn.startswith("arn:aws:elasticache:") and user_arn.endswith(f"/{api_user.name}")
    # The service's own statements are still there.
    assert any(
        s.get("Action") == ["s3:GetObject", "s3:PutObject"]
        for s in policies["ttbt2-prod-svc-api"]["Statement"]
    )


def test_buckets_are_private_encrypted_and_logged(stacks: StackRenders) -> None:
    graph = stacks.graph("dev")
    encryption = {
        r.name: r.props["rules"][0]["applyServerSideEncryptionByDefault"]
        for r in of_type(
            graph,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        )
    }
    assert encryption["ttbt2-dev-user-data-encryption"]["sseAlgorithm"] == "aws:kms"
    # S3 cannot deliver server access logs to an SSE-KMS bucket.
    assert encryption["ttbt2-dev-logs-encryption"] == {"sseAlgorithm": "AES256"}
    for block in of_type(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        assert all(
            block.props[k] is True
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
    logging = one(graph, "aws:s3/bucketLogging:BucketLogging", "user-data")
    logs_bucket = one(graph, "aws:s3/bucket:Bucket", "logs")
    assert logs_bucket.urn in logging.dependencies
    for policy in of_type(graph, "aws:s3/bucketPolicy:BucketPolicy"):
        deny = _doc(policy.props["policy"])["Statement"][0]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }


def test_user_data_is_versioned_and_protected_in_prod(stacks: StackRenders) -> None:
    graph = stacks.graph("prod")
    # The primary bucket and its DR-region replica alike.
    for part in ("prod-user-data", "prod-dr-user-data"):
        versioning = one(graph, "aws:s3/bucketVersioning:BucketVersioning", part)
        assert versioning.props["versioningConfiguration"]["status"] == "Enabled"
        assert one(graph, "aws:s3/bucket:Bucket", part).option("protect") is True
    logs_lifecycle = one(
        graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "prod-logs"
    )
    expiry = next(r for r in logs_lifecycle.props["rules"] if r["id"] == "expire-objects")
    assert expiry["expiration"]["days"] == 365


def test_a_redis_cache_without_clients_has_only_the_disabled_default_user() -> None:
    import pulumi
    import pulumi_aws as aws

    from components.aws.cache import RedisCache, RedisCacheArgs
    from components.aws.context import lookup
    from offline.engine import run_program

    def program() -> None:
        provider = aws.Provider("aws", region="eu-west-1")
        RedisCache(
            "c",
            RedisCacheArgs(
                context=lookup(provider, "eu-west-1"),
                tags={},
                vpc_id="vpc-1",
                subnet_ids=["subnet-1", "subnet-2"],
                client_security_group_id="sg-1",
                engine="redis",
                engine_version="7.1",
                node_type="cache.m7g.large",
                nodes=2,
                snapshot_retention_days=7,
                eviction_policy="allkeys-lfu",
                log_retention_days=30,
            ),
            opts=pulumi.ResourceOptions(providers={"aws": provider}),
        )

    graph = run_program(program, project="t", stack="unit", preview=False)
    [default] = of_type(graph, "aws:elasticache/user:User")
    assert default.props["userName"] == "default" and default.props["engine"] == "redis"
    assert default.props["accessString"].startswith("off")
    # Its (useless) password reaches AWS only as a secret: the whole mode is marked secret.
    mode = default.props["authenticationMode"]
    assert mode[SECRET_SIG_KEY] == SECRET_SIG and mode["value"]["type"] == "password"
    assert one(graph, "aws:elasticache/userGroup:UserGroup").props["userIds"] == ["c-default"]
    assert one(graph, "aws:elasticache/parameterGroup:ParameterGroup").props["family"] == "redis7"


def test_cache_client_names_are_checked() -> None:
    import pulumi_aws as aws

    from components.aws.cache import RedisCacheArgs
    from components.aws.context import lookup

    with pytest.raises(ValueError, match="cache clients must be lower-case"):
        RedisCacheArgs(
            context=lookup(aws.Provider("aws", region="eu-west-1"), "eu-west-1"),
            tags={},
            vpc_id="vpc-1",
            subnet_ids=[],
            client_security_group_id="sg-1",
            engine="valkey",
            engine_version="8.0",
            node_type="cache.m7g.large",
            nodes=1,
            snapshot_retention_days=1,
            eviction_policy="allkeys-lru",
            log_retention_days=30,
            clients=("Api",),
        )


def test_only_the_ci_runner_reaches_the_pushgateway_load_balancer(stacks: StackRenders) -> None:
    """Pushes carry no password: the ALB's only group admits the runner's group, nothing else."""
    graph = stacks.graph("prod")
    runner_sg = one(graph, "aws:ec2/securityGroup:SecurityGroup", "ci-runner-sg")
    alb_sg = one(graph, "aws:ec2/securityGroup:SecurityGroup", "pushgateway-alb-sg")
    rules = [
        r
        for r in of_type(graph, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if alb_sg.urn in r.dependencies
    ]
    [rule] = rules
    assert runner_sg.urn in rule.property_dependencies["referencedSecurityGroupId"]
    assert "cidrIpv4" not in rule.props and rule.props["fromPort"] == 443
    # Out: the gateway's port inside the VPC only.
    [egress] = [
        r
        for r in of_type(graph, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if alb_sg.urn in r.dependencies
    ]
    assert (egress.props["fromPort"], egress.props["toPort"]) == (9091, 9091)
    assert egress.props["cidrIpv4"] == "10.30.0.0/16"
    ingress = one(graph, "kubernetes:networking.k8s.io/v1:Ingress", "pushgateway-ingress")
    assert alb_sg.urn in ingress.property_dependencies["metadata"]
