"""The installers workflow (.github/workflows/installers.yml, which runs on GitHub, not here): on each of Linux,
macOS and Windows it builds the installer, smoke-tests it (the demo window rendered to a PNG, an image generated with
the bundled CLI) and uploads it, with a Python where PySide6 cannot drop references to None."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
RUNNER_OS = {"ubuntu": "Linux", "macos": "macOS", "windows": "Windows"}
BUILD = {"Linux": "packaging/build_linux.sh", "macOS": "packaging/macos/build_macos.sh",
         "Windows": "packaging/windows/build_windows.ps1"}  # fmt: skip
SMOKE = {"Linux": "packaging/check_deb.sh", "macOS": "packaging/macos/smoke_dmg.sh",
         "Windows": "packaging/windows/smoke_installer.ps1"}  # fmt: skip
# What each build writes (the names the build scripts give their installers).
BUILT = {"Linux": ["build/diffviews-desktop_0.1.0_amd64.deb", "build/diffviews-desktop-0.1.0-linux-x86_64.tar.xz"],
         "macOS": ["build/DiffViews-Desktop-0.1.0-macos-arm64.dmg"],
         "Windows": ["build/DiffViews-Desktop-0.1.0-windows-x64-setup.exe"]}  # fmt: skip


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "installers.yml").read_text())


@pytest.fixture(scope="module")
def job(workflow) -> dict:
    (job,) = workflow["jobs"].values()
    return job


def matrix_entries(job) -> dict[str, dict]:
    return {RUNNER_OS[entry["os"].split("-")[0]]: entry for entry in job["strategy"]["matrix"]["include"]}


def steps_on(job, runner_os: str) -> list[dict]:
    """The steps that run on that OS: those without a condition or whose runner.os condition admits it."""
    chosen = []
    for step in job["steps"]:
        condition = step.get("if", "").replace('"', "'")
        if not condition:
            chosen.append(step)
        elif "runner.os ==" in condition:
            if f"runner.os == '{runner_os}'" in condition:
                chosen.append(step)
        elif "runner.os !=" in condition:
            if f"runner.os != '{runner_os}'" not in condition:
                chosen.append(step)
        else:
            raise AssertionError(f"unexpected condition {condition!r}")
    return chosen


def test_triggers_and_matrix(workflow, job):
    triggers = workflow.get("on", workflow.get(True))  # PyYAML reads the bare key `on` as True
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    assert job["runs-on"] == "${{ matrix.os }}"
    assert set(matrix_entries(job)) == {"Linux", "macOS", "Windows"}
    assert job["strategy"]["fail-fast"] is False


@pytest.mark.parametrize("runner_os", ["Linux", "macOS", "Windows"])
def test_each_os_builds_smoke_tests_and_uploads(job, runner_os):
    steps = steps_on(job, runner_os)
    runs = [step.get("run", "") for step in steps]
    build = [i for i, run in enumerate(runs) if BUILD[runner_os] in run]
    smoke = [i for i, run in enumerate(runs) if SMOKE[runner_os] in run]
    upload = [i for i, step in enumerate(steps) if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert build and smoke and upload, f"{runner_os}: build {build}, smoke test {smoke}, upload {upload}"
    assert build[0] < smoke[0] < upload[0], "built, then smoke-tested, then uploaded"
    for script in (BUILD[runner_os], SMOKE[runner_os]):
        assert (ROOT / script).is_file(), script


@pytest.mark.parametrize("runner_os", ["Linux", "macOS", "Windows"])
def test_smoke_tests_open_the_window_and_generate(runner_os):
    script = (ROOT / SMOKE[runner_os]).read_text()
    assert "--screenshot" in script
    assert "generate" in script and "--demo" in script


@pytest.mark.parametrize("runner_os", ["Linux", "macOS", "Windows"])
def test_upload_finds_what_the_build_writes(job, runner_os):
    (upload,) = [s for s in steps_on(job, runner_os) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["path"] == "${{ matrix.installer }}"
    assert upload["with"]["if-no-files-found"] == "error"
    patterns = matrix_entries(job)[runner_os]["installer"].split()
    for built in BUILT[runner_os]:
        assert any(fnmatch.fnmatch(built, pattern) for pattern in patterns), (built, patterns)


def test_bundled_python_has_immortal_none(job):
    (setup,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    major, minor = map(int, str(setup["with"]["python-version"]).split(".")[:2])
    assert (major, minor) >= (3, 12), "PySide6 6.12 drops references to None on Python < 3.12"
    for runner_os in ("Linux", "macOS", "Windows"):
        assert "check_refcounts.py" in (ROOT / BUILD[runner_os]).read_text()
