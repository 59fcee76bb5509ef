"""Downloads trust nothing a manifest or a server says: typed manifests, bodies bounded by the manifest's size,
resumable partial files, redirects only to the manifest's hosts."""

from __future__ import annotations

import hashlib
import json

import pytest
from http_fixtures import Route, http_server

from diffviews_core.cli.main import main
from diffviews_core.downloads import download, download_file, read_manifest
from diffviews_core.errors import DataError, DiffViewsError

BODY = bytes(range(256)) * 1200  # 300 KB
SHA = hashlib.sha256(BODY).hexdigest()


def entry(**change) -> dict:
    return {"path": "m/data.bin", "sha256": SHA, "size": len(BODY), "group": "data",
            "urls": {"hf": "http://127.0.0.1:9/x"}, **change}  # fmt: skip


@pytest.fixture
def server():
    with http_server() as s:
        s.routes["/data.bin"] = Route(BODY)
        yield s


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"path": "."}, "names no file"),
        ({"path": ""}, "must not be empty"),
        ({"path": "a/../../x"}, "leads outside"),
        ({"path": "/etc/x"}, "is absolute"),
        ({"path": 5}, "path must be a string"),
        ({"path": None}, "path must be a string"),
        ({"path": "a\x00b"}, "NUL"),
        ({"path": "x" * 300}, "longer than 255 bytes"),
        ({"sha256": 5}, "sha256 must be a string"),
        ({"sha256": None}, "sha256 must be a string"),
        ({"sha256": "abc"}, "64 hexadecimal digits"),
        ({"size": "300"}, "size must be an integer"),
        ({"size": -1}, "size must be in"),
        ({"urls": {"hf": "not a url"}}, "is not an http(s) URL"),
        ({"urls": {"hf": "file:///etc/passwd"}}, "is not an http(s) URL"),
        ({"urls": []}, "urls must be an object"),
    ],
)
def test_bad_manifest_fields_are_one_line_errors(tmp_path, capsys, change, fragment):
    mpath = tmp_path / "manifest.json"
    mpath.write_text(json.dumps({"files": [entry(**change)]}))
    with pytest.raises(DataError) as info:
        read_manifest(str(mpath))
    assert fragment in str(info.value) and str(mpath) in str(info.value)
    assert main(["download", "--manifest", str(mpath), "--output-dir", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(mpath) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]  # nothing written anywhere


def test_duplicate_and_nested_paths_are_refused(tmp_path):
    mpath = tmp_path / "manifest.json"
    mpath.write_text(json.dumps({"files": [entry(path="a/b"), entry(path="a/b/c")]}))
    with pytest.raises(DataError, match="listed twice or inside another file"):
        read_manifest(str(mpath))


def test_a_body_longer_than_the_manifest_size_is_refused_before_reading(server, tmp_path):
    server.routes["/big"] = Route(b"\0" * (4 << 20))
    with pytest.raises(DataError, match="the manifest says 307,200"):
        download_file(server.url("/big"), tmp_path / "d.bin", SHA, len(BODY))
    assert list(tmp_path.iterdir()) == []


def test_an_endless_body_is_cut_at_the_manifest_size(server, tmp_path):
    server.routes["/huge"] = Route(behaviour="huge")
    with pytest.raises(DataError, match="more than the manifest's 307,200 bytes"):
        download_file(server.url("/huge"), tmp_path / "d.bin", SHA, len(BODY))
    assert list(tmp_path.iterdir()) == []


def test_a_complete_part_file_is_verified_without_asking_the_server(server, tmp_path):
    (tmp_path / "d.bin.part").write_bytes(BODY)
    server.routes["/data.bin"] = Route(BODY, "always_416")
    assert download_file(server.url("/data.bin"), tmp_path / "d.bin", SHA, len(BODY)).read_bytes() == BODY
    assert server.requests == []


def test_a_truncated_body_keeps_its_part_and_the_next_run_resumes(server, tmp_path):
    server.routes["/data.bin"] = Route(BODY, "truncate", cut=100_000)
    with pytest.raises(DiffViewsError, match="run the command again to resume") as info:
        download_file(server.url("/data.bin"), tmp_path / "d.bin", SHA, len(BODY))
    assert not isinstance(info.value, DataError)
    assert (tmp_path / "d.bin.part").read_bytes() == BODY[:100_000]
    server.routes["/data.bin"] = Route(BODY)
    assert download_file(server.url("/data.bin"), tmp_path / "d.bin", SHA, len(BODY)).read_bytes() == BODY
    assert server.requests[-1] == ("/data.bin", "bytes=100000-")


def test_a_dropped_connection_is_a_message(server, tmp_path):
    server.routes["/data.bin"] = Route(BODY, "drop")
    with pytest.raises(DiffViewsError, match="download"):
        download_file(server.url("/data.bin"), tmp_path / "d.bin", SHA, len(BODY))


def test_a_resume_answered_with_the_wrong_range_is_not_appended(server, tmp_path):
    (tmp_path / "d.bin.part").write_bytes(BODY[:1000])
    server.routes["/data.bin"] = Route(BODY, "bad_range")
    with pytest.raises(DiffViewsError, match="wrong range"):
        download_file(server.url("/data.bin"), tmp_path / "d.bin", SHA, len(BODY))
    assert (tmp_path / "d.bin.part").read_bytes() == BODY[:1000]


def test_redirects_only_to_hosts_the_manifest_names(server, tmp_path):
    server.routes["/same"] = Route(behaviour="redirect", target=server.url("/data.bin"))
    server.routes["/other"] = Route(behaviour="redirect", target=server.url("/data.bin", host="localhost"))
    assert download_file(server.url("/same"), tmp_path / "a.bin", SHA, len(BODY)).read_bytes() == BODY
    with pytest.raises(DiffViewsError, match="redirect to 'localhost' refused"):
        download_file(server.url("/other"), tmp_path / "b.bin", SHA, len(BODY))
    assert server.requests == [("/same", None), ("/data.bin", None), ("/other", None)]  # not followed to localhost
    assert download_file(server.url("/other"), tmp_path / "c.bin", SHA, len(BODY), hosts={"localhost"})


def test_a_redirect_loop_ends(server, tmp_path):
    server.routes["/a"] = Route(behaviour="redirect", target=server.url("/b"))
    server.routes["/b"] = Route(behaviour="redirect", target=server.url("/a"))
    with pytest.raises(DiffViewsError, match="redirect"):
        download_file(server.url("/a"), tmp_path / "d.bin", SHA, len(BODY))


def test_download_never_writes_through_a_link_out_of_the_output_folder(server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "m").symlink_to(outside)
    e = read_manifest_entries(tmp_path, urls={"hf": server.url("/data.bin")})
    with pytest.raises(DataError, match="refusing to write outside"):
        download(e, out)
    assert list(outside.iterdir()) == []


def read_manifest_entries(tmp_path, **change):
    mpath = tmp_path / "manifest.json"
    mpath.write_text(json.dumps({"files": [entry(**change)]}))
    return read_manifest(str(mpath))
