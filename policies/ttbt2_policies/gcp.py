"""GCP: KMS rotation, BigQuery and Cloud Storage exposure, IAM basic/admin roles, SA keys.

- KMS crypto keys rotate at least every 90 days (CKV_GCP_43);
- BigQuery datasets are encrypted with a customer-managed key (CKV_GCP_81) and grant nothing to
  ``allUsers``/``allAuthenticatedUsers`` (CKV_GCP_15);
- Cloud Storage buckets grant nothing to the public (CKV_GCP_28), use uniform bucket-level
  access (CKV_GCP_29) and enforce public access prevention (CKV_GCP_114);
- Cloud Storage buckets send usage logs to a log bucket (CKV_GCP_62), and the project of every
  bucket records Data Access audit logs of Cloud Storage (CKV2_GCP_5, for storage); both are
  stack policies, explained below;
- no service account holds a basic or admin role at project level (CKV_GCP_42) and nobody holds
  a basic role on a project, folder or organization (CKV_GCP_117);
- no service-account keys at all: workloads authenticate keylessly through workload identity
  federation (platform rule).

Props are the provider's camelCase inputs (``rotationPeriod``, ``defaultEncryptionConfiguration``,
``accesses``, ``uniformBucketLevelAccess``...). A missing property is judged by the GCP default
named in each message.

The log-bucket exemption (``gcp-storage-bucket-access-logging``). A bucket that receives usage
logs need not log itself (it would log its own log deliveries). A bucket is exempt only when

1. it carries the label ``purpose: access-logs`` (a declared intent: no bucket slips into the
   exemption by accident), and
2. another bucket of the stack sends its usage logs to it (a fact of the graph): that bucket's
   ``logging`` input depends on it (per-property dependencies, as the engine hands them over),
   or, in a graph without per-property dependencies, it depends on it and its
   ``logging.logBucket`` is this bucket's ``name``.

So labelling a data bucket ``access-logs`` to silence the rule is itself reported: the label
without a bucket logging into it is a violation. This is why the rule is a stack policy.

Data Access audit (``gcp-storage-data-access-audit``). Each bucket's project (its ``project``
input, else its provider's ``project``) needs project ``IAMAuditConfig`` resources for
``storage.googleapis.com`` or ``allServices`` whose log types together (Google takes the union
of both) include ``DATA_READ`` and ``DATA_WRITE``, with no exempted member on those two types
(CIS GCP 2.1: an exempted principal's reads or writes leave no record). Audit configs set on a
folder or the organization, or inside a whole ``IAMPolicy``, are not seen: the platform sets them
on the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

from .common import (
    MANDATORY,
    InvalidPropError,
    bool_prop,
    is_mapping,
    list_prop,
    mapping_prop,
    referenced,
    report_on,
    resource_policy,
    stack_policy,
    str_list,
    str_list_prop,
    str_prop,
    wrong_type,
)

CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
DATASET = "gcp:bigquery/dataset:Dataset"
DATASET_ACCESS = "gcp:bigquery/datasetAccess:DatasetAccess"
DATASET_IAM_MEMBER = "gcp:bigquery/datasetIamMember:DatasetIamMember"
DATASET_IAM_BINDING = "gcp:bigquery/datasetIamBinding:DatasetIamBinding"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
BUCKET_IAM_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"
FOLDER_IAM_MEMBER = "gcp:folder/iAMMember:IAMMember"
FOLDER_IAM_BINDING = "gcp:folder/iAMBinding:IAMBinding"
ORGANIZATION_IAM_MEMBER = "gcp:organizations/iAMMember:IAMMember"
ORGANIZATION_IAM_BINDING = "gcp:organizations/iAMBinding:IAMBinding"
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
PROJECT_AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"

IAM_MEMBER_TYPES = frozenset(
    {
        DATASET_IAM_MEMBER,
        BUCKET_IAM_MEMBER,
        PROJECT_IAM_MEMBER,
        FOLDER_IAM_MEMBER,
        ORGANIZATION_IAM_MEMBER,
    }
)
"""IAM resources with one ``member``; the others (bindings) hold a ``members`` array."""
PROJECT_IAM_TYPES = frozenset({PROJECT_IAM_MEMBER, PROJECT_IAM_BINDING})
HIERARCHY_IAM_TYPES = frozenset(
    {
        *PROJECT_IAM_TYPES,
        FOLDER_IAM_MEMBER,
        FOLDER_IAM_BINDING,
        ORGANIZATION_IAM_MEMBER,
        ORGANIZATION_IAM_BINDING,
    }
)
USED_TYPES = frozenset(
    {
        CRYPTO_KEY,
        DATASET,
        DATASET_ACCESS,
        DATASET_IAM_BINDING,
        BUCKET,
        BUCKET_IAM_BINDING,
        SERVICE_ACCOUNT_KEY,
        PROJECT_AUDIT_CONFIG,
        *IAM_MEMBER_TYPES,
        *HIERARCHY_IAM_TYPES,
    }
)
"""Every type token this module names (checked against the installed SDK by the tests)."""

MAXIMUM_ROTATION_SECONDS = 90 * 24 * 3600
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
BASIC_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
_DURATION = re.compile(r"(\d+(?:\.\d{1,9})?)s")
LOG_BUCKET_LABEL = ("purpose", "access-logs")
LOG_BUCKET_RULE = "a bucket labelled purpose: access-logs that another bucket logs into"
AUDITED_SERVICES = ("storage.googleapis.com", "allServices")
REQUIRED_AUDIT_LOG_TYPES = ("DATA_READ", "DATA_WRITE")


def _members(props: Mapping[str, Any], type_: str) -> list[str]:
    """The principals of an IAM member (``member``) or binding (``members``) resource."""
    if type_ in IAM_MEMBER_TYPES:
        member = str_prop(props, "member")
        return [] if member is None else [member]
    return str_list_prop(props, "members") or []


# --- KMS --------------------------------------------------------------------------------------


def _rotation(args: ResourceValidationArgs) -> Iterator[str]:
    """``rotationPeriod`` is a duration string (``"7776000s"``); GCP never rotates without it."""
    period = str_prop(args.props, "rotationPeriod")
    if period is None:
        yield (
            "key rotation is off: rotationPeriod is not set and GCP never rotates the key; "
            f"set it to at most {MAXIMUM_ROTATION_SECONDS}s (90 days)"
        )
        return
    match = _DURATION.fullmatch(period.strip())
    if not match:
        raise InvalidPropError(
            f"rotationPeriod must be a duration in seconds such as '7776000s', got {period!r}"
        )
    seconds = float(match.group(1))
    if seconds > MAXIMUM_ROTATION_SECONDS:
        yield (
            f"rotationPeriod {period} ({seconds / 86400:g} days) is longer than 90 days "
            f"({MAXIMUM_ROTATION_SECONDS}s)"
        )


# --- BigQuery -----------------------------------------------------------------------------------


def _dataset_cmek(args: ResourceValidationArgs) -> Iterator[str]:
    key = str_prop(args.props, "defaultEncryptionConfiguration.kmsKeyName")
    if not key:
        yield (
            "defaultEncryptionConfiguration.kmsKeyName is not set: tables are encrypted with a "
            "Google-managed key; set a customer-managed Cloud KMS key"
        )


def _public_access_entry(entry: Any, where: str) -> Iterator[str]:
    if not is_mapping(entry):
        raise wrong_type(where, "an object", entry)
    for key in ("specialGroup", "iamMember"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise wrong_type(f"{where}.{key}", "a string", value)
        if value in PUBLIC_MEMBERS:
            role = entry.get("role")
            granted = f" role {role!r}" if isinstance(role, str) else " access"
            yield f"{where} grants{granted} to {key} {value!r}: the dataset is public"


def _dataset_not_public(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type == DATASET:
        for i, entry in enumerate(list_prop(args.props, "accesses") or []):
            yield from _public_access_entry(entry, f"accesses[{i}]")
    elif args.resource_type == DATASET_ACCESS:
        yield from _public_access_entry(args.props, "the dataset access")
    else:
        for member in _members(args.props, args.resource_type):
            if member in PUBLIC_MEMBERS:
                yield f"the dataset IAM grants {str_prop(args.props, 'role')} to {member!r}"


# --- Cloud Storage ------------------------------------------------------------------------------


def _bucket_not_public(args: ResourceValidationArgs) -> Iterator[str]:
    role = str_prop(args.props, "role")
    for member in _members(args.props, args.resource_type):
        if member in PUBLIC_MEMBERS:
            yield f"the bucket IAM grants {role} to {member!r}: the bucket is public"


def _uniform_access(args: ResourceValidationArgs) -> Iterator[str]:
    uniform = bool_prop(args.props, "uniformBucketLevelAccess")
    if not uniform:
        why = "is false" if uniform is False else "is not set and GCP defaults it to false"
        yield f"object ACLs are in use: uniformBucketLevelAccess {why}"


def _public_access_prevention(args: ResourceValidationArgs) -> Iterator[str]:
    value = str_prop(args.props, "publicAccessPrevention")
    if value != "enforced":
        got = "not set (GCP default 'inherited')" if value is None else repr(value)
        yield f"publicAccessPrevention is {got}; set it to 'enforced'"


# --- Cloud Storage: usage logs and Data Access audit logs (stack policies) ----------------------


def _log_bucket_value(bucket: PolicyResource) -> str | None:
    return str_prop(bucket.props, "logging.logBucket")


def _log_targets(bucket: PolicyResource) -> list[PolicyResource]:
    """The buckets receiving ``bucket``'s usage logs: see the module docstring."""
    depended = [t for t in referenced(bucket, "logging", {BUCKET}) if t.urn != bucket.urn]
    if getattr(bucket, "property_dependencies", None) or not depended:
        return depended
    target = _log_bucket_value(bucket)
    return [t for t in depended if target and t.props.get("name") == target]


