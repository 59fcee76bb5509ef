"""Atomic writes: the target is replaced whole or not at all, temporary names are unique per writer, data and the
rename are flushed to disk, and a failed write leaves no temporary file behind."""

from __future__ import annotations

import os
import stat

import pytest

from diffviews_core import atomic
from diffviews_core.atomic import atomic_path, atomic_write_bytes, atomic_write_json, replace_file


def test_a_write_replaces_the_target_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "sub" / "out.json"
    assert atomic_write_json(target, {"b": 1, "a": [1.5]}) == target
    assert target.read_text() == '{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n'
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_two_writers_of_one_file_never_share_a_temporary_name(tmp_path):
    target = tmp_path / "same.bin"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second and first.parent == second.parent == tmp_path
        first.write_bytes(b"first")
        second.write_bytes(b"second")
    assert target.read_bytes() == b"first"  # the outer writer finished last
    assert [p.name for p in tmp_path.iterdir()] == ["same.bin"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer died")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_file_and_folder_are_flushed_before_and_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    atomic_write_bytes(tmp_path / "x.bin", b"data")
    assert synced == ["file", "dir"]
    synced.clear()
    part = tmp_path / "x.bin.part"
    part.write_bytes(b"finished elsewhere")
    replace_file(part, tmp_path / "y.bin")
    assert synced == ["file", "dir"] and (tmp_path / "y.bin").read_bytes() == b"finished elsewhere"


def test_new_files_get_ordinary_permissions_and_replaced_files_keep_theirs(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("made by open()")
    atomic_write_bytes(tmp_path / "new.txt", b"x")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    os.chmod(plain, 0o640)
    atomic_write_bytes(plain, b"replaced")
    assert stat.S_IMODE(plain.stat().st_mode) == 0o640
