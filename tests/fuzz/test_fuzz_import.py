"""``diffviews import`` of seeded hostile archives and folders into a data root that already holds a model: damaged
bytes, members that are links, devices or FIFOs, names that escape or are too long, duplicates, bombs, archive names
that make no folder name. The existing model never changes; nothing lands outside the data root."""

from __future__ import annotations

import io
import os
import random
import shutil
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest
from data_fixtures import make_original_layout
from harness import Outcome, assert_no_bad, cli, run_case, scale, snapshot
from mutate import mutate_bytes

from diffviews_core import validate as v
from diffviews_core.formats import open_data

CASES = 200
NAMES = ["m.zip", "m.tar", "m.tar.gz", ".hidden.zip", "..zip", ".zip", "a.b.c.tar.gz", "x" * 250 + ".zip",
         "keep.zip", "m", "other.tgz", " .zip"]  # fmt: skip
BAD_NAMES = ["../escape", "/abs/file", "a/../../x", "x" * 300, "a\\b", "C:x", "", ".", "./", "a//b"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = make_original_layout(tmp_path_factory.mktemp("src"), n_per_model=3, models=("dmd2", "edm"), broken=False)
    return root


def _members(folder: Path, prefix: str) -> list[tuple[str, bytes]]:
    return [(prefix + str(p.relative_to(folder)), p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


def _write_zip(path: Path, members, rng) -> None:
    with (
        warnings.catch_warnings(),  # duplicate names are the point
        zipfile.ZipFile(path, "w", compression=rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])) as zf,
    ):
        warnings.simplefilter("ignore")
        for name, data in members:
            if not name:  # zipfile cannot write an empty name
                continue
            if isinstance(data, int):  # a link or special entry: only a mode in external_attr
                info = zipfile.ZipInfo(name)
                info.external_attr = data << 16
                zf.writestr(info, b"/etc/passwd")
            else:
                zf.writestr(name, data)


def _write_tar(path: Path, members, rng) -> None:
    mode = "w:gz" if path.name.endswith(("gz", "tgz")) else "w"
    with tarfile.open(path, mode) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if isinstance(data, int):
                info.type = data
                info.linkname = rng.choice(["/etc/passwd", "../../outside", "config.json"])
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))


def _folder_of(members) -> str:
    return members[0][0].rsplit("/", 1)[0] if members and "/" in members[0][0] else "dmd2"


def _archive(case: Path, source: Path, rng: random.Random) -> tuple[Path, str]:
    name = rng.choice(NAMES)
    layout = rng.choice(["one model at the top", "one model in a folder", "a data root"])
    if layout == "a data root":
        members = _members(source, "data/")
    else:
        members = _members(source / "dmd2", "" if layout == "one model at the top" else "dmd2/")
    notes = [layout]
    for _ in range(rng.randint(0, 2)):
        what = rng.random()
        if what < 0.3:
            bad = rng.choice(BAD_NAMES)
            members.append((bad, b"x"))
            notes.append(f"member {bad[:20]!r}")
        elif what < 0.5:
            kind = rng.choice([tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE])
            members.append((f"{_folder_of(members)}/special", kind if "zip" not in name else 0o120777))
            notes.append(f"special member {kind!r}")
        elif what < 0.65 and members:
            members.append(members[rng.randrange(len(members))])
            notes.append("duplicate member")
        elif what < 0.75:
            members.append((f"{_folder_of(members)}/zeros.bin", bytes(rng.choice([1, 6]) << 20)))
            notes.append("a block of zeros")
        elif what < 0.85:
            members = members[: rng.randrange(len(members) + 1)]
            notes.append(f"only {len(members)} members")
        elif members and not isinstance(members[-1][1], int):
            i = rng.randrange(len(members))
            if not isinstance(members[i][1], int):
                members[i] = (members[i][0], mutate_bytes(members[i][1], rng)[0])
            notes.append(f"member {members[i][0]} damaged")
    path = case / name
    if name == "m":  # a folder, not an archive: members with usable names become files or links
        for member, data in members:
            try:
                target = path / v.relative_path(member, "member")
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(data, int):
                    os.symlink(rng.choice(["/etc/passwd", str(path), target.name, "/dev/zero"]), target)
                else:
                    target.write_bytes(data)
            except (v.Invalid, OSError):
                pass
        path.mkdir(exist_ok=True)
        return path, "folder: " + "; ".join(notes)
    (_write_zip if ".zip" in name else _write_tar)(path, members, rng)
    if rng.random() < 0.2:
        raw, more = mutate_bytes(path.read_bytes(), rng)
        path.write_bytes(raw)
        notes.append(f"archive {more}")
    return path, f"{name}: " + "; ".join(notes)


def test_fuzz_import(arena, source, request):
    reader = "import archives"
    for i in range(CASES * scale(request)):
        rng = random.Random(f"import-{i}")
        case = arena / f"case{i}"
        case.mkdir()
        root = case / "root"
        shutil.copytree(source / "edm", root / "keep")
        if rng.random() < 0.4:
            shutil.copytree(source / "dmd2", root / "dmd2")
        archive, note = _archive(case, source, rng)
        overwrite = rng.random() < 0.6
        keep = snapshot(root / "keep")
        beside = {k: v for k, v in snapshot(case).items() if not k.startswith("root/")}

        def body(archive=archive, root=root, keep=keep, beside=beside, overwrite=overwrite, case=case) -> Outcome:
            args = ["import", str(archive), "--data-dir", str(root)] + (["--overwrite"] if overwrite else [])
            outcome = cli(args, [archive, root])
            if outcome.kind == "bad":
                return outcome
            if snapshot(root / "keep") != keep and not archive.name.startswith("keep"):
                return Outcome("bad", "the model already in the data root changed")
            if {k: v for k, v in snapshot(case).items() if not k.startswith("root/")} != beside:
                return Outcome("bad", "wrote beside the data root")
            if [p.name for p in root.iterdir() if p.name.startswith(".")]:
                return Outcome("bad", "a hidden staging folder was left in the data root")
            if outcome.kind == "load":
                opened = open_data(root)
                if opened.problems:
                    return Outcome("bad", f"imported data does not open: {opened.problems}")
            return outcome

        run_case(reader, arena, case, f"#{i} {note} overwrite={overwrite}", body)
        shutil.rmtree(case)
    assert_no_bad(reader)
