"""Cut from a frozen bundle what the app never loads, and say what each cut saved.

- PyTorch's C++ headers, CMake files, static libraries and its test-only shared libraries (nothing imports them);
- CUDA libraries when the bundle's torch is a CPU build (``--cpu-torch``: nothing can load them);
- on Linux, the symbol tables of shared libraries (``strip --strip-unneeded``: the dynamic symbols the loader
  uses stay; only the static ones that debuggers read go);
- identical copies of one file (the same library collected twice) become links to a single copy.

    python packaging/trim_bundle.py BUNDLE_DIR [--cpu-torch] [--no-strip]
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

# Relative to the bundle; fnmatch patterns matched against the path with "/" separators.
UNUSED = [
    "*/torch/include/*",
    "*/torch/share/*",
    "*/torch/lib/*.a",
    "*/torch/lib/*.lib",
    "*/torch/lib/libjitbackend_test.*",
    "*/torch/lib/libtorchbind_test.*",
    "*/torch/lib/libbackend_with_compiler.*",
    "*/torch/lib/libaoti_custom_ops.*",
    "*/torch/testing/_internal/*",
    "*/torch/_inductor/codegen/*.cpp",
    "*/torch/_inductor/codegen/*.h",
    "*/torchgen/packaged/*",
    "*/scipy/*/tests/*",
    "*/sklearn/*/tests/*",
    "*/numba/tests/*",
    "*/llvmlite/tests/*",
    "*/numpy/*/tests/*",
]
CUDA = ["*libcudnn*", "*libcublas*", "*libcufft*", "*libcurand*", "*libcusparse*", "*libcusolver*", "*libnccl*",
        "*libnvrtc*", "*libnvJitLink*", "*libcupti*", "*libnvToolsExt*", "*libcudart*", "*libtorch_cuda*",
        "*libc10_cuda*", "*/nvidia/*", "*/triton/*"]  # fmt: skip
DEDUPE_MIN_BYTES = 64 * 1024


def tree_size(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def remove_matching(root: Path, patterns: list[str]) -> int:
    """Delete the files matching any pattern (and folders left empty); returns bytes freed."""
    freed = 0
    for path in sorted(root.rglob("*")):
        if path.is_file() or path.is_symlink():
            rel = "/" + path.relative_to(root).as_posix()
            if any(fnmatch.fnmatch(rel, pattern) for pattern in patterns):
                freed += path.lstat().st_size if not path.is_symlink() else 0
                path.unlink()
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return freed


def is_elf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def strip_libraries(root: Path) -> int:
    """strip --strip-unneeded every ELF shared library; returns bytes freed."""
    if not shutil.which("strip"):
        raise SystemExit("strip not found (install binutils)")
    freed = 0
    for path in root.rglob("*.so*"):
        if path.is_symlink() or not path.is_file() or not is_elf(path):
            continue
        before = path.stat().st_size
        mode = path.stat().st_mode
        path.chmod(mode | 0o200)
        proc = subprocess.run(["strip", "--strip-unneeded", str(path)], capture_output=True, text=True)
        path.chmod(mode)
        if proc.returncode != 0:
            print(f"   strip skipped {path.relative_to(root)}: {proc.stderr.strip()}", file=sys.stderr)
            continue
        freed += before - path.stat().st_size
    return freed


def link_duplicates(root: Path) -> int:
    """Replace identical copies of a file by relative symbolic links to one of them; returns bytes freed."""
    by_size: dict[int, list[Path]] = defaultdict(list)
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size >= DEDUPE_MIN_BYTES:
            by_size[path.stat().st_size].append(path)
    freed = 0
    for size, paths in by_size.items():
        if len(paths) < 2:
            continue
        by_hash: dict[str, list[Path]] = defaultdict(list)
        for path in paths:
            by_hash[hashlib.sha256(path.read_bytes()).hexdigest()].append(path)
        for same in by_hash.values():
            keep, *copies = sorted(same, key=lambda p: (len(p.parts), str(p)))
            for copy in copies:
                copy.unlink()
                copy.symlink_to(os.path.relpath(keep, copy.parent))
                freed += size
    return freed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--cpu-torch", action="store_true", help="the bundle's torch is a CPU build: drop CUDA")
    parser.add_argument("--no-strip", action="store_true", help="keep symbol tables")
    args = parser.parse_args()
    start = tree_size(args.bundle)
    steps = [("unused files (torch headers, CMake, test libraries, test suites)", lambda: remove_matching(args.bundle, UNUSED))]
    if args.cpu_torch:
        steps.append(("CUDA libraries (CPU torch)", lambda: remove_matching(args.bundle, CUDA)))
    if sys.platform.startswith("linux") and not args.no_strip:
        steps.append(("symbol tables of shared libraries", lambda: strip_libraries(args.bundle)))
    if os.name == "posix":
        steps.append(("identical copies linked", lambda: link_duplicates(args.bundle)))
    for what, step in steps:
        print(f"   trim: {what}: {step() / 1e6:.1f} MB")
    end = tree_size(args.bundle)
    print(f"   trim: bundle {start / 1e6:.0f} MB -> {end / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
