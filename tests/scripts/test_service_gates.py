"""scripts/service_gates.py: the k6 gate and the ephemeral environment from ttbt2:services."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from components.delivery.spec import Slo
from config import SettingsError
from scripts import service_gates
from tests.support.stacks import raw_settings

ROOT = Path(__file__).resolve().parents[2]


def _project_with(tmp_path: Path, stack_text: str) -> Path:
    """A project folder holding the real Pulumi.yaml and ``stack_text`` as stack ``qa``."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.qa.yaml").write_text(stack_text)
    return tmp_path


def _staging_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "Pulumi.staging.yaml").read_text()
    assert text.count(old) >= 1, old
    return _project_with(tmp_path, text.replace(old, new, 1))


STAGING_API_SLO = "slo: {successRate: 0.99, p95LatencyMs: 500}"


# ---------------------------------------------------------------------------------------------
# thresholds from the stack file


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_thresholds_of_the_repository_stacks(stack: str) -> None:
    """The api's SLO in the real stack files becomes the brief's thresholds."""
    spec = service_gates.service_spec(stack, "api")
    assert service_gates.thresholds(spec.slo) == {
        "http_req_duration": ["p(95)<500"],
        "http_req_failed": ["rate<0.01"],
    }
    (raw,) = [s for s in raw_settings(stack)["services"] if s["name"] == "api"]
    assert spec.port == raw["port"] and spec.health_path == raw["healthPath"]


def test_a_changed_slo_is_what_the_gate_holds(tmp_path: Path) -> None:
    """The stack file is the one source: change the SLO there and the thresholds follow."""
    project = _staging_with(
        tmp_path, STAGING_API_SLO, "slo: {successRate: 0.995, p95LatencyMs: 750}"
    )
    spec = service_gates.service_spec("qa", "api", project)
    assert service_gates.thresholds(spec.slo) == {
        "http_req_duration": ["p(95)<750"],
        "http_req_failed": ["rate<0.005"],
    }


@pytest.mark.parametrize(
    ("success_rate", "expected"),
    [(0.99, "rate<0.01"), (0.999, "rate<0.001"), (0.9, "rate<0.1"), (1.0, "rate==0")],
)
def test_error_budget_is_exact(success_rate: float, expected: str) -> None:
    """Decimal arithmetic: no 0.010000000000000009; an SLO of 1 allows no failure at all."""
    slo = Slo(success_rate=success_rate, p95_latency_ms=300)
    assert service_gates.thresholds(slo)["http_req_failed"] == [expected]


def test_a_service_without_slo_names_the_key(tmp_path: Path) -> None:
    """The model's default SLO is not a gate anybody chose: the entry must write one."""
    project = _staging_with(tmp_path, f"      {STAGING_API_SLO}\n", "")
    with pytest.raises(service_gates.GateInputError) as caught:
        service_gates.service_spec("qa", "api", project)
    message = str(caught.value)
    assert "ttbt2:services[0].slo is not set for service 'api'" in message
    assert "successRate" in message and "p95LatencyMs" in message


def test_an_unknown_service_names_the_declared_ones() -> None:
    with pytest.raises(service_gates.GateInputError, match=r"no service named 'billing'") as e:
        service_gates.service_spec("staging", "billing")
    assert "ttbt2:services of stack 'staging'" in str(e.value) and "api" in str(e.value)


def test_an_invalid_slo_is_refused_by_the_program_s_own_validation(tmp_path: Path) -> None:
    """Same validation as the program: a success rate above 1 fails with the key named."""
    project = _staging_with(tmp_path, "successRate: 0.99", "successRate: 1.5")
    with pytest.raises(SettingsError, match=r"services\[0\]\.slo\.successRate"):
        service_gates.service_spec("qa", "api", project)


# ---------------------------------------------------------------------------------------------
# the script k6 runs


def test_default_probe_without_a_service_script(tmp_path: Path) -> None:
    spec = service_gates.service_spec("staging", "api")
    outputs = service_gates.write_gate(spec, tmp_path / "k6-gate", tmp_path / "none.js", "/ver")
    assert outputs["k6-script"] == "default"
    gate = (tmp_path / "k6-gate" / "gate.js").read_text()
    assert '"/ver"' in gate and '"p(95)<500"' in gate and '"rate<0.01"' in gate
    assert "import * as service" not in gate
    assert json.loads((tmp_path / "k6-gate" / "thresholds.json").read_text()) == (
        service_gates.thresholds(spec.slo)
    )


def test_the_service_script_is_imported_relative_to_the_gate(tmp_path: Path) -> None:
    script = tmp_path / "svc" / "tests" / "performance" / "k6.js"
    script.parent.mkdir(parents=True)
    script.write_text("export default function () {}\n")
    spec = service_gates.service_spec("staging", "api")
    outputs = service_gates.write_gate(spec, tmp_path / "k6-gate", script, "/version")
    assert outputs == {
        "port": "8080",
        "health-path": "/api/healthz",
        "p95-latency-ms": "500",
        "success-rate": "0.99",
        "k6-script": "service",
    }
    gate = (tmp_path / "k6-gate" / "gate.js").read_text()
    assert 'from "../svc/tests/performance/k6.js"' in gate
    assert service_gates.import_spec(tmp_path / "k6-gate" / "a.js", tmp_path / "k6-gate") == (
        "./a.js"
    )


