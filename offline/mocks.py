"""Realistic outputs for the resources and invokes the program uses, with no cloud behind them.

The values look like what AWS returns (ARNs, ids, endpoints) so that code which parses them, and
policies that read them, see the shapes they will see for real.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import pulumi
from pulumi.runtime.rpc import UNKNOWN

from policies.ttbt2_policies.data_seed import ANONYMISED_TAG, is_anonymised_snapshot

ACCOUNT_ID = "123456789012"
"""Account id the mocks report; never a real account."""


def _suffix(name: str, length: int = 17) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


class PlatformMocks(pulumi.runtime.Mocks):
    """Answers ``new_resource`` and ``call`` as the providers would, deterministically."""

    def __init__(self, region: str = "eu-west-1", *, preview: bool = False) -> None:
        self.region = region
        self.preview = preview
        self._provider_regions: dict[str, str] = {}
        """Provider id -> region, so resources of a second-region provider get its ARNs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Return an id and the output state: the inputs plus the computed outputs of the type.

        In preview mode a new resource has no id and no computed outputs yet, as in a first
        ``pulumi preview``: only its inputs are known.
        """
        state = dict(args.inputs)
        typ, name = args.typ, args.name
        if typ.startswith("pulumi:providers:"):
            pid = f"{name}-provider-id"
            if isinstance(state.get("region"), str):
                self._provider_regions[pid] = state["region"]
            return pid, state
        # Azure answers some inputs in another shape, and the SDK types outputs by that shape,
        # so even a preview (inputs only) must return it.
        state.update(_azure_output_shapes(typ, state))
        if self.preview:
            # Outputs nested in an input block (an EKS cluster's vpcConfig.clusterSecurityGroupId)
            # are unknown in a real preview; left out, the SDK would read them as known None.
            region = self._provider_regions.get((args.provider or "").rsplit("::", 1)[-1])
            computed = self._computed(typ, name, dict(state), region or self.region)
            state.update(_nested_unknowns(state, computed))
            return "", state
        rid = f"{_short(typ)}-{_suffix(name)}"
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        region = self._provider_regions.get(provider_id, self.region)
        computed = self._computed(typ, name, state, region)
        state.update(computed)
        # An S3 bucket's id is its name.
        return str(computed.get("bucket", rid)), state

    def _computed(self, typ: str, name: str, state: dict[str, Any], region: str) -> dict[str, Any]:
        """The outputs a provider computes for a new resource of type ``typ``."""
        if typ.startswith("azure-native:"):
            return _azure_computed(typ, name, state)
        if typ.startswith(("gcp:", "vault:")):
            # GCP and Vault objects have no ARN: only what the table adds for the type.
            outputs = _COMPUTED.get(typ)
            return outputs(_Ctx(name, state, region)) if outputs else {}
        service = typ.split(":")[1].split("/", maxsplit=1)[0] if ":" in typ else "x"
        out: dict[str, Any] = {
            "arn": f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{_short(typ)}/"
            f"{state.get('name', name)}",
        }
        if typ.startswith("aws:") and "name" not in state and "namePrefix" not in state:
            # Pulumi auto-names resources that have a name property: logical name + suffix.
            out["name"] = f"{name}-{_suffix(name, 7)}"
        outputs = _COMPUTED.get(typ)
        if outputs is None:
            return out
        extra = outputs(_Ctx(name, state, region))
        # Types whose outputs replace the defaults (no ARN of the generic shape, no auto-name).
        return extra if typ in _REPLACING else out | extra

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer the invokes the program makes."""
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/ttbt2-deployer",
                "userId": "AROAEXAMPLEOFFLINE",
                "id": ACCOUNT_ID,
            }, []
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": AZURE_SUBSCRIPTION_ID,
                "tenantId": AZURE_TENANT_ID,
                "clientId": str(uuid.UUID(_suffix("deployer-client", 32))),
                "objectId": str(uuid.UUID(_suffix("deployer-object", 32))),
            }, []
        answer = _aws_lookup(args)
        if answer is not None:
            return answer, []
        answer = _gcp_lookup(args)
        if answer is not None:
            return answer, []
        return {}, [("token", f"the offline engine has no answer for invoke {args.token}")]


