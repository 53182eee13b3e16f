"""People (seed 4.2): the IAM role that stands for each group that may reach the cluster.

Which groups may reach an environment is a rule of the platform (``components.aws.access``),
not a setting; the stack only names each group's role.
"""

from __future__ import annotations

from config.fields import Domain, setting

_SUFFIX = "_role_arn"


class AccessSettings(Domain):
    """One IAM role per group; a field ``<group>_role_arn`` stands for group ``<group>``."""

    developers_role_arn: str = setting(
        "",
        "IAM role of the developers group (dev only); empty = no access entry.",
        key="developersRoleArn",
    )
    qa_role_arn: str = setting(
        "", "IAM role of the QA team (staging only); empty = no access entry.", key="qaRoleArn"
    )
    stakeholders_role_arn: str = setting(
        "",
        "IAM role of selected stakeholders, read-only (staging only); empty = none.",
        key="stakeholdersRoleArn",
    )
    sre_role_arn: str = setting(
        "",
        "IAM role of the SRE on-call group (every environment); empty = none.",
        key="sreRoleArn",
    )

    @classmethod
    def group_fields(cls) -> dict[str, str]:
        """Group name -> field name (``developers`` -> ``developers_role_arn``)."""
        return {name.removesuffix(_SUFFIX): name for name in cls.model_fields}

    def roles(self) -> dict[str, str]:
        """Group name -> IAM role ARN, for the groups this stack names."""
        roles = {group: getattr(self, name) for group, name in self.group_fields().items()}
        return {group: arn for group, arn in roles.items() if arn}
