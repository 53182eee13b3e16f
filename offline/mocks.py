"""Realistic outputs for the resources and invokes the program uses, with no cloud behind them.

The values look like what AWS returns (ARNs, ids, endpoints) so that code which parses them, and
policies that read them, see the shapes they will see for real.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pulumi

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
            return "", state
        rid = f"{_short(typ)}-{_suffix(name)}"
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        region = self._provider_regions.get(provider_id, self.region)
        computed = self._computed(typ, name, rid, state, region)
        state.update(computed)
        # An S3 bucket's id is its name.
        return str(computed.get("bucket", rid)), state

    def _computed(
        self, typ: str, name: str, rid: str, state: dict[str, Any], region: str
    ) -> dict[str, Any]:
        account = ACCOUNT_ID
        service = typ.split(":")[1].split("/", maxsplit=1)[0] if ":" in typ else "x"
        out: dict[str, Any] = {
            "arn": f"arn:aws:{service}:{region}:{account}:{_short(typ)}/{state.get('name', name)}",
        }
        if typ.startswith("aws:") and "name" not in state and "namePrefix" not in state:
            # Pulumi auto-names resources that have a name property: logical name + suffix.
            out["name"] = f"{name}-{_suffix(name, 7)}"
        if typ == "aws:eks/cluster:Cluster":
            oidc = f"https://oidc.eks.{region}.amazonaws.com/id/{_suffix(name, 32).upper()}"
            out.update(
                endpoint=f"https://{_suffix(name, 32).upper()}.gr7.{region}.eks.amazonaws.com",
                certificateAuthority={"data": _OFFLINE_CA},
                identities=[{"oidcs": [{"issuer": oidc}]}],
                status="ACTIVE",
                vpcConfig={
                    **dict(state.get("vpcConfig") or {}),
                    "clusterSecurityGroupId": f"sg-{_suffix(name + 'cluster')}",
                },
            )
        elif typ == "aws:kms/key:Key":
            key_id = str(uuid.UUID(_suffix(name, 32)))
            out.update(keyId=key_id, arn=f"arn:aws:kms:{region}:{account}:key/{key_id}")
        elif typ == "aws:iam/role:Role":
            out.update(
                arn=f"arn:aws:iam::{account}:role/{state.get('name', name)}",
                name=state.get("name", name),
            )
        elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(state.get("url", "")).removeprefix("https://")
            out["arn"] = f"arn:aws:iam::{account}:oidc-provider/{host}"
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            out["arn"] = f"arn:aws:logs:{region}:{account}:log-group:{state.get('name', name)}"
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            out["latestVersion"] = 1
        elif typ == "aws:eks/nodeGroup:NodeGroup":
            out["status"] = "ACTIVE"
            # EKS names the Auto Scaling group behind a managed node group eks-<name>-<uuid>.
            asg = f"eks-{name}-{uuid.UUID(_suffix(name, 32))}"
            out["resources"] = [
                {"autoscalingGroups": [{"name": asg}], "remoteAccessSecurityGroupId": ""}
            ]
        elif typ == "aws:s3/bucket:Bucket":
            bucket = str(
                state.get("bucket") or f"{state.get('bucketPrefix', name)}{_suffix(name, 12)}"
            )
            return {
                "bucket": bucket,
                "arn": f"arn:aws:s3:::{bucket}",
                "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
            }
        elif typ == "aws:rds/instance:Instance":
            ident = state.get("identifier", name)
            host = f"{ident}.c{_suffix(name, 12)}.{region}.rds.amazonaws.com"
            out.update(
                address=host,
                endpoint=f"{host}:5432",
                port=5432,
                arn=f"arn:aws:rds:{region}:{account}:db:{ident}",
                masterUserSecrets=[
                    {
                        "secretArn": f"arn:aws:secretsmanager:{region}:{account}:secret:"
                        f"rds!db-{_suffix(name, 8)}",
                        "secretStatus": "active",
                        "kmsKeyId": state.get("masterUserSecretKmsKeyId", ""),
                    }
                ],
            )
        elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
            out.update(
                primaryEndpointAddress=f"master.{name}.{_suffix(name, 6)}.euw1.cache.amazonaws.com",
                readerEndpointAddress=f"replica.{name}.{_suffix(name, 6)}.euw1.cache.amazonaws.com",
            )
        elif typ == "random:index/randomPassword:RandomPassword":
            # Deterministic and obviously not a real credential.
            return {"result": f"offline{_suffix(name, 40)}", "bcryptHash": "offline"}
        elif typ == "aws:cloudfront/distribution:Distribution":
            # CloudFront is global: its ARNs have no region.
            dist = f"E{_suffix(name, 13).upper()}"
            out.update(
                arn=f"arn:aws:cloudfront::{account}:distribution/{dist}",
                domainName=f"d{_suffix(name, 13)}.cloudfront.net",
                hostedZoneId="Z2FDTNDATAQYW2",
                status="Deployed",
                etag=f"E{_suffix(f'{name}-etag', 13).upper()}",
                callerReference=f"terraform-{_suffix(name, 26)}",
            )
        elif typ.startswith("aws:cloudfront/") and typ.endswith(
            (":CachePolicy", ":OriginAccessControl", ":ResponseHeadersPolicy")
        ):
            kind = {
                "CachePolicy": "cache-policy",
                "OriginAccessControl": "origin-access-control",
                "ResponseHeadersPolicy": "response-headers-policy",
            }[typ.rsplit(":", 1)[1]]
            out.update(
                arn=f"arn:aws:cloudfront::{account}:{kind}/{uuid.UUID(_suffix(name, 32))}",
                etag=f"E{_suffix(f'{name}-etag', 13).upper()}",
            )
        elif typ == "aws:wafv2/webAcl:WebAcl":
            # CLOUDFRONT-scope web ACLs live in us-east-1 under "global", whatever the provider.
            cloudfront = state.get("scope") == "CLOUDFRONT"
            where, scope = ("us-east-1", "global") if cloudfront else (region, "regional")
            acl = f"{state.get('name', name)}/{uuid.UUID(_suffix(name, 32))}"
            out.update(
                arn=f"arn:aws:wafv2:{where}:{account}:{scope}/webacl/{acl}",
                lockToken=str(uuid.UUID(_suffix(f"{name}-lock", 32))),
            )
        elif typ == "aws:acm/certificate:Certificate":
            names = [state.get("domainName"), *(state.get("subjectAlternativeNames") or [])]
            out.update(
                arn=f"arn:aws:acm:{state.get('region') or region}:{account}:certificate/"
                f"{uuid.UUID(_suffix(name, 32))}",
                status="ISSUED",
                type="AMAZON_ISSUED",
                domainValidationOptions=[
                    {
                        "domainName": d,
                        "resourceRecordName": f"_{_suffix(d, 32)}.{d}.",
                        "resourceRecordType": "CNAME",
                        "resourceRecordValue": f"_{_suffix(f'{d}-value', 32)}.acm-validations.aws.",
                    }
                    for d in dict.fromkeys(n for n in names if n)
                ],
            )
        elif typ == "aws:acm/certificateValidation:CertificateValidation":
            return {}  # its only outputs are its inputs; it has no ARN of its own
        elif typ == "aws:route53/record:Record":
            return {"fqdn": str(state.get("name", name)).rstrip(".")}
        elif typ == "aws:kms/alias:Alias":
            out["arn"] = f"arn:aws:kms:{region}:{account}:{state.get('name', name)}"
        elif typ.startswith("gcp:"):
            # GCP objects have no ARN. Names that embed the project number use a fixed one.
            number = "123456789012"
            project = state.get("project", "offline-project")
            out = {}
            if typ == "gcp:projects/serviceIdentity:ServiceIdentity":
                api = str(state.get("service", "")).split(".", 1)[0]
                email = f"service-{number}@gcp-sa-{api}.iam.gserviceaccount.com"
                out.update(email=email, member=f"serviceAccount:{email}")
            elif typ == "gcp:serviceaccount/account:Account":
                email = f"{state.get('accountId', name)}@{project}.iam.gserviceaccount.com"
                out.update(
                    email=email,
                    member=f"serviceAccount:{email}",
                    name=f"projects/{project}/serviceAccounts/{email}",
                    uniqueId=str(int(_suffix(name, 12), 16)),
                )
            elif typ == "gcp:kms/keyRing:KeyRing":
                out["project"] = project
            elif typ == "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
                pool = state.get("workloadIdentityPoolId", name)
                out.update(
                    name=f"projects/{number}/locations/global/workloadIdentityPools/{pool}",
                    state="ACTIVE",
                )
            elif typ == "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
                out.update(
                    name=f"projects/{number}/locations/global/workloadIdentityPools/"
                    f"{state.get('workloadIdentityPoolId')}/providers/"
                    f"{state.get('workloadIdentityPoolProviderId', name)}",
                    state="ACTIVE",
                )
            elif typ == "gcp:storage/bucket:Bucket":
                bucket = state.get("name", name)
                out.update(
                    url=f"gs://{bucket}",
                    selfLink=f"https://www.googleapis.com/storage/v1/b/{bucket}",
                )
            elif typ == "gcp:vertex/aiDataset:AiDataset":
                dataset = int(_suffix(name, 12), 16)
                out["name"] = (
                    f"projects/{number}/locations/{state.get('region')}/datasets/{dataset}"
                )
        elif typ.startswith("azure-native:"):
            return _azure_computed(typ, name, state)
        elif typ.startswith("vault:"):
            # Vault objects have no ARN: their outputs are their inputs, plus a mount's accessor,
            # which Vault names after the mount's kind and type with 8 hex digits.
            out = {}
            if typ == "vault:index/authBackend:AuthBackend":
                out["accessor"] = f"auth_{state.get('type', 'token')}_{_suffix(name, 8)}"
            elif typ == "vault:index/mount:Mount":
                out["accessor"] = f"{state.get('type', 'kv')}_{_suffix(name, 8)}"
        return out

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
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if args.token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            email = "service-123456789012@gs-project-accounts.iam.gserviceaccount.com"
            project = args.args.get("project", "offline-project")
            return {
                "emailAddress": email,
                "member": f"serviceAccount:{email}",
                "project": project,
                "id": email,
            }, []
        if args.token == "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount":
            email = "bq-123456789012@bigquery-encryption.iam.gserviceaccount.com"
            project = args.args.get("project", "offline-project")
            return {
                "email": email,
                "member": f"serviceAccount:{email}",
                "project": project,
                "id": email,
            }, []
        return {}, [("token", f"the offline engine has no answer for invoke {args.token}")]


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