def _gcp_lookup(args: pulumi.runtime.MockCallArgs) -> dict[str, Any] | None:
    """The GCP invokes the program makes: service agents and the project's number."""
    if args.token == "gcp:organizations/getProject:getProject":
        project = args.args.get("projectId", "offline-project")
        return {"projectId": project, "number": "123456789012", "id": f"projects/{project}"}
    if args.token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
        email = "service-123456789012@gs-project-accounts.iam.gserviceaccount.com"
        project = args.args.get("project", "offline-project")
        return {
            "emailAddress": email,
            "member": f"serviceAccount:{email}",
            "project": project,
            "id": email,
        }
    if args.token == "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount":
        email = "bq-123456789012@bigquery-encryption.iam.gserviceaccount.com"
        project = args.args.get("project", "offline-project")
        return {
            "email": email,
            "member": f"serviceAccount:{email}",
            "project": project,
            "id": email,
        }
    return None


def _nested_unknowns(state: dict[str, Any], computed: dict[str, Any]) -> dict[str, Any]:
    """Input blocks of ``state`` with the outputs ``computed`` nests in them set to unknown.

    Top-level outputs missing from a preview's state are unknown to the SDK already; only those
    inside a block the inputs also set need the engine's unknown marker.
    """
    blocks: dict[str, Any] = {}
    for key, value in computed.items():
        given = state.get(key)
        if isinstance(given, dict) and isinstance(value, dict):
            missing = {k: UNKNOWN for k in value if k not in given}
            if missing:
                blocks[key] = {**given, **missing}
    return blocks


ELB_ACCOUNTS = {"eu-west-1": "156460612806", "eu-central-1": "054676820928"}
"""Elastic Load Balancing's log-delivery account of the regions the stacks use, as AWS
publishes them (regions opened before August 2022 deliver access logs from such an account)."""


def _aws_lookup(args: pulumi.runtime.MockCallArgs) -> dict[str, Any] | None:
    """AWS facts that depend on the arguments alone: partition, prefix lists, ELB's account."""
    if args.token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    if args.token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
        # The AWS-managed lists have fixed names; the id is per region.
        name = str(args.args.get("name", ""))
        return {"id": f"pl-{_suffix(name, 8)}", "name": name, "addressFamily": "IPv4"}
    if args.token == "aws:rds/getSnapshot:getSnapshot":
        return _rds_snapshot(str(args.args.get("dbSnapshotIdentifier", "")))
    if args.token == "aws:elb/getServiceAccount:getServiceAccount":
        account = ELB_ACCOUNTS.get(str(args.args.get("region", "")))
        if account is not None:
            return {"id": account, "arn": f"arn:aws:iam::{account}:root"}
    return None


def _rds_snapshot(name: str) -> dict[str, Any]:
    """A snapshot as RDS describes it.

    Offline, a snapshot named as the anonymisation pipeline names its outputs carries the tags
    the pipeline sets; any other carries none.
    """
    tags = {ANONYMISED_TAG: "true"} if is_anonymised_snapshot(name) else {}
    return {
        "id": name,
        "dbSnapshotIdentifier": name,
        "dbSnapshotArn": f"arn:aws:rds:eu-west-1:{ACCOUNT_ID}:snapshot:{name}",
        "status": "available",
        "encrypted": True,
        "engine": "postgres",
        "tags": tags,
    }


AZURE_SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
"""Subscription id the mocks report; never a real subscription."""
AZURE_TENANT_ID = "00000000-0000-4000-8000-000000000002"
"""Tenant id the mocks report; never a real tenant."""

