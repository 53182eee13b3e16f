"""Alertmanager routing of the platform alerts (seed 4.5.1, 4.5.2 and 4.6.2).

This module is pure: it registers no resources. It turns :class:`RoutingSettings` into the
``alertmanager.yaml`` mapping, which the in-cluster component mounts next to a Secret holding
the files named in :data:`SECRET_FILES`.

The policy, in one place:

* **Channels follow the severity** (seed 4.5.1 / 4.5.2): ``critical`` goes to SMS (the on-call
  rota), email and Slack; ``warning`` goes to email and Slack; ``info`` goes to Slack only.
  Anything else, e.g. an alert with no ``severity``, falls to the root receiver, Slack, so a
  mislabelled alert is still seen rather than dropped.
* **Email goes to the team** (seed 4.5.2, "email to the relevant teams"): under each severity
  that emails, one child route per ``team`` label sends to that team's receiver
  (``email-<team>``); an alert whose team has no address goes to the general ``email``
  receiver rather than to nobody.
* **The operations-room dashboard sees everything** (seed 4.5.2, "in real time"): when
  configured, the first route of the tree sends every alert but the silenced ones to it and
  continues, so it changes nothing below it; it is paced like a page.
* **Repeats follow the response time** (seed 4.6.2): a critical alert still firing is sent again
  every 10 minutes (response < 15 min); a warning repeats according to its ``priority`` label
  (critical 10 min, high 1 h, medium 4 h, low 24 h; 1 h when the label is missing, the safer
  guess); info repeats daily.
* Each channel is its own Alertmanager receiver, chained with ``continue: true``, so
  ``amtool config routes test`` names the channels an alert reaches and a failing integration
  (say, the SMS gateway) is retried on its own without re-sending the others.
* Credentials are never inline: every secret is read from a file under
  :attr:`RoutingSettings.secrets_dir` (``*_file`` fields, all supported by Alertmanager 0.25 and
  checked with its ``amtool``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

import yaml

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
"""Severities of seed 4.5.1, most urgent first."""

PRIORITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
"""Priorities of seed 4.6.2, most urgent first."""

RESPONSE_TIMES: Mapping[str, str] = {
    "critical": "15m",
    "high": "1h",
    "medium": "4h",
    "low": "24h",
}
"""Seed 4.6.2: the time within which an alert of each priority must be answered."""

SLACK_WEBHOOK_FILE = "slack-webhook-url"
SMTP_PASSWORD_FILE = "smtp-password"
SMS_TOKEN_FILE = "sms-gateway-token"

OPS_ROOM_TOKEN_FILE = "ops-room-webhook-token"

SECRET_FILES: tuple[str, ...] = (SLACK_WEBHOOK_FILE, SMTP_PASSWORD_FILE, SMS_TOKEN_FILE)
"""Keys the Secret mounted at ``secrets_dir`` always holds; see :func:`secret_files`."""

NULL = "null"
SLACK = "slack"
EMAIL = "email"
SMS = "sms"
DASHBOARD = "dashboard"

GROUP_BY: tuple[str, ...] = ("alertname", "namespace", "service")
INHIBIT_EQUAL: tuple[str, ...] = ("namespace", "service")

# Repeat intervals per warning priority. A warning carrying priority="critical" is contradictory
# but the priority is what someone promised to answer within, so it is honoured.
WARNING_REPEAT: Mapping[str, str] = {
    "critical": "10m",
    "high": "1h",
    "medium": "4h",
    "low": "24h",
}
WARNING_DEFAULT_REPEAT = "1h"
CRITICAL_REPEAT = "10m"
INFO_REPEAT = "24h"

# kube-prometheus-stack ships two alerts that are not meant for people:
# * Watchdog always fires, to prove the alerting pipeline is alive. Sending it to Slack would be
#   constant noise; its place is an external dead man's switch (none is in the seed yet), so it
#   goes to a receiver with no integrations.
# * InfoInhibitor fires when info alerts fire alone, and the chart's own config uses it to hide
#   them. Seed 4.5.1/4.5.2 wants info alerts in Slack, so its inhibit rule is deliberately not
#   adopted; the alert itself (severity "none") is silenced the same way as Watchdog.
SILENCED_ALERTS: tuple[str, ...] = ("Watchdog", "InfoInhibitor")


_TEAM = re.compile(r"[a-z0-9][a-z0-9-]*")


class RoutingError(ValueError):
    """Raised when :class:`RoutingSettings` cannot produce a working configuration."""


@dataclass(frozen=True)
class RoutingSettings:
    """Where alerts of one environment are delivered.

    Only locations of secrets appear here: the Slack webhook URL, the SMTP password and the SMS
    gateway token are files under ``secrets_dir`` (see :data:`SECRET_FILES`).
    """

    environment: str
    email_to: str
    email_from: str
    smarthost: str
    sms_webhook_url: str
    team_emails: Mapping[str, str] = field(default_factory=dict)
    """Team label -> address of that team's email receiver."""
    slack_channel: str = "#alerts"
    secrets_dir: str = "/etc/alertmanager/secrets"
    dashboard_webhook_url: str | None = None
    smtp_username: str | None = None
    """SMTP login; the sender address when not given, as most relays expect."""

    def __post_init__(self) -> None:
        """Refuse settings Alertmanager would accept but that would not deliver."""
        problems: list[str] = []
        if not self.environment:
            problems.append("environment must not be empty")
        if not self.slack_channel.startswith("#"):
            problems.append(f"slack_channel {self.slack_channel!r} must start with '#'")
        for name in ("email_to", "email_from"):
            value = getattr(self, name)
            if "@" not in value:
                problems.append(f"{name} {value!r} is not an email address")
        for team, address in self.team_emails.items():
            if not _TEAM.fullmatch(team):
                problems.append(f"team_emails: team {team!r} must be a lowercase label value")
            if "@" not in address:
                problems.append(f"team_emails[{team!r}] {address!r} is not an email address")
        host, _, port = self.smarthost.rpartition(":")
        if not host or not port.isdigit():
            problems.append(f"smarthost {self.smarthost!r} must be host:port")
        urls = {"sms_webhook_url": self.sms_webhook_url}
        if self.dashboard_webhook_url is not None:
            urls["dashboard_webhook_url"] = self.dashboard_webhook_url
        for name, url in urls.items():
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                problems.append(f"{name} {url!r} must be an http(s) URL")
        if not PurePosixPath(self.secrets_dir).is_absolute():
            # Alertmanager resolves relative *_file paths against its config file's directory,
            # which is not where the Secret is mounted.
            problems.append(f"secrets_dir {self.secrets_dir!r} must be an absolute path")
        if problems:
            raise RoutingError("; ".join(problems))

    def secret_path(self, name: str) -> str:
        """Absolute path of one of :data:`SECRET_FILES` inside the mounted Secret."""
        return str(PurePosixPath(self.secrets_dir) / name)


