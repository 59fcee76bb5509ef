"""packaging/trim_bundle.py cuts only what the app never loads, strips shared libraries that still load, and links
identical copies."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def trim(bundle: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / "packaging" / "trim_bundle.py"), str(bundle), *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def bundle(tmp_path) -> Path:
    root = tmp_path / "diffviews-desktop"
    internal = root / "_internal"
    write(internal / "torch" / "include" / "ATen" / "core.h", b"// header")
    write(internal / "torch" / "share" / "cmake" / "Torch" / "TorchConfig.cmake", b"# cmake")
    write(internal / "torch" / "lib" / "libtorchbind_test.so", b"\x7fELF test library")
    write(internal / "torch" / "lib" / "libcudnn.so.9", b"\x7fELF cuda")
    write(internal / "torch" / "bin" / "test_jit", b"\x7fELF test program")
    write(internal / "torch" / "bin" / "torch_shm_manager", b"\x7fELF helper")
    write(internal / "scipy" / "linalg" / "tests" / "test_basic.py", b"# tests")
    write(internal / "torch" / "lib" / "libtorch_cpu.so", b"\x7fELF keep")
    write(internal / "torch" / "__init__.py", b"# keep")
    write(internal / "torch" / "_inductor" / "codegen" / "wrapper.py", b"# compiler source")
    write(internal / "torch" / "_inductor" / "config.py", b"# read by install_config_module")
    write(internal / "diffviews_resources" / "demo" / "model.safetensors", b"weights")
    blob = os.urandom(100_000)
    write(internal / "libgomp-a34b3233.so.1", blob)
    write(internal / "torch" / "lib" / "libgomp.so.1", blob)
    return root


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_unused_parts_go_and_the_rest_stays(bundle):
    out = trim(bundle, "--no-strip")
    left = files(bundle)
    assert not any(part in name for name in left for part in ("include/", "share/cmake", "bind_test", "/tests/"))
    assert "_internal/torch/lib/libcudnn.so.9" in left, "CUDA stays unless torch is a CPU build"
    assert "_internal/torch/bin/test_jit" not in left
    assert "_internal/torch/bin/torch_shm_manager" in left, "torch.multiprocessing's helper stays"
    assert "_internal/torch/_inductor/codegen/wrapper.py" not in left
    assert "_internal/torch/_inductor/config.py" in left, "config modules read their own source"
    assert {"_internal/torch/lib/libtorch_cpu.so", "_internal/torch/__init__.py",
            "_internal/diffviews_resources/demo/model.safetensors"} <= left  # fmt: skip
    assert not (bundle / "_internal" / "torch" / "include").exists(), "emptied folders go too"
    assert "bundle" in out and "MB" in out


def test_cuda_libraries_go_with_a_cpu_torch(bundle):
    trim(bundle, "--no-strip", "--cpu-torch")
    assert "_internal/torch/lib/libcudnn.so.9" not in files(bundle)


@pytest.mark.skipif(os.name != "posix", reason="links identical files with symlinks")
def test_identical_copies_become_one_file(bundle):
    trim(bundle, "--no-strip")
    copy = bundle / "_internal" / "torch" / "lib" / "libgomp.so.1"
    kept = bundle / "_internal" / "libgomp-a34b3233.so.1"
    assert copy.is_symlink() and not kept.is_symlink()
    assert copy.resolve() == kept.resolve() and len(copy.read_bytes()) == 100_000


@pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("strip"), reason="Linux strip")
def test_stripped_library_still_loads(tmp_path):
    name = ctypes.util.find_library("z")
    source = next(Path(d) / name for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib")
                  if (Path(d) / name).exists())  # fmt: skip
    bundle = tmp_path / "b"
    lib = bundle / "_internal" / "libz-copy.so.1"
    lib.parent.mkdir(parents=True)
    shutil.copy(source, lib)
    before = lib.stat().st_size
    trim(bundle)
    assert lib.stat().st_size <= before
    assert ctypes.CDLL(str(lib)).zlibVersion
