"""``render``'s configuration-repository folder and ``python -m offline check-gitops`` on it."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import from_config_values
from offline import cli
from offline.cli import EXIT_OK, EXIT_USAGE, EXIT_VIOLATION, main
from offline.gitops import apply_images
from offline.stackfile import load_stack
from scripts.validate_gitops_schemas import main as validate_schemas
from tests.conftest import ROOT
from tests.support.stacks import StackRenders
from tests.support.validate.crds import validate_custom_resource

# Each stack configuration is rendered once per session, not once per CLI run.
pytestmark = pytest.mark.usefixtures("session_engine")

CRD_DIRS = [ROOT / "vendor" / "charts" / "argo-rollouts" / "crds"]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, stacks: StackRenders) -> Path:
    """Prod rendered once for the module; tests edit copies of its gitops folder."""
    out = tmp_path_factory.mktemp("prod-render")
    # A module fixture is set up before the tests' session_engine: the graph is the session's.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "run_stack", stacks.run_stack)
        code, text = run("render", "--stack", "prod", "--out", str(out))
    assert code == EXIT_OK, text
    return out


@pytest.fixture
def checkout(rendered: Path, tmp_path: Path) -> Path:
    """A copy of the rendered folder laid out as the configuration repository's root."""
    shutil.copytree(rendered / "gitops", tmp_path / "repo")
    return tmp_path / "repo"


def _services() -> list[str]:
    values = load_stack(ROOT, "prod").values
    return [svc.name for svc in from_config_values("prod", values).delivery.services]


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_render_holds_a_hardened_rollout_per_service_namespace(rendered: Path) -> None:
    services = _services()
    assert services
    for name in services:
        folder = rendered / "gitops" / "envs" / "prod" / name
        rollout = yaml.safe_load((folder / "rollout.yaml").read_text())
        assert (rollout["kind"], rollout["metadata"]["name"]) == ("Rollout", name)
        assert rollout["metadata"]["namespace"] == name
        pod = rollout["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"]["drop"] == ["ALL"]
            assert "@sha256:" in container["image"]
        assert validate_custom_resource(rollout, CRD_DIRS) == []
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        assert kustomization["resources"] == ["rollout.yaml"]
    project = yaml.safe_load((rendered / "gitops/envs/prod/appproject.yaml").read_text())
    assert sorted(d["namespace"] for d in project["spec"]["destinations"]) == sorted(services)


def test_check_gitops_passes_the_render(rendered: Path) -> None:
    code, text = run("check-gitops", str(rendered), "--stack", "prod")
    assert code == EXIT_OK, text
    assert "no violations" in text


def test_a_rollout_running_as_root_fails(checkout: Path) -> None:
    def as_root(doc: dict[str, Any]) -> None:
        pod = doc["spec"]["template"]["spec"]
        pod["securityContext"]["runAsNonRoot"] = False
        pod["securityContext"]["runAsUser"] = 0
        for container in pod["containers"]:
            container["securityContext"]["runAsNonRoot"] = False
            container["securityContext"]["runAsUser"] = 0

    name = _services()[0]
    _edit(checkout / "envs" / "prod" / name / "rollout.yaml", as_root)
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert (
        f"k8s-run-as-non-root  (kubernetes:argoproj.io:Rollout: envs/prod/{name}/rollout.yaml)"
        in text
    )


def test_a_one_hour_pause_fails_the_plan_and_the_rollback_time(checkout: Path) -> None:
    name = _services()[-1]

    def pause(doc: dict[str, Any]) -> None:
        doc["spec"]["strategy"]["canary"]["steps"].insert(0, {"pause": {"duration": "1h"}})

    _edit(checkout / "envs" / "prod" / name / "rollout.yaml", pause)
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert f"service {name}: envs/prod/{name}/rollout.yaml has steps" in text
    assert f"service {name}: worst-case rollback takes" in text
    assert "gitops-canary-plan" in text and "gitops-rollback-time" in text


def test_a_pause_after_the_analysis_starts_still_breaks_the_plan(checkout: Path) -> None:
    name = _services()[0]

    def pause(doc: dict[str, Any]) -> None:
        doc["spec"]["strategy"]["canary"]["steps"].append({"pause": {"duration": 3600}})

    _edit(checkout / "envs" / "prod" / name / "rollout.yaml", pause)
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert "gitops-canary-plan" in text
    assert "gitops-rollback-time" not in text


def test_a_rollout_without_its_analysis_fails_the_plan(checkout: Path) -> None:
    name = _services()[0]

    def no_analysis(doc: dict[str, Any]) -> None:
        del doc["spec"]["strategy"]["canary"]["analysis"]

    _edit(checkout / "envs" / "prod" / name / "rollout.yaml", no_analysis)
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert f"service {name}: envs/prod/{name}/rollout.yaml: strategy.canary.analysis is None" in (
        text
    )


def test_an_object_pulumi_applies_fails(checkout: Path) -> None:
    name = _services()[0]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{name}-canary"},
        "spec": {"ports": [{"port": 80}]},
    }
    (checkout / "envs" / "prod" / name / "service.yaml").write_text(yaml.safe_dump(service))
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert f"envs/prod/{name}/service.yaml: Service {name}-canary is applied by Pulumi" in text