def secret_files(s: RoutingSettings) -> tuple[str, ...]:
    """Keys the Secret must hold for these settings, no more, no fewer.

    The dashboard's bearer token only when there is a dashboard: the alerts it receives name
    services and failures, so it must be able to refuse anyone but Alertmanager, and a webhook
    URL is no place for a credential.
    """
    extra = (OPS_ROOM_TOKEN_FILE,) if s.dashboard_webhook_url is not None else ()
    return (*SECRET_FILES, *extra)


def _receivers(s: RoutingSettings) -> list[dict[str, Any]]:
    """One receiver per channel, plus the silent one."""
    prefix = f"[{s.environment}] "
    receivers: list[dict[str, Any]] = [
        # No integrations: alerts routed here are accepted and dropped.
        {"name": NULL},
        {
            "name": SLACK,
            "slack_configs": [
                {
                    "channel": s.slack_channel,
                    "api_url_file": s.secret_path(SLACK_WEBHOOK_FILE),
                    "send_resolved": True,
                    "title": prefix + '{{ template "slack.default.title" . }}',
                }
            ],
        },
        _email_receiver(s, EMAIL, s.email_to),
        {
            "name": SMS,
            "webhook_configs": [
                {
                    "url": s.sms_webhook_url,
                    # A resolved message would wake the on-call engineer for good news; Slack
                    # and email already carry the resolution.
                    "send_resolved": False,
                    "http_config": {
                        "authorization": {
                            "type": "Bearer",
                            "credentials_file": s.secret_path(SMS_TOKEN_FILE),
                        }
                    },
                }
            ],
        },
    ]
    receivers += [_email_receiver(s, team_receiver(t), s.team_emails[t]) for t in _teams(s)]
    if s.dashboard_webhook_url is not None:
        receivers.append(
            {
                "name": DASHBOARD,
                # The dashboard shows what is firing now, so it must also hear what cleared.
                "webhook_configs": [
                    {
                        "url": s.dashboard_webhook_url,
                        "send_resolved": True,
                        "http_config": {
                            "authorization": {
                                "type": "Bearer",
                                "credentials_file": s.secret_path(OPS_ROOM_TOKEN_FILE),
                            }
                        },
                    }
                ],
            }
        )
    return receivers


