"""Rules of delivery: services (components/delivery/spec.py) and the GitOps repository."""

from __future__ import annotations

import re
from collections.abc import Iterable

from components.aws.private_dns import ALB_HOSTED_ZONE_IDS, is_host
from components.delivery.spec import check_services
from config.models.delivery import DeliverySettings, GitOpsSettings
from config.models.identity import IdentitySettings
from config.models.network import NetworkSettings
from config.problems import Problem, bad, key_of


def check_delivery(
    identity: IdentitySettings,
    network: NetworkSettings,
    delivery: DeliverySettings,
) -> Iterable[Problem]:
    """Every service's own rules, and an HTTPS certificate in the region when there are any."""
    for key, value, allowed in check_services(identity.environment, delivery.services):
        yield Problem(key, value, allowed)
    region = network.aws_region
    if delivery.services and not re.fullmatch(
        rf"arn:aws[a-z-]*:acm:{re.escape(region)}:\d{{12}}:certificate/[0-9a-f-]{{36}}",
        delivery.alb_certificate_arn,
    ):
        yield bad(
            delivery,
            "alb_certificate_arn",
            f"the ARN of an ACM certificate in {region} (services are served over HTTPS)",
        )
    if delivery.pushgateway_host:
        if not is_host(delivery.pushgateway_host):
            yield bad(
                delivery, "pushgateway_host", "a lower-case DNS name, e.g. pushgateway.x.example"
            )
        elif region not in ALB_HOSTED_ZONE_IDS:
            yield bad(
                delivery,
                "pushgateway_host",
                "empty in this region (no ALB hosted zone known for its private alias; known: "
                + ", ".join(sorted(ALB_HOSTED_ZONE_IDS))
                + ")",
            )


def check_gitops(identity: IdentitySettings, gitops: GitOpsSettings) -> Iterable[Problem]:
    """Seed 4.1.3: changes reach shared environments only through the reviewed repository."""
    if identity.environment != "dev" and not gitops.app_config_repo:
        yield bad(
            gitops,
            "app_config_repo",
            "staging and prod deploy services through Argo CD: an https Git URL",
        )
    if gitops.app_config_repo and not re.fullmatch(
        r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~-]+)+", gitops.app_config_repo
    ):
        yield bad(
            gitops,
            "app_config_repo",
            "an https Git URL, e.g. https://github.com/org/app-config.git",
        )
    sso = (
        "argocd_oidc_issuer",
        "argocd_oidc_client_id",
        "argocd_oidc_client_secret_ref",
        "argocd_admin_group",
        "argocd_hostname",
    )
    if any(getattr(gitops, field) for field in sso):
        keys = ", ".join(key_of(gitops, field) for field in sso)
        for field in sso:
            if not getattr(gitops, field):
                yield bad(gitops, field, "single sign-on needs all of " + keys)


RULES = (check_delivery, check_gitops)
