"""The frozen bundle's entry points and runtime hook name modules that exist, the same ones pyproject.toml's
console scripts name, so that moving the app or the CLI cannot silently break the installers (the spec itself
collects whole packages)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def imported_names(script: Path) -> set[tuple[str, str]]:
    """(module, name) of every `from module import name` in a script."""
    tree = ast.parse(script.read_text())
    return {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            for alias in node.names}  # fmt: skip


def console_scripts() -> set[tuple[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    targets = {**project["scripts"], **project["gui-scripts"]}.values()
    return {tuple(target.split(":")) for target in targets}


@pytest.mark.parametrize("script", ["entry_by_name.py", "entry_desktop.py", "entry_cli.py"])
def test_entry_scripts_start_what_the_console_scripts_start(script):
    names = imported_names(PACKAGING / script)
    assert names and names <= console_scripts(), names - console_scripts()
    for module, name in names:
        assert callable(getattr(importlib.import_module(module), name))


def test_runtime_hook_finds_the_user_cache():
    names = imported_names(PACKAGING / "pyi_rth_diffviews.py")
    assert ("diffviews_core", "paths") in names
    from diffviews_core import paths

    assert callable(paths.cache_dir)


def test_spec_collects_packages_not_modules():
    spec = (PACKAGING / "diffviews-desktop.spec").read_text()
    for package in ("diffviews_core", "diffviews_app", "diffviews_resources"):
        assert f'"{package}"' in spec
    assert "collect_submodules(package)" in spec
    assert 'copy_metadata("diffviews-desktop")' in spec, "entry points (diffviews.apps) travel in the metadata"


@pytest.mark.parametrize("script", ["entry_by_name.py", "entry_desktop.py", "entry_cli.py"])
def test_entry_scripts_call_freeze_support_before_importing_the_app(script):
    """A frozen app's worker process (multiprocessing spawn) is the bundle's executable again: freeze_support must
    take over before the app is imported or started."""
    tree = ast.parse((PACKAGING / script).read_text())
    statements = [node for node in tree.body if not isinstance(node, ast.Import)][1:]  # after the docstring
    first = statements[0]
    assert isinstance(first, ast.Expr) and ast.unparse(first) == "multiprocessing.freeze_support()"
