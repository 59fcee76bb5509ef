"""Debian packages a frozen bundle needs from the system: the owners of every shared library its ELF files load
from outside the bundle (what ``ldd`` resolves on this machine), for the ``.deb``'s Depends.

    python packaging/linux/system_deps.py BUNDLE_DIR     # prints "libgl1, libxcb-cursor0, ..." (one line)

Exits 1 naming the files when a library is found neither in the bundle nor on the system.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

LDD_LINE = re.compile(r"^\s*(\S+) => (not found|/\S+)")
# The C library's own parts come with libc6, which the Depends line names with its minimum version.
ALWAYS = {"libc6"}


def elf_files(bundle: Path) -> list[Path]:
    found = []
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def outside_libraries(bundle: Path) -> tuple[set[str], dict[str, set[str]]]:
    """Libraries loaded from outside ``bundle`` and, per missing library, the files that need it."""
    lib_dirs = sorted({str(p.parent) for p in bundle.rglob("*.so*")})
    env = {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(lib_dirs)}
    outside: set[str] = set()
    missing: dict[str, set[str]] = {}
    root = str(bundle.resolve())
    for elf in elf_files(bundle):
        proc = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=env)
        for line in proc.stdout.splitlines():
            match = LDD_LINE.match(line)
            if not match:
                continue
            name, where = match.groups()
            if where == "not found":
                missing.setdefault(name, set()).add(str(elf.relative_to(bundle)))
            elif not os.path.realpath(where).startswith(root):
                outside.add(where)
    return outside, missing


def owning_packages(paths: set[str]) -> set[str]:
    packages = set()
    for path in paths:
        candidates = {path, os.path.realpath(path)}
        candidates |= {c.removeprefix("/usr") for c in list(candidates)} | {"/usr" + c for c in list(candidates)}
        for candidate in candidates:
            proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if proc.returncode == 0:
                packages.add(proc.stdout.split(":")[0].strip())
                break
        else:
            raise SystemExit(f"{path}: no Debian package owns this library (needed by the bundle)")
    return packages


def main() -> int:
    bundle = Path(sys.argv[1])
    outside, missing = outside_libraries(bundle)
    if missing:
        for name, users in sorted(missing.items()):
            print(f"{name}: not found (needed by {', '.join(sorted(users)[:3])})", file=sys.stderr)
        return 1
    packages = sorted(owning_packages(outside) - ALWAYS)
    print(", ".join(packages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