_K6_STUBS = {
    "package.json": '{"type": "module"}',
    "node_modules/k6/package.json": (
        '{"type": "module", "exports": {".": "./index.js", "./http": "./http.js"}}'
    ),
    "node_modules/k6/index.js": "export function check() { return true; }\n",
    # k6's global of the -e/environment variables, set before gate.js evaluates.
    "env.js": 'globalThis.__ENV = { BASE_URL: "https://staging.example/" };\n',
    "node_modules/k6/http.js": (
        "export const calls = [];\n"
        "export default {\n"
        "  expectedStatuses: (range) => ({ expected: range }),\n"
        "  setResponseCallback: (cb) => calls.push(cb),\n"
        "  get: (url) => { calls.push(url); return { status: 200 }; },\n"
        "};\n"
    ),
}

_SERVICE_SCRIPT = """\
export const options = {
  vus: 50,
  duration: "5m",
  thresholds: { http_req_duration: ["p(95)<9000"], checks: ["rate>0.99"] },
};
export function setup() { return { token: "t" }; }
export function browse(data) { return data; }
export default function (data) { return data; }
"""

_PROBE = """\
import "./env.js";
import * as gate from "./k6-gate/gate.js";
import { calls } from "k6/http";
gate.default({});
process.stdout.write(JSON.stringify({
  options: gate.options,
  exported: Object.keys(gate).sort(),
  setup: typeof gate.setup,
  defaultIsService: typeof gate.default === "function",
  callbacks: calls,
}));
"""


def _evaluate(tmp_path: Path, service_script: str | None) -> dict[str, object]:
    """Load gate.js as an ES module in node, k6's modules stubbed; what it exports."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH (make test installs it)")
    for name, text in _K6_STUBS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    script = tmp_path / "svc" / "k6.js"
    script.parent.mkdir()
    if service_script is not None:
        script.write_text(service_script)
    spec = service_gates.service_spec("staging", "api")
    service_gates.write_gate(spec, tmp_path / "k6-gate", script, "/version")
    (tmp_path / "probe.js").write_text(_PROBE)
    proc = subprocess.run(
        [node, "probe.js"], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_the_wrapper_keeps_the_load_and_replaces_the_slo_thresholds(tmp_path: Path) -> None:
    """In a real ES module engine: the service's looser p95 is replaced, its extras stay.

    Its load profile, its own extra threshold, setup and scenario functions survive; only
    5xx count as failed requests.
    """
    result = _evaluate(tmp_path, _SERVICE_SCRIPT)
    assert result["options"] == {
        "vus": 50,
        "duration": "5m",
        "thresholds": {
            "http_req_duration": ["p(95)<500"],
            "checks": ["rate>0.99"],
            "http_req_failed": ["rate<0.01"],
        },
    }
    assert result["exported"] == ["browse", "default", "options", "setup"]
    assert result["setup"] == "function" and result["defaultIsService"] is True
    # Only 5xx count as failed; the default function is the service's (it requests nothing).
    assert result["callbacks"] == [{"expected": {"min": 100, "max": 499}}]


def test_the_default_probe_evaluates(tmp_path: Path) -> None:
    result = _evaluate(tmp_path, None)
    assert result["options"] == {
        "vus": service_gates.DEFAULT_VUS,
        "duration": service_gates.DEFAULT_DURATION,
        "thresholds": {"http_req_duration": ["p(95)<500"], "http_req_failed": ["rate<0.01"]},
    }
    assert result["exported"] == ["default", "options"]
    # One request to the probe path of BASE_URL (its trailing slash dropped).
    assert result["callbacks"] == [
        {"expected": {"min": 100, "max": 499}},
        "https://staging.example/version",
    ]


# ---------------------------------------------------------------------------------------------
# command line


def test_main_writes_the_gate_and_prints_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "k6-gate"
    rc = service_gates.main(["--stack", "staging", "--service", "api", "--out", str(out)])
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert "port=8080" in lines and "health-path=/api/healthz" in lines
    assert (out / "gate.js").is_file() and (out / "thresholds.json").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stack", "nope", "--service", "api"], "no such stack file"),
        (["--stack", "staging", "--service", "billing"], "no service named 'billing'"),
        (["--stack", "staging", "--service", "api", "--probe-path", "version"], "--probe-path"),
    ],
)
def test_bad_input_is_exit_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    rc = service_gates.main([*argv, "--out", str(tmp_path / "k6-gate")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("::error::") and message in err


def test_a_missing_slo_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _staging_with(tmp_path, f"      {STAGING_API_SLO}\n", "")
    argv = ["--stack", "qa", "--service", "api", "--out", str(tmp_path / "k6-gate")]
    assert service_gates.main(argv, project) == 2
    assert "ttbt2:services[0].slo" in capsys.readouterr().err
