"""Who gets which Kubernetes access in each environment (seed 4.2), as pure data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

POLICY_ARN_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
APPLICATION_LABEL = ("ttbt2.io/tier", "application")
"""Label of every namespace the application runs in: the shared one and each service's.

The policy pack reads it (``aws-eks-access-covers-application``) to know which namespaces an
access scope to the application must list."""


@dataclass(frozen=True)
class AccessGrant:
    """One EKS access policy, cluster-wide (``namespaces`` empty) or limited to namespaces."""

    policy: str
    namespaces: tuple[str, ...] = ()

    @property
    def policy_arn(self) -> str:
        """The AWS-managed access policy ARN."""
        return POLICY_ARN_PREFIX + self.policy

    @property
    def scope_type(self) -> str:
        """``namespace`` when limited to namespaces, else ``cluster``."""
        return "namespace" if self.namespaces else "cluster"

    @property
    def scope(self) -> dict[str, object]:
        """The ``accessScope`` block of the policy association."""
        if self.namespaces:
            return {"type": "namespace", "namespaces": list(self.namespaces)}
        return {"type": "cluster"}


def access_plan(environment: str, app_namespaces: Sequence[str]) -> dict[str, list[AccessGrant]]:
    """Grants per group for an environment; ``app_namespaces`` are where the application runs.

    The application is the shared namespace plus one namespace per delivered service (see
    :func:`components.delivery.spec.service_namespace`); a person's access to the application
    covers all of them, so a new service in ``ttbt2:services`` is reachable by its team at once.

    - dev (developers only): developers edit the application namespaces and read the cluster;
    - staging (QA and selected stakeholders): QA edits the application namespaces,
      stakeholders only read them;
    - prod (end users, through the public edge): no person but the SRE on-call group.

    SRE administers every environment: it is the on-call group that resolves incidents.
    """
    if not app_namespaces:
        raise ValueError("app_namespaces must name at least the shared application namespace")
    app = tuple(dict.fromkeys(app_namespaces))  # order kept, duplicates dropped
    plans: dict[str, dict[str, list[AccessGrant]]] = {
        "dev": {
            "developers": [
                AccessGrant("AmazonEKSEditPolicy", app),
                AccessGrant("AmazonEKSViewPolicy"),
            ],
        },
        "staging": {
            "qa": [AccessGrant("AmazonEKSEditPolicy", app)],
            "stakeholders": [AccessGrant("AmazonEKSViewPolicy", app)],
        },
        "prod": {},
    }
    plan = dict(plans[environment])
    plan["sre"] = [AccessGrant("AmazonEKSClusterAdminPolicy")]
    return plan