# The input that names each azure-native resource, where the program may set it; the others are
# auto-named (logical name plus a suffix) as the provider does.
_AZURE_NAME_INPUTS = {
    "azure-native:resources:ResourceGroup": "resourceGroupName",
    "azure-native:keyvault:Vault": "vaultName",
    "azure-native:keyvault:Key": "keyName",
    "azure-native:managedidentity:UserAssignedIdentity": "resourceName",
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "federatedIdentityCredentialResourceName"
    ),
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:storage:BlobServiceProperties": "blobServicesName",
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:storage:BlobContainerImmutabilityPolicy": "immutabilityPolicyName",
}


def _azure_output_shapes(typ: str, state: dict[str, Any]) -> dict[str, Any]:
    """Inputs that azure-native returns in another shape: user-assigned identities.

    The input lists identity ids; Azure answers with a map from each id to the identity.
    """
    identity = state.get("identity")
    if not typ.startswith("azure-native:") or not isinstance(identity, dict):
        return {}
    ids = identity.get("userAssignedIdentities")
    if not isinstance(ids, list):
        return {}
    return {
        "identity": {
            **identity,
            "userAssignedIdentities": {
                str(ident): {
                    "clientId": str(uuid.UUID(_suffix(f"{ident}-client", 32))),
                    "principalId": str(uuid.UUID(_suffix(f"{ident}-principal", 32))),
                }
                for ident in ids
            },
        }
    }


def _azure_computed(typ: str, name: str, state: dict[str, Any]) -> dict[str, Any]:
    """Outputs of azure-native resources: a name, and what Azure adds to the types that need it.

    Azure resources have no ARN; they have a ``name`` (the input that names them, or an
    auto-name) and an ARM id, which the engine reports as the resource id.
    """
    key = _AZURE_NAME_INPUTS.get(typ)
    out: dict[str, Any] = {"name": (state.get(key) if key else None) or f"{name}{_suffix(name, 8)}"}
    if typ == "azure-native:keyvault:Vault":
        out["properties"] = {
            **dict(state.get("properties") or {}),
            "vaultUri": f"https://{out['name']}.vault.azure.net/",
        }
    elif typ == "azure-native:managedidentity:UserAssignedIdentity":
        out.update(
            clientId=str(uuid.UUID(_suffix(f"{name}-client", 32))),
            principalId=str(uuid.UUID(_suffix(f"{name}-principal", 32))),
            tenantId=AZURE_TENANT_ID,
        )
    return out


# base64 of a PEM block with a placeholder body, the shape EKS reports its cluster CA in.
_OFFLINE_CA = base64.b64encode(
    b"-----BEGIN CERTIFICATE-----\nTUlJQm9mZmxpbmUtdHRidDItY2E=\n-----END CERTIFICATE-----\n"
).decode()


def _short(typ: str) -> str:
    return typ.rsplit(":", 1)[-1].lower()


class _Ctx(NamedTuple):
    """What a type's outputs are computed from: logical name, input state, provider region."""

    name: str
    state: dict[str, Any]
    region: str


def _eks_cluster(c: _Ctx) -> dict[str, Any]:
    """Endpoint, CA, OIDC issuer and cluster security group of an EKS cluster."""
    name, region = c.name, c.region
    oidc = f"https://oidc.eks.{region}.amazonaws.com/id/{_suffix(name, 32).upper()}"
    return {
        "endpoint": f"https://{_suffix(name, 32).upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": _OFFLINE_CA},
        "identities": [{"oidcs": [{"issuer": oidc}]}],
        "status": "ACTIVE",
        "vpcConfig": {
            **dict(c.state.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{_suffix(name + 'cluster')}",
        },
    }


def _kms_key(c: _Ctx) -> dict[str, Any]:
    """A KMS key's UUID id and its key/ ARN."""
    key_id = str(uuid.UUID(_suffix(c.name, 32)))
    return {"keyId": key_id, "arn": f"arn:aws:kms:{c.region}:{ACCOUNT_ID}:key/{key_id}"}


