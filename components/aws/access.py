"""Who gets which Kubernetes access in each environment (seed 4.2), as pure data."""

from __future__ import annotations

from dataclasses import dataclass

POLICY_ARN_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"


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


def access_plan(environment: str, app_namespace: str) -> dict[str, list[AccessGrant]]:
    """Grants per group for an environment.

    - dev (developers only): developers edit the application namespace and read the cluster;
    - staging (QA and selected stakeholders): QA edits the application namespace,
      stakeholders only read it;
    - prod (end users, through the public edge): no person but the SRE on-call group.

    SRE administers every environment: it is the on-call group that resolves incidents.
    """
    app = (app_namespace,)
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