def team_receiver(team: str) -> str:
    """Name of the email receiver of one team."""
    return f"{EMAIL}-{team}"


def _teams(s: RoutingSettings) -> list[str]:
    return sorted(s.team_emails)


def _email_receiver(s: RoutingSettings, name: str, to: str) -> dict[str, Any]:
    prefix = f"[{s.environment}] "
    return {
        "name": name,
        "email_configs": [
            {
                "to": to,
                "from": s.email_from,
                "smarthost": s.smarthost,
                "auth_username": s.smtp_username or s.email_from,
                "auth_password_file": s.secret_path(SMTP_PASSWORD_FILE),
                "require_tls": True,
                "send_resolved": True,
                "headers": {"Subject": prefix + '{{ template "email.default.subject" . }}'},
            }
        ],
    }


def _email_step(s: RoutingSettings) -> dict[str, Any]:
    """The email channel: the alert's team receiver, or the general one when none matches.

    A node with no matchers always matches; its first matching team child wins, and when no
    child matches the node delivers to its own receiver, so exactly one email is sent.
    """
    step: dict[str, Any] = {"receiver": EMAIL}
    if s.team_emails:
        step["routes"] = [
            {"receiver": team_receiver(team), "matchers": [_matcher("team", team)]}
            for team in _teams(s)
        ]
    return step


def _fan_out(steps: Sequence[str | dict[str, Any]]) -> list[dict[str, Any]]:
    """Child routes delivering to every channel: all but the last continue to the next."""
    routes: list[dict[str, Any]] = [
        {"receiver": step} if isinstance(step, str) else dict(step) for step in steps
    ]
    for route in routes[:-1]:
        route["continue"] = True
    return routes


def _matcher(label: str, value: str) -> str:
    return f'{label}="{value}"'