def _is_labelled_log_bucket(bucket: PolicyResource) -> bool:
    key, value = LOG_BUCKET_LABEL
    labels = mapping_prop(bucket.props, "labels") or {}
    return labels.get(key) == value


def _access_logging_problems(bucket: PolicyResource, receives_logs: bool) -> Iterator[str]:
    logging = mapping_prop(bucket.props, "logging")
    if _log_bucket_value(bucket):
        return
    if _is_labelled_log_bucket(bucket):
        if not receives_logs:
            yield (
                f"bucket {bucket.name} is labelled purpose: access-logs but no bucket of the "
                "stack sends its usage logs to it: the label exempts log buckets only; set "
                "logging.logBucket or remove the label"
            )
        return
    why = (
        "logging is not set and GCS keeps no usage logs by default"
        if logging is None
        else "logging.logBucket is not set"
    )
    yield (
        f"bucket {bucket.name} has no access logging: {why}; set logging.logBucket (only "
        f"{LOG_BUCKET_RULE} is exempt)"
    )


def _access_logging(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    buckets = [r for r in args.resources if r.resource_type == BUCKET]
    targets: set[str] = set()
    for bucket in buckets:
        try:
            targets.update(t.urn for t in _log_targets(bucket))
        except InvalidPropError:
            continue  # the bucket's own check below reports the wrongly typed logging
    for bucket in buckets:
        yield from report_on(bucket.urn, _access_logging_problems(bucket, bucket.urn in targets))


def _project_of(res: PolicyResource) -> str:
    """The project a resource is in: its ``project`` input, else its provider's."""
    project = str_prop(res.props, "project")
    if project:
        return project
    provider = res.provider
    default = str_prop(provider.props, "project") if provider is not None else None
    if default:
        return default
    return "(the provider's default project)"


class _ProjectAudit:
    """What a project's audit configs for Cloud Storage record: log types and exemptions."""

    def __init__(self) -> None:
        self.configs: list[str] = []
        self.log_types: set[str] = set()
        self.exempted: dict[str, list[str]] = {}

    def add(self, config: PolicyResource) -> None:
        """Count one audit config in; a wrongly typed one raises and counts for nothing."""
        entries: list[tuple[str, list[str]]] = []
        for i, entry in enumerate(list_prop(config.props, "auditLogConfigs") or []):
            where = f"IAMAuditConfig {config.name}: auditLogConfigs[{i}]"
            if not is_mapping(entry):
                raise wrong_type(where, "an object", entry)
            log_type = entry.get("logType")
            if not isinstance(log_type, str):
                raise wrong_type(f"{where}.logType", "a string", log_type)
            exempted = entry.get("exemptedMembers")
            members = [] if exempted is None else str_list(exempted, f"{where}.exemptedMembers")
            entries.append((log_type, members))
        self.configs.append(config.name)
        for log_type, members in entries:
            self.log_types.add(log_type)
            if members:
                self.exempted.setdefault(log_type, []).extend(members)

    def problems(self, bucket: PolicyResource, project: str) -> Iterator[str]:
        if not self.configs:
            yield (
                f"bucket {bucket.name}: project {project} has no IAMAuditConfig for "
                f"{' or '.join(AUDITED_SERVICES)}, and Data Access audit logs are off by "
                "default: reads and writes of its objects leave no audit record"
            )
            return
        missing = [t for t in REQUIRED_AUDIT_LOG_TYPES if t not in self.log_types]
        if missing:
            yield (
                f"bucket {bucket.name}: the audit configs of project {project} "
                f"({', '.join(self.configs)}) do not enable {', '.join(missing)}"
            )
        for log_type in REQUIRED_AUDIT_LOG_TYPES:
            members = self.exempted.get(log_type)
            if members:
                yield (
                    f"bucket {bucket.name}: project {project} exempts {', '.join(members)} "
                    f"from {log_type} audit logs: their access leaves no record"
                )


def _data_access_audit(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    audits: dict[str, _ProjectAudit] = {}
    for res in args.resources:
        if res.resource_type != PROJECT_AUDIT_CONFIG:
            continue
        try:
            if str_prop(res.props, "service") in AUDITED_SERVICES:
                audits.setdefault(_project_of(res), _ProjectAudit()).add(res)
        except InvalidPropError as exc:
            yield exc.message, res.urn
    for res in args.resources:
        if res.resource_type == BUCKET:
            project = _project_of(res)
            audit = audits.get(project, _ProjectAudit())
            yield from report_on(res.urn, audit.problems(res, project))


# --- IAM -------------------------------------------------------------------------------------


def _is_admin_role(role: str) -> bool:
    return role in BASIC_ROLES or (role.startswith("roles/") and "admin" in role.lower())


def _service_account_roles(args: ResourceValidationArgs) -> Iterator[str]:
    role = str_prop(args.props, "role")
    if role is None or not _is_admin_role(role):
        return
    for member in _members(args.props, args.resource_type):
        if member.startswith("serviceAccount:"):
            yield (
                f"{member} is granted {role} on the project: service accounts get narrow "
                "predefined or custom roles, never basic or admin roles"
            )


def _no_basic_roles(args: ResourceValidationArgs) -> Iterator[str]:
    role = str_prop(args.props, "role")
    if role in BASIC_ROLES:
        members = ", ".join(_members(args.props, args.resource_type)) or "(no members)"
        yield f"basic role {role} granted to {members}: use predefined or custom roles"


def _no_service_account_keys(_args: ResourceValidationArgs) -> Iterator[str]:
    yield (
        "service-account keys are long-lived secrets: authenticate through workload identity "
        "federation instead"
    )


crypto_key_rotation = resource_policy(
    name="gcp-kms-crypto-key-rotation",
    description="Cloud KMS crypto keys rotate at least every 90 days (CKV_GCP_43).",
    enforcement=MANDATORY,
    applies_to={CRYPTO_KEY},
    check=_rotation,
)

bigquery_dataset_cmek = resource_policy(
    name="gcp-bigquery-dataset-cmek",
    description=(
        "BigQuery datasets set defaultEncryptionConfiguration.kmsKeyName to a customer-managed "
        "key (CKV_GCP_81)."
    ),
    enforcement=MANDATORY,
    applies_to={DATASET},
    check=_dataset_cmek,
)

bigquery_dataset_not_public = resource_policy(
    name="gcp-bigquery-dataset-not-public",
    description=(
        "BigQuery datasets grant nothing to allUsers or allAuthenticatedUsers, in their accesses "
        "or through DatasetAccess and dataset IAM resources (CKV_GCP_15)."
    ),
    enforcement=MANDATORY,
    applies_to={DATASET, DATASET_ACCESS, DATASET_IAM_MEMBER, DATASET_IAM_BINDING},
    check=_dataset_not_public,
)

storage_bucket_not_public = resource_policy(
    name="gcp-storage-bucket-not-public",
    description=(
        "Bucket IAM members and bindings grant nothing to allUsers or allAuthenticatedUsers "
        "(CKV_GCP_28)."
    ),
    enforcement=MANDATORY,
    applies_to={BUCKET_IAM_MEMBER, BUCKET_IAM_BINDING},
    check=_bucket_not_public,
)

storage_bucket_uniform_access = resource_policy(
    name="gcp-storage-bucket-uniform-access",
    description="Cloud Storage buckets enable uniformBucketLevelAccess (CKV_GCP_29).",
    enforcement=MANDATORY,
    applies_to={BUCKET},
    check=_uniform_access,
)

storage_bucket_public_access_prevention = resource_policy(
    name="gcp-storage-bucket-public-access-prevention",
    description="Cloud Storage buckets set publicAccessPrevention to 'enforced' (CKV_GCP_114).",
    enforcement=MANDATORY,
    applies_to={BUCKET},
    check=_public_access_prevention,
)

storage_bucket_access_logging = stack_policy(
    name="gcp-storage-bucket-access-logging",
    description=(
        "Cloud Storage buckets send usage logs to a log bucket (logging.logBucket) (CKV_GCP_62), "
        "except a bucket labelled purpose: access-logs that another bucket of the stack logs "
        "into."
    ),
    enforcement=MANDATORY,
    check=_access_logging,
)

storage_data_access_audit = stack_policy(
    name="gcp-storage-data-access-audit",
    description=(
        "The project of every Cloud Storage bucket has an IAMAuditConfig for "
        "storage.googleapis.com or allServices enabling DATA_READ and DATA_WRITE, with no "
        "exempted member (CKV2_GCP_5, for Cloud Storage)."
    ),
    enforcement=MANDATORY,
    check=_data_access_audit,
)

iam_no_service_account_admin_roles = resource_policy(
    name="gcp-iam-no-service-account-admin-roles",
    description=(
        "No service account is granted roles/owner, roles/editor, roles/viewer or a predefined "
        "*admin* role at project level (CKV_GCP_42)."
    ),
    enforcement=MANDATORY,
    applies_to=PROJECT_IAM_TYPES,
    check=_service_account_roles,
)

iam_no_basic_roles = resource_policy(
    name="gcp-iam-no-basic-roles",
    description=(
        "No basic role (roles/owner, roles/editor, roles/viewer) is granted on a project, folder "
        "or organization (CKV_GCP_117)."
    ),
    enforcement=MANDATORY,
    applies_to=HIERARCHY_IAM_TYPES,
    check=_no_basic_roles,
)

no_service_account_keys = resource_policy(
    name="gcp-no-service-account-keys",
    description=(
        "Platform rule: no service-account keys; workloads authenticate keylessly through "
        "workload identity federation."
    ),
    enforcement=MANDATORY,
    applies_to={SERVICE_ACCOUNT_KEY},
    check=_no_service_account_keys,
)

POLICIES: list[Policy] = [
    crypto_key_rotation,
    bigquery_dataset_cmek,
    bigquery_dataset_not_public,
    storage_bucket_not_public,
    storage_bucket_uniform_access,
    storage_bucket_public_access_prevention,
    storage_bucket_access_logging,
    storage_data_access_audit,
    iam_no_service_account_admin_roles,
    iam_no_basic_roles,
    no_service_account_keys,
]
