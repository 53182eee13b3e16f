"""The blocking ZAP scan of the application pipeline: its plan, and the verdict on its report.

The scan runs ZAP's Automation Framework against the service started for the run in an
ephemeral, isolated Docker network (never a shared environment): the OpenAPI spec is
imported with its server replaced by the ephemeral target, ZAP spiders nothing else, runs
its active scan and writes the traditional JSON report. ZAP's own exit status says whether
the plan ran, not what it found, so the verdict comes from the report: any alert of High
risk (``riskcode`` 3) fails the job, whatever a rules file says.

    python scripts/zap_gate.py plan --spec /zap/wrk/openapi.yaml --target http://service:8080 \
        --out zap/plan.yaml
    python scripts/zap_gate.py check zap/report.json     # exit 1 on a High alert

Standard library only: it runs on a bare runner with the system python3.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HIGH = 3
RISKS = {0: "Informational", 1: "Low", 2: "Medium", 3: "High"}
REPORT_FILE = "report.json"
HTML_REPORT_FILE = "report.html"


class ReportError(ValueError):
    """A report that is not ZAP's traditional JSON report; the message says what is wrong."""


def plan(
    spec: str, target: str, report_dir: str = "/zap/wrk", max_minutes: int = 20
) -> dict[str, Any]:
    """The Automation Framework plan: import the spec against ``target``, scan, report.

    Written as JSON, which is YAML too (ZAP reads plans as YAML).
    """
    parsed = urllib.parse.urlsplit(target)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"--target {target!r}: an http(s) URL of the ephemeral service")
    if max_minutes < 1:
        raise ValueError(f"--max-minutes {max_minutes}: at least 1")
    return {
        "env": {
            "contexts": [{"name": "ephemeral", "urls": [target.rstrip("/") + "/"]}],
            # An error (the spec does not import, the target does not answer) stops the plan;
            # warnings are the report's business, judged by ``check``.
            "parameters": {"failOnError": True, "failOnWarning": False, "progressToStdout": True},
        },
        "jobs": [
            {
                "type": "openapi",
                "parameters": {"apiFile": spec, "targetUrl": target, "context": "ephemeral"},
            },
            {"type": "passiveScan-wait", "parameters": {"maxDuration": 5}},
            {
                "type": "activeScan",
                "parameters": {"context": "ephemeral", "maxScanDurationInMins": max_minutes},
            },
            {"type": "passiveScan-wait", "parameters": {"maxDuration": 5}},
            {
                "type": "report",
                "parameters": {
                    "template": "traditional-json",
                    "reportDir": report_dir,
                    "reportFile": REPORT_FILE,
                },
            },
            {
                "type": "report",
                "parameters": {
                    "template": "traditional-html",
                    "reportDir": report_dir,
                    "reportFile": HTML_REPORT_FILE,
                },
            },
        ],
    }


def alerts(report: Any) -> list[dict[str, Any]]:
    """Every alert of a traditional JSON report, with the site it was found on."""
    if not isinstance(report, dict) or not isinstance(report.get("site"), list):
        raise ReportError("not a ZAP traditional JSON report: no 'site' list")
    found: list[dict[str, Any]] = []
    for site in report["site"]:
        if not isinstance(site, dict):
            raise ReportError("a 'site' entry is not an object")
        for alert in site.get("alerts") or []:
            if not isinstance(alert, dict) or "riskcode" not in alert:
                raise ReportError(f"an alert of {site.get('@name')!r} has no riskcode")
            found.append({**alert, "site": site.get("@name", "")})
    return found


def risk(alert: dict[str, Any]) -> int:
    """The alert's risk code (ZAP writes it as a string, ``"3"`` for High)."""
    try:
        return int(alert["riskcode"])
    except (TypeError, ValueError):
        raise ReportError(f"riskcode {alert['riskcode']!r} is not a number 0-3") from None


def high_alerts(report: Any) -> list[str]:
    """One line per High alert: ``name [plugin id] on site (N instances)``."""
    lines = []
    for alert in alerts(report):
        if risk(alert) >= HIGH:
            count = alert.get("count") or len(alert.get("instances") or [])
            lines.append(
                f"{alert.get('name') or alert.get('alert')} [{alert.get('pluginid')}] "
                f"on {alert['site']} ({count} instances)"
            )
    return lines


def summary(report: Any) -> str:
    """Alert counts by risk, e.g. ``High 0, Medium 2, Low 5, Informational 1``."""
    counts = {name: 0 for name in reversed(RISKS.values())}
    for alert in alerts(report):
        counts[RISKS.get(risk(alert), "High")] += 1
    return ", ".join(f"{name} {count}" for name, count in counts.items())


def main(argv: Sequence[str] | None = None) -> int:
    """``plan`` writes the plan; ``check`` is 0 (no High), 1 (High alerts) or 2 (no report)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("plan", help="write the Automation Framework plan")
    make.add_argument("--spec", required=True, help="OpenAPI file as ZAP's container sees it")
    make.add_argument("--target", required=True, help="URL of the ephemeral service")
    make.add_argument("--out", required=True, type=Path)
    make.add_argument("--report-dir", default="/zap/wrk")
    make.add_argument("--max-minutes", type=int, default=20, help="longest active scan")
    judge = commands.add_parser("check", help="fail on a High alert in the JSON report")
    judge.add_argument("report", type=Path)
    args = parser.parse_args(argv)

    if args.command == "plan":
        try:
            text = json.dumps(
                plan(args.spec, args.target, args.report_dir, args.max_minutes), indent=2
            )
        except ValueError as exc:
            print(f"::error::{exc}", file=sys.stderr)
            return 2
        args.out.write_text(text + "\n")
        return 0

    try:
        report = json.loads(args.report.read_text())
        high = high_alerts(report)
        counts = summary(report)
    except (OSError, json.JSONDecodeError, ReportError) as exc:
        print(f"::error::no usable ZAP report at {args.report}: {exc}", file=sys.stderr)
        return 2
    print(f"ZAP alerts: {counts}")
    for line in high:
        print(f"::error::ZAP High alert: {line}")
    return 1 if high else 0


if __name__ == "__main__":
    sys.exit(main())