def _iam_role(c: _Ctx) -> dict[str, Any]:
    """An IAM role's global ARN, and its name as given."""
    role = c.state.get("name", c.name)
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role}", "name": role}


def _oidc_provider(c: _Ctx) -> dict[str, Any]:
    """An IAM OIDC provider's ARN, named after its issuer host."""
    host = str(c.state.get("url", "")).removeprefix("https://")
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"}


def _log_group(c: _Ctx) -> dict[str, Any]:
    """A CloudWatch log group's log-group: ARN."""
    group = c.state.get("name", c.name)
    return {"arn": f"arn:aws:logs:{c.region}:{ACCOUNT_ID}:log-group:{group}"}


def _node_group(c: _Ctx) -> dict[str, Any]:
    """A managed node group's status and the Auto Scaling group behind it."""
    # EKS names the Auto Scaling group behind a managed node group eks-<name>-<uuid>.
    asg = f"eks-{c.name}-{uuid.UUID(_suffix(c.name, 32))}"
    return {
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": asg}], "remoteAccessSecurityGroupId": ""}],
    }


def _s3_bucket(c: _Ctx) -> dict[str, Any]:
    """An S3 bucket's name (given or prefix plus suffix), ARN and domain names."""
    bucket = str(
        c.state.get("bucket") or f"{c.state.get('bucketPrefix', c.name)}{_suffix(c.name, 12)}"
    )
    return {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{c.region}.amazonaws.com",
    }


def _rds_instance(c: _Ctx) -> dict[str, Any]:
    """An RDS instance's endpoint, ARN and managed master-user secret."""
    name, region = c.name, c.region
    ident = c.state.get("identifier", name)
    host = f"{ident}.c{_suffix(name, 12)}.{region}.rds.amazonaws.com"
    return {
        "address": host,
        "endpoint": f"{host}:5432",
        "port": 5432,
        "arn": f"arn:aws:rds:{region}:{ACCOUNT_ID}:db:{ident}",
        # The DbiResourceId IAM database authentication names in rds-db:connect ARNs.
        "resourceId": f"db-{_suffix(name, 26).upper()}",
        "masterUserSecrets": [
            {
                "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:"
                f"rds!db-{_suffix(name, 8)}",
                "secretStatus": "active",
                "kmsKeyId": c.state.get("masterUserSecretKmsKeyId", ""),
            }
        ],
    }


def _replication_group(c: _Ctx) -> dict[str, Any]:
    """An ElastiCache replication group's primary and reader endpoints."""
    name = c.name
    return {
        "primaryEndpointAddress": f"master.{name}.{_suffix(name, 6)}.euw1.cache.amazonaws.com",
        "readerEndpointAddress": f"replica.{name}.{_suffix(name, 6)}.euw1.cache.amazonaws.com",
    }


def _random_password(c: _Ctx) -> dict[str, Any]:
    """A deterministic password that is obviously not a real credential."""
    return {"result": f"offline{_suffix(c.name, 40)}", "bcryptHash": "offline"}


def _cloudfront_distribution(c: _Ctx) -> dict[str, Any]:
    """A CloudFront distribution's global ARN, domain, zone and etag."""
    # CloudFront is global: its ARNs have no region.
    name = c.name
    dist = f"E{_suffix(name, 13).upper()}"
    return {
        "arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{dist}",
        "domainName": f"d{_suffix(name, 13)}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",
        "status": "Deployed",
        "etag": f"E{_suffix(f'{name}-etag', 13).upper()}",
        "callerReference": f"terraform-{_suffix(name, 26)}",
    }


def _cloudfront_policy(kind: str) -> Callable[[_Ctx], dict[str, Any]]:
    """Outputs of a CloudFront policy whose ARN names it ``kind``: a global ARN and an etag."""

    def outputs(c: _Ctx) -> dict[str, Any]:
        return {
            "arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:{kind}/{uuid.UUID(_suffix(c.name, 32))}",
            "etag": f"E{_suffix(f'{c.name}-etag', 13).upper()}",
        }

    return outputs


