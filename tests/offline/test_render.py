"""``python -m offline render``: the artifacts a stack would deploy, valid for upstream tools."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from components.monitoring import dashboards
from offline.cli import EXIT_OK, EXIT_USAGE, main
from offline.graph import SECRET_SIG, SECRET_SIG_KEY, Resource, StackGraph
from offline.render import manifest, render
from tests.conftest import ROOT
from tests.support.stacks import StackRenders
from tests.support.validate.crds import index_crds, validate_custom_resource

# Each stack configuration is rendered once per session, not once per CLI run.
pytestmark = pytest.mark.usefixtures("session_engine")

CRD_DIRS = sorted((ROOT / "vendor" / "charts").glob("*/crds"))


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_render_writes_manifests_that_validate(stack: str, tmp_path: Path) -> None:
    code, text = run("render", "--stack", stack, "--out", str(tmp_path))
    assert code == EXIT_OK, text
    manifests = sorted((tmp_path / "manifests").glob("*.yaml"))
    assert manifests
    for path in manifests:
        obj = yaml.safe_load(path.read_text())
        assert list(obj)[:3] == ["apiVersion", "kind", "metadata"], path.name
        group, _, version = obj["apiVersion"].rpartition("/")
        # A kind a vendored CRD defines is a custom resource (autoscaling.k8s.io's VPA too);
        # everything else must be a built-in kind of Kubernetes 1.33.
        if (group, version, obj["kind"]) in index_crds(CRD_DIRS):
            assert validate_custom_resource(obj, CRD_DIRS) == [], path.name
        else:
            kubernetes_validate.validate(obj, "1.33", strict=True)
    assert (tmp_path / "helm").is_dir()


def test_render_masks_secrets(tmp_path: Path) -> None:
    secret = {SECRET_SIG_KEY: SECRET_SIG, "value": "s3cr3t-value"}
    res = Resource(
        "urn:pulumi:dev::p::kubernetes:core/v1:Secret::s",
        "kubernetes:core/v1:Secret",
        "s",
        props={"metadata": {"name": "s"}, "stringData": {"password": secret}},
    )
    written = render(StackGraph("p", "dev", [res]), tmp_path)
    text = "".join(p.read_text() for p in written)
    assert "s3cr3t-value" not in text and "[secret]" in text
    assert manifest(res) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"password": "[secret]"},
    }


def test_non_kubernetes_resources_are_not_manifests(stacks: StackRenders) -> None:
    vpc = next(r for r in stacks.graph("dev").resources if r.type == "aws:ec2/vpc:Vpc")
    assert manifest(vpc) is None


def test_render_needs_a_stack(tmp_path: Path) -> None:
    code, text = run("render", "--out", str(tmp_path))
    assert code == EXIT_USAGE and "--stack NAME or --config-file" in text


def test_render_bad_config_is_exit_2(tmp_path: Path, stack_file: Callable[..., Path]) -> None:
    path = stack_file("bad", base="prod", natGatewayMode="single")
    code, text = run("render", "--config-file", str(path), "--out", str(tmp_path))
    assert code == EXIT_USAGE and "ttbt2:natGatewayMode" in text


def test_rendered_rules_and_alertmanager_config_pass_the_real_tools(tmp_path: Path) -> None:
    import subprocess

    code, text = run("render", "--stack", "prod", "--out", str(tmp_path))
    assert code == EXIT_OK, text
    rules = sorted((tmp_path / "rules").glob("*.yaml"))
    assert rules
    checked = subprocess.run(
        ["promtool", "check", "rules", *map(str, rules)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = tmp_path / "alertmanager.yaml"
    amtool = subprocess.run(
        ["amtool", "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert amtool.returncode == 0, amtool.stdout + amtool.stderr
    routed = subprocess.run(
        [
            "amtool",
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            "severity=critical",
            "priority=critical",
            "namespace=ttbt2",
            "service=api",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert set(routed.stdout.strip().split(",")) == {"sms", "email", "slack"}
    assert len(sorted((tmp_path / "dashboards").glob("*.json"))) == len(dashboards.dashboards())
