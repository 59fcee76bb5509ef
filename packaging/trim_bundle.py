"""Cut from a frozen bundle what the app never loads, and say what each cut saved.

- PyTorch's C++ headers, CMake files, static and test libraries, test programs; test suites; Qt platform
  plugins other than xcb/offscreen and the libraries only they load; optional codecs whose libraries are not bundled;
- CUDA libraries when the bundle's torch is a CPU build (``--cpu-torch``: nothing can load them);
- on Linux, the symbol tables of shared libraries (``strip --strip-unneeded``: the dynamic symbols the loader
  uses stay; only the static ones that debuggers read go; a library whose stripped copy would break the loader's
  segment alignment, as on libraries patchelf rewrote, keeps its symbols);
- identical copies of one file (the same library collected twice) become links to a single copy.

    python packaging/trim_bundle.py BUNDLE_DIR [--cpu-torch] [--no-strip]
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import shutil
import struct
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

# Relative to the bundle; fnmatch patterns matched against the path with "/" separators.
UNUSED = [
    # PyTorch: C++ headers, CMake files, static and test libraries, C++ test programs, protoc.
    "*/torch/include/*",
    "*/torch/share/*",
    "*/torch/lib/*.a",
    "*/torch/lib/*.lib",
    "*/torch/lib/libjitbackend_test.*",
    "*/torch/lib/libtorchbind_test.*",
    "*/torch/lib/libbackend_with_compiler.*",
    "*/torch/lib/libaoti_custom_ops.*",
    "*/torch/test/*",
    "*/torch/bin/*",
    # PyTorch sources kept beside the compiled modules for TorchScript and introspection, of parts that only
    # torch.compile and model export use; their config modules stay (they read their own source when imported).
    "*/torch/testing/_internal/*",
    "*/torch/_inductor/*.py",
    "*/torch/onnx/*.py",
    "*/torch/_export/*.py",
    "*/torch/export/*.py",
    "*/torchgen/packaged/*",
    # Test suites of the scientific stack.
    "*/scipy/*/tests/*",
    "*/sklearn/*/tests/*",
    "*/numba/tests/*",
    "*/llvmlite/tests/*",
    "*/numpy/*/tests/*",
    # Qt platform plugins besides xcb (X11 and XWayland) and offscreen, with the libraries only they load, and the
    # GTK theme plugin (GTK is not bundled; Qt's own dialogs are used).
    "*/Qt/plugins/platforms/libqvnc.so",
    "*/Qt/plugins/platforms/libqlinuxfb.so",
    "*/Qt/plugins/platforms/libqvkkhrdisplay.so",
    "*/Qt/plugins/platforms/libqeglfs.so",
    "*/Qt/plugins/platforms/libqminimalegl.so",
    "*/Qt/plugins/platforms/libqwayland*.so",
    "*/Qt/plugins/wayland-*/*",
    "*/Qt/plugins/egldeviceintegrations/*",
    "*/Qt/plugins/generic/libqtuiotouchplugin.so",
    "*/Qt/plugins/platformthemes/libqgtk3.so",
    "*/Qt/lib/libQt6Wayland*",
    "*/Qt/lib/libQt6WlShellIntegration*",
    "*/Qt/lib/libQt6EglFS*",
    "*/Qt/lib/libQt6EglFs*",
    "*/Qt/lib/libQt6Network.so*",
    # numba's TBB threading layer (TBB is not bundled; numba uses OpenMP or its own work queue); Pillow's AVIF codec.
    "*/numba/np/ufunc/tbbpool*",
    "*/PIL/_avif*",
    "*/pillow.libs/libavif*",
]
# Never cut, though a pattern above matches: the helper torch.multiprocessing starts for shared memory, and
# torch's config modules.
KEEP = ["*/torch/bin/torch_shm_manager", "*/torch/*config.py", "*/torch/*config_comms.py"]
CUDA = ["*libcudnn*", "*libcublas*", "*libcufft*", "*libcurand*", "*libcusparse*", "*libcusolver*", "*libnccl*",
        "*libnvrtc*", "*libnvJitLink*", "*libcupti*", "*libnvToolsExt*", "*libcudart*", "*libtorch_cuda*",
        "*libc10_cuda*", "*/nvidia/*", "*/triton/*"]  # fmt: skip
DEDUPE_MIN_BYTES = 64 * 1024
PAGE = 4096


def tree_size(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def remove_matching(root: Path, patterns: list[str]) -> int:
    """Delete the files matching any pattern (and folders left empty); returns bytes freed."""
    freed = 0
    for path in sorted(root.rglob("*")):
        if path.is_file() or path.is_symlink():
            rel = "/" + path.relative_to(root).as_posix()
            cut = any(fnmatch.fnmatch(rel, pattern) for pattern in patterns)
            if cut and not any(fnmatch.fnmatch(rel, keep) for keep in KEEP):
                freed += path.lstat().st_size if not path.is_symlink() else 0
                path.unlink()
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return freed


def is_elf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def loadable_segments(path: Path) -> bool:
    """Whether every PT_LOAD segment keeps its file offset congruent to its address modulo the page size and its
    alignment, as the dynamic loader requires (strip breaks this on libraries that patchelf rewrote, e.g. the
    OpenBLAS that auditwheel bundled with numpy: "ELF load command address/offset not page-aligned")."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:  # 64-bit little-endian only
        return True
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _flags, offset, vaddr, _paddr, _filesz, _memsz, align = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize
        )
        if p_type == 1 and ((vaddr - offset) % PAGE or (align > 1 and (vaddr - offset) % align)):
            return False
    return True


def strip_libraries(root: Path) -> int:
    """strip --strip-unneeded every ELF shared library whose stripped copy still loads; returns bytes freed."""
    if not shutil.which("strip"):
        raise SystemExit("strip not found (install binutils)")
    freed = 0
    for path in root.rglob("*.so*"):
        if path.is_symlink() or not path.is_file() or not is_elf(path):
            continue
        stripped = path.with_name(path.name + ".stripped")
        proc = subprocess.run(["strip", "--strip-unneeded", "-o", str(stripped), str(path)], capture_output=True)
        if proc.returncode != 0 or not loadable_segments(stripped):
            stripped.unlink(missing_ok=True)
            print(f"   trim: kept the symbols of {path.relative_to(root)} (strip would break it)")
            continue
        freed += path.stat().st_size - stripped.stat().st_size
        shutil.copymode(path, stripped)
        stripped.replace(path)
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
