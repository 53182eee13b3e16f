"""scripts/stack_clouds.py: which clouds the per-stack workflow authenticates to."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts import stack_clouds

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("dev", {"aws": True, "gcp": False, "azure": False}),
        ("staging", {"aws": True, "gcp": True, "azure": True}),
        ("prod", {"aws": True, "gcp": True, "azure": True}),
    ],
)
def test_clouds_of_the_repository_stacks(stack: str, expected: dict[str, bool]) -> None:
    assert stack_clouds.clouds(stack) == expected


def test_main_prints_github_output_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert stack_clouds.main(["staging"]) == 0
    assert capsys.readouterr().out.splitlines() == ["aws=true", "gcp=true", "azure=true"]


def _project_with(tmp_path: Path, stack_text: str) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.qa.yaml").write_text(stack_text)
    return tmp_path


def test_a_switch_turned_on_in_dev_is_reported(tmp_path: Path) -> None:
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    text = text.replace("ttbt2:gcpEnabled: false", "ttbt2:gcpEnabled: true")
    # Turning GCP on takes what it needs: the project and the billing account its budget uses.
    text += (
        "  ttbt2:gcpProject: ttbt2-analytics-dev\n  ttbt2:gcpBillingAccount: 01A2B3-C4D5E6-F7A8B9\n"
    )
    project = _project_with(tmp_path, text.replace("Pulumi.dev", "Pulumi.qa"))
    assert stack_clouds.clouds("qa", project)["gcp"] is True


def test_bad_stack_file_is_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "Pulumi.staging.yaml").read_text()
    text = text.replace("ttbt2:azureEnabled: true", "ttbt2:azureEnabled: false")
    project = _project_with(tmp_path, text)
    assert stack_clouds.main(["qa"], project) == 2
    assert "azureEnabled" in capsys.readouterr().err


def test_unknown_stack_and_usage_are_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert stack_clouds.main(["nope"]) == 2
    assert "no such stack file" in capsys.readouterr().err
    assert stack_clouds.main([]) == 2
    assert "usage" in capsys.readouterr().err
