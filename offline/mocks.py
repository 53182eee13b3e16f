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

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Return an id and the output state: the inputs plus the computed outputs of the type.

        In preview mode a new resource has no id and no computed outputs yet, as in a first
        ``pulumi preview``: only its inputs are known.
        """
        state = dict(args.inputs)
        typ, name = args.typ, args.name
        if typ.startswith("pulumi:providers:"):
            return f"{name}-provider-id", state
        if self.preview:
            return "", state
        rid = f"{_short(typ)}-{_suffix(name)}"
        computed = self._computed(typ, name, rid, state)
        state.update(computed)
        # An S3 bucket's id is its name.
        return str(computed.get("bucket", rid)), state

    def _computed(self, typ: str, name: str, rid: str, state: dict[str, Any]) -> dict[str, Any]:
        region, account = self.region, ACCOUNT_ID
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
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        return {}, [("token", f"the offline engine has no answer for invoke {args.token}")]


# base64 of a PEM block with a placeholder body, the shape EKS reports its cluster CA in.
_OFFLINE_CA = base64.b64encode(
    b"-----BEGIN CERTIFICATE-----\nTUlJQm9mZmxpbmUtdHRidDItY2E=\n-----END CERTIFICATE-----\n"
).decode()


def _short(typ: str) -> str:
    return typ.rsplit(":", 1)[-1].lower()
