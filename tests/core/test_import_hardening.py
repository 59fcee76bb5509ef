"""``diffviews import`` of hostile or broken archives and folders: one line naming the archive, nothing written or
deleted outside the data root's new model folders, existing models intact."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile

import pytest
from data_fixtures import make_original_layout, tree_checksums

from diffviews_core.cli.main import main
from diffviews_core.errors import DataError
from diffviews_core.importer import import_data


@pytest.fixture(scope="module")
def model_src(tmp_path_factory):
    """One original-layout model folder (dmd2) to pack."""
    root = make_original_layout(tmp_path_factory.mktemp("src"), n_per_model=6, models=("dmd2",), broken=False)
    return root / "dmd2"


@pytest.fixture
def data_root(tmp_path, model_src):
    """A data root that already holds an unrelated model."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copytree(model_src, root / "keep")
    return root


def _zip_of(folder, path, arc_prefix=""):
    with zipfile.ZipFile(path, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, arc_prefix + str(p.relative_to(folder)))
    return path


def _refused(archive, data_root, fragment, capsys, overwrite=True):
    before = tree_checksums(data_root)
    args = ["import", str(archive), "--data-dir", str(data_root)] + (["--overwrite"] if overwrite else [])
    assert main(args) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err
    assert tree_checksums(data_root) == before
    assert [p.name for p in data_root.iterdir()] == ["keep"]  # no staging folder left behind


def test_hidden_archive_name_never_deletes_the_data_root(tmp_path, data_root, model_src, capsys):
    archive = _zip_of(model_src, tmp_path / ".hidden.zip")
    _refused(archive, data_root, "cannot make a model folder named '.hidden'", capsys)


def test_overwrite_replaces_only_that_model(tmp_path, data_root, model_src):
    archive = _zip_of(model_src, tmp_path / "keep.zip")
    (data_root / "keep" / "marker").write_text("old")
    other = tmp_path / "root" / "other"
    shutil.copytree(model_src, other)
    with pytest.raises(DataError, match="already exists"):
        import_data(archive, data_root)
    assert import_data(archive, data_root, overwrite=True) == [data_root / "keep"]
    assert not (data_root / "keep" / "marker").exists() and (data_root / "keep" / "config.json").is_file()
    assert (other / "config.json").is_file()


@pytest.mark.parametrize("kind", ["fifo", "chr", "symlink_out", "hardlink_out", "symlink_in"])
def test_tar_members_that_are_not_files_are_refused(tmp_path, data_root, model_src, capsys, kind):
    archive = tmp_path / "m.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(model_src, arcname="m")
        info = tarfile.TarInfo("m/special")
        info.type = {"fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE, "symlink_out": tarfile.SYMTYPE,
                     "hardlink_out": tarfile.LNKTYPE, "symlink_in": tarfile.SYMTYPE}[kind]  # fmt: skip
        info.linkname = "config.json" if kind == "symlink_in" else "/etc/passwd"
        tf.addfile(info)
    _refused(archive, data_root, "only files and folders are imported", capsys)


def test_truncated_tar(tmp_path, data_root, model_src, capsys):
    archive = tmp_path / "m.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(model_src, arcname="m")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    _refused(archive, data_root, str(archive), capsys)


def test_zip_with_a_bad_crc(tmp_path, data_root, model_src, capsys):
    archive = tmp_path / "m.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.write(model_src / "config.json", "m/config.json")
        zf.writestr("m/data.txt", b"A" * 1000)
    raw = bytearray(archive.read_bytes())
    at = raw.find(b"A" * 1000)
    raw[at + 10] ^= 0xFF
    archive.write_bytes(bytes(raw))
    _refused(archive, data_root, "Bad CRC-32", capsys)


def test_empty_zip(tmp_path, data_root, capsys):
    archive = tmp_path / "m.zip"
    zipfile.ZipFile(archive, "w").close()
    _refused(archive, data_root, "empty: nothing to import", capsys)


def test_member_name_over_255_bytes(tmp_path, data_root, model_src, capsys):
    archive = _zip_of(model_src, tmp_path / "m.zip", arc_prefix="m/")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("m/" + "x" * 300, b"x")
    _refused(archive, data_root, "longer than 255 bytes", capsys)


def test_folder_with_a_symlink_loop(tmp_path, data_root, model_src, capsys):
    folder = tmp_path / "m"
    shutil.copytree(model_src, folder)
    (folder / "loop").symlink_to(folder)
    _refused(folder, data_root, "links to folders are not followed", capsys)
    (folder / "loop").unlink()
    (folder / "self").symlink_to(folder / "self")
    _refused(folder, data_root, "symbolic link loop", capsys)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_folder_with_a_fifo(tmp_path, data_root, model_src, capsys):
    folder = tmp_path / "m"
    shutil.copytree(model_src, folder)
    os.mkfifo(folder / "pipe")
    _refused(folder, data_root, "not a regular file (a FIFO)", capsys)


def test_zip_bomb_is_refused_by_its_ratio(tmp_path, data_root, model_src, capsys):
    archive = _zip_of(model_src, tmp_path / "m.zip", arc_prefix="m/")
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("m/zeros.bin", "w") as out:
        block = bytes(1 << 20)
        for _ in range(256):  # 256 MiB of zeros in ~250 KB
            out.write(block)
    _refused(archive, data_root, "more than 200 times its own size", capsys)


def test_a_zip_whose_directory_lies_about_sizes_is_still_bounded(tmp_path, data_root, model_src, capsys):
    """The central directory says a tiny size; the member really inflates to far more: reading stops anyway."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m/zeros.bin", bytes(64 << 20))
    raw = bytearray(buf.getvalue())
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (10).to_bytes(4, "little")  # uncompressed size in the central directory
    archive = tmp_path / "liar.zip"
    archive.write_bytes(bytes(raw))
    _refused(archive, data_root, str(archive), capsys)


def test_source_and_data_root_must_not_overlap(data_root, capsys):
    _refused(data_root / "keep", data_root, "overlap", capsys)
