"""What the application pipeline's release gates take from a service's entry in the stack config.

The k6 performance gate (seed 4.9.2) holds a release to the SLO the canary keeps, so its
thresholds come from the same place as the canary's: the service's ``ttbt2:services[].slo`` in
``Pulumi.<stack>.yaml``, read through the program's own settings model (a stack file the
program would refuse is refused here too, with the same messages). The ephemeral environment
of the ZAP scan runs the service's image on its container port and waits for its health path,
both from the same entry.

    python scripts/service_gates.py --stack staging --service api --out k6-gate \
        --service-script ../tests/performance/k6.js --probe-path /version

writes ``k6-gate/thresholds.json`` and ``k6-gate/gate.js`` (the script ``k6 run`` runs: the
service's own script under the SLO thresholds, or a default probe when the service has none)
and prints ``port=``, ``health-path=``, ``p95-latency-ms=`` and ``success-rate=`` lines for
``$GITHUB_OUTPUT``. Bad input is exit 2 with the key named.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.delivery.spec import ServiceSpec, Slo  # noqa: E402
from config import SettingsError, from_config_values  # noqa: E402
from offline.stackfile import StackFileError, load_stack  # noqa: E402

SERVICES_KEY = "ttbt2:services"
SLO_EXAMPLE = "slo: {successRate: 0.99, p95LatencyMs: 500}"
DEFAULT_VUS = 10
DEFAULT_DURATION = "1m"

Thresholds = dict[str, list[str]]


class GateInputError(ValueError):
    """Input the gate cannot use; the message names the key or option and what is allowed."""


def service_spec(stack: str, service: str, project_dir: Path = ROOT) -> ServiceSpec:
    """The validated ``ttbt2:services`` entry named ``service`` of ``stack``.

    The ``slo`` must be written in the entry: the model's default would let a service pass a
    release gate nobody chose for it.
    """
    stack_file = load_stack(project_dir, stack)
    settings = from_config_values(stack, stack_file.values)
    names = [spec.name for spec in settings.delivery.services]
    if service not in names:
        declared = ", ".join(names) or "none"
        raise GateInputError(
            f"{SERVICES_KEY} of stack {stack!r} has no service named {service!r} "
            f"(declared: {declared}); the release gates read the service's entry there"
        )
    index = names.index(service)
    # The engine's form of a list value is JSON text; the settings above parsed the same text.
    raw_entry: dict[str, Any] = json.loads(stack_file.values[SERVICES_KEY])[index]
    if "slo" not in raw_entry:
        raise GateInputError(
            f"{SERVICES_KEY}[{index}].slo is not set for service {service!r} in "
            f"Pulumi.{stack}.yaml: the performance gate's thresholds come from it; "
            f"set e.g. {SLO_EXAMPLE}"
        )
    return settings.delivery.services[index]


def _plain(number: Decimal) -> str:
    """``0.010`` -> ``0.01``, ``1E+1`` -> ``10``: a literal k6's threshold parser reads."""
    return format(number.normalize(), "f")


def thresholds(slo: Slo) -> Thresholds:
    """k6 thresholds of an SLO: p95 of the request duration and the share of failed requests.

    The error budget is computed in decimal, so 0.99 gives ``rate<0.01`` rather than the
    float ``0.010000000000000009``; an SLO of 1 allows no failed request at all.
    """
    budget = Decimal(1) - Decimal(str(slo.success_rate))
    failed = f"rate<{_plain(budget)}" if budget > 0 else "rate==0"
    return {
        "http_req_duration": [f"p(95)<{slo.p95_latency_ms}"],
        "http_req_failed": [failed],
    }


# The SLO's success rate is the share of requests not answered 5xx: 4xx answers are the
# service's to give and do not count against it, transport errors do (k6 counts them failed).
_RESPONSE_CALLBACK = "http.setResponseCallback(http.expectedStatuses({ min: 100, max: 499 }));"