def test_an_image_by_tag_in_prod_fails(checkout: Path) -> None:
    name = _services()[0]
    folder = checkout / "envs" / "prod" / name
    image = yaml.safe_load((folder / "rollout.yaml").read_text())["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]
    repository = image.split("@")[0].rsplit(":", 1)[0]

    def by_tag(doc: dict[str, Any]) -> None:
        doc["images"] = [{"name": repository, "newTag": "2026.12.1"}]

    # The pipeline's `kustomize edit set image` writes here; Argo CD applies the override.
    _edit(folder / "kustomization.yaml", by_tag)
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert f"envs/prod/{name}/rollout.yaml: image {repository}:2026.12.1 is not pinned" in text


def test_a_kind_outside_the_appproject_fails(checkout: Path) -> None:
    name = _services()[0]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {}}
    (checkout / "envs" / "prod" / name / "secret.yaml").write_text(yaml.safe_dump(secret))
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert f"envs/prod/{name}/secret.yaml: core/Secret is not allowed" in text


def test_a_folder_outside_the_service_namespaces_fails(checkout: Path) -> None:
    name = _services()[0]
    shutil.copytree(checkout / "envs" / "prod" / name, checkout / "envs" / "prod" / "kube-system")
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert "folder kube-system is not a service namespace of stack prod" in text


def test_a_missing_rollout_fails(checkout: Path) -> None:
    name = _services()[0]
    (checkout / "envs" / "prod" / name / "rollout.yaml").unlink()
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_VIOLATION, text
    assert f"service {name}: no Rollout {name} under envs/prod/{name}" in text


def test_unreadable_yaml_is_exit_2_naming_the_file(checkout: Path) -> None:
    name = _services()[0]
    (checkout / "envs" / "prod" / name / "rollout.yaml").write_text("spec: [unclosed\n")
    code, text = run("check-gitops", str(checkout), "--stack", "prod")
    assert code == EXIT_USAGE, text
    assert f"error: envs/prod/{name}/rollout.yaml: not valid YAML (line 2" in text


def test_a_folder_without_the_environment_is_exit_2(tmp_path: Path) -> None:
    code, text = run("check-gitops", str(tmp_path), "--stack", "prod")
    assert code == EXIT_USAGE, text
    assert "no envs/prod folder" in text


def test_a_stack_without_a_configuration_repository_is_exit_2(rendered: Path) -> None:
    code, text = run("check-gitops", str(rendered), "--stack", "dev")
    assert code == EXIT_USAGE, text
    assert "stack 'dev' has no ttbt2:appConfigRepo" in text


def test_kustomize_images_replace_the_matching_container_only() -> None:
    doc = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "image": "r.example/a:1"},
                        {"name": "b", "image": "r.example/b:1"},
                    ]
                }
            }
        }
    }
    digest = "sha256:" + "0" * 64
    apply_images(doc, {"images": [{"name": "r.example/a", "digest": digest}]})
    images = [c["image"] for c in doc["spec"]["template"]["spec"]["containers"]]
    assert images == [f"r.example/a@{digest}", "r.example/b:1"]


def test_the_render_validates_against_the_vendored_crds(rendered: Path) -> None:
    assert validate_schemas([str(rendered), "--stack", "prod"]) == 0


def test_an_unknown_rollout_field_fails_schema_validation(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = _services()[0]

    def typo(doc: dict[str, Any]) -> None:
        doc["spec"]["revisionHistoryLimt"] = doc["spec"].pop("revisionHistoryLimit")

    _edit(checkout / "envs" / "prod" / name / "rollout.yaml", typo)
    assert validate_schemas([str(checkout), "--stack", "prod"]) == 1
    assert f"envs/prod/{name}/rollout.yaml: Rollout {name}: $.spec.revisionHistoryLimt" in (
        capsys.readouterr().out
    )


def test_each_rollout_mounts_the_vault_secrets_of_its_namespace(rendered: Path) -> None:
    """As where Pulumi applies the Rollout: the Secrets the stack syncs there, as files."""
    synced: dict[str, set[str]] = {}
    for path in (rendered / "manifests").glob("vault*secret-*.yaml"):
        obj = yaml.safe_load(path.read_text())
        if obj["kind"] in ("VaultStaticSecret", "VaultDynamicSecret"):
            namespace = obj["metadata"]["namespace"]
            synced.setdefault(namespace, set()).add(obj["spec"]["destination"]["name"])
    mounted_somewhere = False
    for name in _services():
        rollout = yaml.safe_load((rendered / f"gitops/envs/prod/{name}/rollout.yaml").read_text())
        volumes = rollout["spec"]["template"]["spec"]["volumes"]
        secrets = {v["secret"]["secretName"] for v in volumes if "secret" in v}
        assert secrets == synced.get(name, set()), name
        mounted_somewhere |= bool(secrets)
    assert mounted_somewhere