def alertmanager_config(s: RoutingSettings) -> dict[str, Any]:
    """The complete ``alertmanager.yaml`` for the settings, as a plain mapping."""
    critical_channels: list[str | dict[str, Any]] = [SMS, _email_step(s), SLACK]
    warning_channels: list[str | dict[str, Any]] = [_email_step(s), SLACK]

    critical_route = {
        "receiver": SLACK,
        "matchers": [_matcher("severity", "critical")],
        # Page fast: 10 s to gather a burst; new alerts joining the group go out within a
        # minute; a page still firing is sent again every 10 min, inside the 15 min answer time.
        "group_wait": "10s",
        "group_interval": "1m",
        "repeat_interval": CRITICAL_REPEAT,
        "routes": _fan_out(critical_channels),
    }
    warning_route = {
        "receiver": SLACK,
        "matchers": [_matcher("severity", "warning")],
        "repeat_interval": WARNING_DEFAULT_REPEAT,
        "routes": [
            *(
                {
                    "receiver": SLACK,
                    "matchers": [_matcher("priority", priority)],
                    "repeat_interval": repeat,
                    "routes": _fan_out(warning_channels),
                }
                for priority, repeat in WARNING_REPEAT.items()
            ),
            # No or unknown priority: the matcher-less route catches it with the 1 h default.
            {"receiver": SLACK, "routes": _fan_out(warning_channels)},
        ],
    }
    info_route = {
        "receiver": SLACK,
        "matchers": [_matcher("severity", "info")],
        "repeat_interval": INFO_REPEAT,
    }
    silenced = {
        "receiver": NULL,
        "matchers": [f'alertname=~"{"|".join(SILENCED_ALERTS)}"'],
    }
    # First and continuing: every alert reaches the screen and then the routes below as if
    # the dashboard were not there. Paced like a page: the room must see it within a minute.
    dashboard = [
        {
            "receiver": DASHBOARD,
            "matchers": [f'alertname!~"{"|".join(SILENCED_ALERTS)}"'],
            "continue": True,
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": CRITICAL_REPEAT,
        }
    ]

    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            # Safety net: whatever no severity route takes is still seen in Slack, at the
            # warning pace.
            "receiver": SLACK,
            "group_by": list(GROUP_BY),
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": WARNING_DEFAULT_REPEAT,
            "routes": [
                *(dashboard if s.dashboard_webhook_url is not None else []),
                silenced,
                critical_route,
                warning_route,
                info_route,
                # Explicit, because a node delivers to its own receiver only when no child
                # matched, and the continuing dashboard route matches every alert.
                {"receiver": SLACK},
            ],
        },
        "inhibit_rules": [
            # Without namespace!="" a cluster-wide critical (no namespace, no service) would
            # equal every other label-less alert on the empty value and mute all of them.
            {
                "source_matchers": [_matcher("severity", "critical"), 'namespace!=""'],
                "target_matchers": ['severity=~"warning|info"'],
                "equal": list(INHIBIT_EQUAL),
            },
            {
                "source_matchers": [_matcher("severity", "warning"), 'namespace!=""'],
                "target_matchers": [_matcher("severity", "info")],
                "equal": list(INHIBIT_EQUAL),
            },
        ],
        "receivers": _receivers(s),
    }


def render_yaml(config: Mapping[str, Any]) -> str:
    """The configuration as Alertmanager reads it, keys in the order written."""
    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)


# ---------------------------------------------------------------------------------------------
# Offline evaluation of the route tree, for the report. It implements Alertmanager's matching
# rules (depth-first, first match wins unless `continue`, a node matches itself when no child
# does, settings inherit downwards); the tests check it against `amtool config routes test`.

_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')
_DURATION_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
_INHERITED = ("group_wait", "group_interval", "repeat_interval")
# Alertmanager's defaults when the root route leaves a timer unset.
_ROOT_DEFAULTS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def parse_duration(text: str) -> float:
    """Seconds in an Alertmanager/Prometheus duration such as ``1h30m`` or ``10s``."""
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise RoutingError(f"not a duration: {text!r}")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def _matches(matchers: Sequence[str], labels: Mapping[str, str]) -> bool:
    for raw in matchers:
        m = _MATCHER.match(raw)
        if m is None:
            raise RoutingError(f"cannot read matcher {raw!r}")
        label, op, value = m.groups()
        actual = labels.get(label, "")
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Delivery:
    """One receiver an alert reaches, with the timers of the route that sent it there."""

    receiver: str
    group_wait: str
    group_interval: str
    repeat_interval: str


def _walk(
    route: Mapping[str, Any], labels: Mapping[str, str], inherited: Mapping[str, str]
) -> list[Delivery]:
    if not _matches(route.get("matchers", []), labels):
        return []
    timers = {k: str(route.get(k, inherited[k])) for k in _INHERITED}
    timers["receiver"] = str(route.get("receiver", inherited["receiver"]))
    found: list[Delivery] = []
    for child in route.get("routes", []):
        hit = _walk(child, labels, timers)
        found.extend(hit)
        if hit and not child.get("continue", False):
            break
    return found or [Delivery(**timers)]


def resolve(config: Mapping[str, Any], labels: Mapping[str, str]) -> list[Delivery]:
    """Where an alert with ``labels`` is delivered, in the order of the route tree."""
    root = config["route"]
    return _walk(root, labels, {**_ROOT_DEFAULTS, "receiver": root["receiver"]})


def routing_table(config: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """``(severity, priority, receivers)`` for every seed severity and priority."""
    return [
        (
            severity,
            priority,
            [d.receiver for d in resolve(config, {"severity": severity, "priority": priority})],
        )
        for severity in SEVERITIES
        for priority in PRIORITIES
    ]
