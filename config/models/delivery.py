"""Delivery: the application services (seed 4.1.3, 4.8.1, 4.10.1) and GitOps (Argo CD)."""

from __future__ import annotations

from components.delivery.spec import ServiceSpec
from config.fields import Domain, setting


class DeliverySettings(Domain):
    """The services delivered by canary and the certificate of their load balancer."""

    services: list[ServiceSpec] = setting(
        [],
        "The TTBT2 services: name, image (digest or immutable tag), port, paths, resources, "
        "replica bounds, scaling target, canary plan, SLO and the metric families it exposes; "
        "one entry per service.",
        key="services",
    )
    alb_certificate_arn: str = setting(
        "",
        "ACM certificate (primary region) of apiOriginHost for the services' HTTPS load "
        "balancer; required with services.",
        key="albCertificateArn",
    )
    pushgateway_host: str = setting(
        "",
        "DNS name of the Pushgateway on its internal load balancer (the pipeline's "
        "PUSHGATEWAY_URL is https://<this>/pushgateway); albCertificateArn must cover it. A "
        "Route 53 private zone of exactly this name, in the VPC only, points it at the load "
        "balancer. Empty: no name, and no HTTPS push can verify the gateway.",
        key="pushgatewayHost",
    )


class GitOpsSettings(Domain):
    """The reviewed configuration repository Argo CD applies (docs/gitops.md)."""

    app_config_repo: str = setting(
        "",
        "Application configuration repository Argo CD pulls (https Git URL); required outside "
        "dev, empty = no GitOps.",
        key="appConfigRepo",
    )
    target_revision: str = setting(
        "",
        "Branch, tag or commit the Applications track; empty = main, release/prod in prod.",
        key="gitopsTargetRevision",
    )
    argocd_hostname: str = setting(
        "",
        "Host name of the Argo CD UI (OIDC redirect URL); needed with single sign-on.",
        key="argocdHostname",
    )
    argocd_oidc_issuer: str = setting(
        "",
        "OIDC issuer (https URL) for Argo CD single sign-on; empty = no SSO.",
        key="argocdOidcIssuer",
    )
    argocd_oidc_client_id: str = setting("", "OIDC client id of Argo CD.", key="argocdOidcClientId")
    argocd_oidc_client_secret_ref: str = setting(
        "",
        "Argo CD OIDC client secret as $<secret>:<key> (a Secret in namespace argocd); never "
        "the value.",
        key="argocdOidcClientSecretRef",
    )
    argocd_admin_group: str = setting(
        "", "OIDC group whose members administer Argo CD.", key="argocdAdminGroup"
    )