def _web_acl(c: _Ctx) -> dict[str, Any]:
    """A WAFv2 web ACL's ARN, global for CLOUDFRONT scope, and its lock token."""
    name = c.name
    # CLOUDFRONT-scope web ACLs live in us-east-1 under "global", whatever the provider.
    cloudfront = c.state.get("scope") == "CLOUDFRONT"
    where, scope = ("us-east-1", "global") if cloudfront else (c.region, "regional")
    acl = f"{c.state.get('name', name)}/{uuid.UUID(_suffix(name, 32))}"
    return {
        "arn": f"arn:aws:wafv2:{where}:{ACCOUNT_ID}:{scope}/webacl/{acl}",
        "lockToken": str(uuid.UUID(_suffix(f"{name}-lock", 32))),
    }


def _nat_gateway(c: _Ctx) -> dict[str, Any]:
    """A NAT gateway's public address, in TEST-NET-3 (203.0.113.0/24), which is never routed."""
    return {"publicIp": f"203.0.113.{int(_suffix(c.name, 8), 16) % 254 + 1}"}


def _certificate(c: _Ctx) -> dict[str, Any]:
    """An ACM certificate's ARN, status and DNS validation records, one per distinct name."""
    state = c.state
    names = [state.get("domainName"), *(state.get("subjectAlternativeNames") or [])]
    return {
        "arn": f"arn:aws:acm:{state.get('region') or c.region}:{ACCOUNT_ID}:certificate/"
        f"{uuid.UUID(_suffix(c.name, 32))}",
        "status": "ISSUED",
        "type": "AMAZON_ISSUED",
        "domainValidationOptions": [
            {
                "domainName": d,
                "resourceRecordName": f"_{_suffix(d, 32)}.{d}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{_suffix(f'{d}-value', 32)}.acm-validations.aws.",
            }
            for d in dict.fromkeys(n for n in names if n)
        ],
    }


def _route53_record(c: _Ctx) -> dict[str, Any]:
    """A Route 53 record's FQDN: its name without the trailing dot."""
    return {"fqdn": str(c.state.get("name", c.name)).rstrip(".")}


def _route53_zone(c: _Ctx) -> dict[str, Any]:
    """A hosted zone's id (``Z`` and upper-case characters, as Route 53's)."""
    return {"zoneId": f"Z{_suffix(c.name, 20).upper()}"}


def _ingress(c: _Ctx) -> dict[str, Any]:
    """An Ingress's status once the load balancer controller has given it its ALB."""
    hostname = f"k8s-{_suffix(c.name, 16)}.{c.region or 'eu-west-1'}.elb.amazonaws.com"
    return {"status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}}


def _kms_alias(c: _Ctx) -> dict[str, Any]:
    """A KMS alias's ARN, which embeds the alias name."""
    return {"arn": f"arn:aws:kms:{c.region}:{ACCOUNT_ID}:{c.state.get('name', c.name)}"}


# GCP names that embed the project number use a fixed one.
_GCP_PROJECT_NUMBER = "123456789012"


def _gcp_project(c: _Ctx) -> Any:
    """The project a GCP resource is in, or the offline default."""
    return c.state.get("project", "offline-project")


def _gcp_service_identity(c: _Ctx) -> dict[str, Any]:
    """A Google service agent's email and member."""
    api = str(c.state.get("service", "")).split(".", 1)[0]
    email = f"service-{_GCP_PROJECT_NUMBER}@gcp-sa-{api}.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}"}


def _gcp_service_account(c: _Ctx) -> dict[str, Any]:
    """A service account's email, member, resource name and numeric unique id."""
    project = _gcp_project(c)
    email = f"{c.state.get('accountId', c.name)}@{project}.iam.gserviceaccount.com"
    return {
        "email": email,
        "member": f"serviceAccount:{email}",
        "name": f"projects/{project}/serviceAccounts/{email}",
        "uniqueId": str(int(_suffix(c.name, 12), 16)),
    }