_WRAPPER = """\
// Written by scripts/service_gates.py: the service's k6 script under the SLO thresholds of its
// ttbt2:services entry. Its own options (load profile, extra thresholds) are kept; thresholds
// on the SLO's metrics are replaced by the SLO's, so no script can loosen the gate.
import http from "k6/http";
import * as service from {spec};
export * from {spec};

const slo = {thresholds};
const own = service.options || {{}};

{callback}

export const options = Object.assign({{}}, own, {{
  thresholds: Object.assign({{}}, own.thresholds || {{}}, slo),
}});
export default service.default;
"""

_DEFAULT = """\
// Written by scripts/service_gates.py: the service has no k6 script of its own, so this probe
// puts a steady load on {path} of BASE_URL and holds it to the SLO thresholds of the
// service's ttbt2:services entry.
import http from "k6/http";
import {{ check }} from "k6";

{callback}

export const options = {{
  vus: {vus},
  duration: "{duration}",
  thresholds: {thresholds},
}};

const target = (__ENV.BASE_URL || "").replace(/\\/+$/, "") + {path_literal};

export default function () {{
  check(http.get(target), {{ "not a server error": (r) => r.status > 0 && r.status < 500 }});
}}
"""


def entry_script(gate: Thresholds, import_spec: str | None, probe_path: str) -> str:
    """The script ``k6 run`` runs: the service's (``import_spec``) wrapped, or the probe."""
    literal = json.dumps(gate, indent=2)
    if import_spec is not None:
        return _WRAPPER.format(
            spec=json.dumps(import_spec), thresholds=literal, callback=_RESPONSE_CALLBACK
        )
    return _DEFAULT.format(
        path=probe_path,
        path_literal=json.dumps(probe_path),
        vus=DEFAULT_VUS,
        duration=DEFAULT_DURATION,
        thresholds=literal.replace("\n", "\n  "),
        callback=_RESPONSE_CALLBACK,
    )


def import_spec(service_script: Path, out: Path) -> str:
    """The relative module specifier of ``service_script`` from a script in ``out``.

    k6 resolves a relative import from the importing file, so the jobs that write and run the
    gate keep the same layout (the caller's checkout at the workspace root).
    """
    relative = os.path.relpath(service_script.resolve(), out.resolve()).replace(os.sep, "/")
    return relative if relative.startswith("../") else f"./{relative}"


def write_gate(
    spec: ServiceSpec, out: Path, service_script: Path | None, probe_path: str
) -> dict[str, str]:
    """Write ``thresholds.json`` and ``gate.js`` into ``out``; the step outputs."""
    if not probe_path.startswith("/"):
        raise GateInputError(f"--probe-path {probe_path!r}: a URL path starting with /")
    gate = thresholds(spec.slo)
    out.mkdir(parents=True, exist_ok=True)
    (out / "thresholds.json").write_text(json.dumps(gate, indent=2) + "\n")
    wrapped = None
    if service_script is not None and service_script.is_file():
        wrapped = import_spec(service_script, out)
    (out / "gate.js").write_text(entry_script(gate, wrapped, probe_path))
    return {
        "port": str(spec.port),
        "health-path": spec.health_path,
        "p95-latency-ms": str(spec.slo.p95_latency_ms),
        "success-rate": str(spec.slo.success_rate),
        "k6-script": "service" if wrapped else "default",
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack whose Pulumi.<stack>.yaml to read")
    parser.add_argument("--service", required=True, help="name in ttbt2:services")
    parser.add_argument("--out", required=True, type=Path, help="folder for gate.js")
    parser.add_argument(
        "--service-script",
        type=Path,
        default=None,
        help="the service's own k6 script; when missing, the default probe is written",
    )
    parser.add_argument("--probe-path", default="/version", help="path the default probe requests")
    return parser


def main(argv: list[str] | None = None, project_dir: Path = ROOT) -> int:
    """Entry point: exit 0 and ``key=value`` lines, or exit 2 with an error annotation."""
    args = _parser().parse_args(argv)
    try:
        spec = service_spec(args.stack, args.service, project_dir)
        outputs = write_gate(spec, args.out, args.service_script, args.probe_path)
    except (StackFileError, SettingsError, GateInputError) as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 2
    for key, value in outputs.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
