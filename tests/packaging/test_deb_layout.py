"""packaging/linux/make_deb.sh lays a bundle out as the issue asks: /opt/diffviews-desktop, /usr/bin links, a valid
menu entry with hicolor icons 16-512 px, Depends from the libraries the bundle loads, no maintainer scripts.
A stand-in bundle keeps this fast; packaging/check_deb.sh installs and runs the real one."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = "diffviews-desktop"

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-deb") or not shutil.which("xz"), reason="needs dpkg-deb, xz")


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("deb")
    bundle = tmp / NAME
    (bundle / "_internal").mkdir(parents=True)
    for exe in (NAME, "diffviews"):
        (bundle / exe).write_text('#!/bin/sh\necho "$0"\n')
        (bundle / exe).chmod(0o755)
    # A real ELF that loads a library from the system (liblzma): its owner must land in Depends.
    shutil.copy(os.path.realpath(shutil.which("xz")), bundle / "_internal" / "xz")
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "packaging" / "make_icons.py")
    make_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icons)
    make_icons.make_icons(tmp / "icons")
    proc = subprocess.run(
        ["bash", str(ROOT / "packaging" / "linux" / "make_deb.sh"), str(bundle), str(tmp / "icons"), str(tmp / "out"),
         "1.2.3"],
        env={**os.environ, "PYTHON": sys.executable, "DEB_COMPRESS": "gzip", "DEB_LEVEL": "1"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def listing(deb: Path) -> dict[str, tuple[str, str, str]]:
    """path -> (mode, owner, link target) from `dpkg-deb -c`."""
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    entries = {}
    for line in out.splitlines():
        mode, owner, _size, _date, _time, rest = line.split(None, 5)
        path, _, target = rest.partition(" -> ")
        entries[path.removeprefix(".").rstrip("/") or "/"] = (mode, owner, target)
    return entries


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def test_name_and_control(deb):
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    assert deb.name == f"{NAME}_1.2.3_{arch}.deb"
    assert field(deb, "Package") == NAME and field(deb, "Version") == "1.2.3"
    depends = [d.strip() for d in field(deb, "Depends").split(",")]
    assert "libc6 (>= 2.34)" in depends
    assert "liblzma5" in depends, "a library the bundle loads from the system"
    assert {"libgl1", "libegl1", "libxcb-cursor0", "libxkbcommon-x11-0", "libfontconfig1"} <= set(depends)
    assert int(field(deb, "Installed-Size")) > 0


def test_files_under_opt_and_links_in_usr_bin(deb):
    entries = listing(deb)
    assert entries[f"/opt/{NAME}/{NAME}"][:2] == ("-rwxr-xr-x", "root/root")
    assert entries[f"/opt/{NAME}/_internal/xz"][0] == "-rwxr-xr-x"
    assert entries[f"/usr/bin/{NAME}"][2] == f"/opt/{NAME}/{NAME}"
    assert entries["/usr/bin/diffviews"][2] == f"/opt/{NAME}/diffviews"
    tops = {"/opt", "/usr", "/usr/bin", "/usr/share"}
    outside = [p for p in entries if p not in tops | {"/"} and not p.startswith(("/opt/", "/usr/bin/", "/usr/share/"))]
    assert not outside
    assert all(owner == "root/root" for _mode, owner, _ in entries.values())
    shared_writable = [p for p, (mode, *_) in entries.items() if mode[0] != "l" and "w" in (mode[5], mode[8])]
    assert not shared_writable


def test_menu_entry_and_icons(deb, tmp_path):
    entries = listing(deb)
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        assert f"/usr/share/icons/hicolor/{size}x{size}/apps/diffviews.png" in entries
    assert "/usr/share/icons/hicolor/scalable/apps/diffviews.svg" in entries
    assert f"/usr/share/doc/{NAME}/copyright" in entries
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    desktop = tmp_path / "usr" / "share" / "applications" / f"{NAME}.desktop"
    text = desktop.read_text()
    assert f"Exec={NAME}\n" in text and "Icon=diffviews\n" in text
    if shutil.which("desktop-file-validate"):
        proc = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout


def test_no_maintainer_scripts(deb, tmp_path):
    subprocess.run(["dpkg-deb", "-e", str(deb), str(tmp_path / "DEBIAN")], check=True)
    assert sorted(p.name for p in (tmp_path / "DEBIAN").iterdir()) == ["control"]