def _gcp_pool(c: _Ctx) -> dict[str, Any]:
    """A workload identity pool's resource name and state."""
    pool = c.state.get("workloadIdentityPoolId", c.name)
    return {
        "name": f"projects/{_GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/{pool}",
        "state": "ACTIVE",
    }


def _gcp_pool_provider(c: _Ctx) -> dict[str, Any]:
    """A workload identity pool provider's resource name and state."""
    return {
        "name": f"projects/{_GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
        f"{c.state.get('workloadIdentityPoolId')}/providers/"
        f"{c.state.get('workloadIdentityPoolProviderId', c.name)}",
        "state": "ACTIVE",
    }


def _gcs_bucket(c: _Ctx) -> dict[str, Any]:
    """A GCS bucket's gs:// URL and self link."""
    bucket = c.state.get("name", c.name)
    return {
        "url": f"gs://{bucket}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}",
    }


def _vertex_dataset(c: _Ctx) -> dict[str, Any]:
    """A Vertex AI dataset's resource name, with a numeric id."""
    dataset = int(_suffix(c.name, 12), 16)
    return {
        "name": f"projects/{_GCP_PROJECT_NUMBER}/locations/{c.state.get('region')}/"
        f"datasets/{dataset}"
    }


# Vault names a mount's accessor after the mount's kind and type, with 8 hex digits.
def _vault_auth_backend(c: _Ctx) -> dict[str, Any]:
    """An auth backend's accessor."""
    return {"accessor": f"auth_{c.state.get('type', 'token')}_{_suffix(c.name, 8)}"}


def _vault_mount(c: _Ctx) -> dict[str, Any]:
    """A secrets mount's accessor."""
    return {"accessor": f"{c.state.get('type', 'kv')}_{_suffix(c.name, 8)}"}


_COMPUTED: dict[str, Callable[[_Ctx], dict[str, Any]]] = {
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:kms/key:Key": _kms_key,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:ec2/launchTemplate:LaunchTemplate": lambda _ctx: {"latestVersion": 1},
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "random:index/randomPassword:RandomPassword": _random_password,
    "aws:cloudfront/distribution:Distribution": _cloudfront_distribution,
    "aws:cloudfront/cachePolicy:CachePolicy": _cloudfront_policy("cache-policy"),
    "aws:cloudfront/originAccessControl:OriginAccessControl": _cloudfront_policy(
        "origin-access-control"
    ),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": _cloudfront_policy(
        "response-headers-policy"
    ),
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:acm/certificate:Certificate": _certificate,
    # Its only outputs are its inputs; it has no ARN of its own.
    "aws:acm/certificateValidation:CertificateValidation": lambda _ctx: {},
    "aws:route53/record:Record": _route53_record,
    "aws:route53/zone:Zone": _route53_zone,
    "kubernetes:networking.k8s.io/v1:Ingress": _ingress,
    "aws:kms/alias:Alias": _kms_alias,
    "gcp:projects/serviceIdentity:ServiceIdentity": _gcp_service_identity,
    "gcp:serviceaccount/account:Account": _gcp_service_account,
    "gcp:kms/keyRing:KeyRing": lambda c: {"project": _gcp_project(c)},
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": _gcp_pool,
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": _gcp_pool_provider,
    "gcp:storage/bucket:Bucket": _gcs_bucket,
    "gcp:vertex/aiDataset:AiDataset": _vertex_dataset,
    "vault:index/authBackend:AuthBackend": _vault_auth_backend,
    "vault:index/mount:Mount": _vault_mount,
}
"""Resource type -> the outputs its provider computes, beyond the generic ARN and auto-name."""

_REPLACING = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "random:index/randomPassword:RandomPassword",
        "aws:acm/certificateValidation:CertificateValidation",
        "aws:route53/record:Record",
    }
)
"""Types whose table outputs are all their outputs: no generic ARN, no auto-name."""
