"""Download manifests (seeded mutations, fetched from a loopback server) and the transfer itself against a server
that drops connections, truncates, lies about sizes, redirects elsewhere and in loops."""

from __future__ import annotations

import hashlib
import json
import random
import shutil

import pytest
from harness import Outcome, assert_no_bad, call, cli, run_case, scale, snapshot
from http_fixtures import Route, http_server
from mutate import dump_json, mutate_bytes, mutate_json_value

from diffviews_core import downloads

CASES = 200
FILES = {"/a.bin": bytes(range(256)) * 40, "/b.bin": b"weights" * 300}


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(downloads, "TIMEOUT", 2.0)
    with http_server() as s:
        for path, body in FILES.items():
            s.routes[path] = Route(body)
        yield s


def _manifest(server) -> dict:
    return {"files": [
        {"path": "m/a.bin", "sha256": hashlib.sha256(FILES["/a.bin"]).hexdigest(), "size": len(FILES["/a.bin"]),
         "group": "data", "urls": {"r2": server.url("/missing"), "hf": server.url("/a.bin")}},
        {"path": "m/ckpt/b.bin", "sha256": hashlib.sha256(FILES["/b.bin"]).hexdigest(), "size": len(FILES["/b.bin"]),
         "group": "checkpoint:m", "urls": {"hf": server.url("/b.bin")}},
    ]}  # fmt: skip


def _correct(out, manifest_path) -> str | None:
    """None when every file the manifest names arrived intact, else what is wrong."""
    for e in downloads.read_manifest(str(manifest_path)):
        got = (out / e.path).read_bytes() if (out / e.path).is_file() else None
        if got is None or hashlib.sha256(got).hexdigest() != e.sha256:
            return f"{e.path} missing or wrong after exit 0"
    return None


def test_fuzz_download_manifests(arena, server, request):
    base = _manifest(server)
    reader = "download manifests"
    for i in range(CASES * scale(request)):
        rng = random.Random(f"manifest-{i}")
        case = arena / f"case{i}"
        case.mkdir()
        mpath = case / "manifest.json"
        if rng.random() < 0.85:
            value, note = mutate_json_value(base, rng, rounds=rng.randint(1, 2))
            mpath.write_text(dump_json(value), encoding="utf-8")
        else:
            raw, note = mutate_bytes(json.dumps(base).encode(), rng)
            mpath.write_bytes(raw)
        from_url = rng.random() < 0.2
        if from_url:
            server.routes[f"/manifest{i}.json"] = Route(mpath.read_bytes())
        out = case / "out"

        def body(mpath=mpath, out=out, from_url=from_url, i=i, case=case) -> Outcome:
            where = server.url(f"/manifest{i}.json") if from_url else str(mpath)
            outcome = cli(["download", "--manifest", where, "--output-dir", str(out)], [mpath, where, out, "m/"])
            if outcome.kind == "load" and (problem := _correct(out, mpath)):
                return Outcome("bad", problem)
            stray = [k for k in snapshot(case) if not (k == "manifest.json" or k == "out" or k.startswith("out/"))]
            if stray:
                return Outcome("bad", f"wrote beside the output folder: {stray}")
            return outcome

        run_case(reader, arena, case, f"#{i} {note}", body)
        shutil.rmtree(case)
    assert_no_bad(reader)


BEHAVIOURS = ["ok", "drop", "truncate", "long_length", "short_length", "huge", "extra", "ignore_range",
              "bad_range", "always_416", "status", "redirect_same", "redirect_other", "redirect_loop"]  # fmt: skip
PARTS = ["none", "prefix", "complete", "complete_wrong", "longer", "garbage_prefix", "dir"]


def test_fuzz_http_server(arena, server, request):
    body_bytes = bytes(range(256)) * 64  # 16 KiB
    sha, size = hashlib.sha256(body_bytes).hexdigest(), len(body_bytes)
    reader = "http server"
    for i in range(CASES * scale(request)):
        rng = random.Random(f"http-{i}")
        case = arena / f"case{i}"
        case.mkdir()
        how, part_kind = rng.choice(BEHAVIOURS), rng.choice(PARTS)
        route = f"/f{i}"
        cut = rng.randrange(size)
        if how == "redirect_same":
            server.routes[route] = Route(behaviour="redirect", target=server.url(f"/g{i}"))
            server.routes[f"/g{i}"] = Route(body_bytes, rng.choice(["ok", "truncate", "extra"]), cut=cut)
        elif how == "redirect_other":
            server.routes[route] = Route(behaviour="redirect", target=server.url(f"/g{i}", host="localhost"))
            server.routes[f"/g{i}"] = Route(body_bytes)
        elif how == "redirect_loop":
            server.routes[route] = Route(behaviour="redirect", target=server.url(f"/g{i}"))
            server.routes[f"/g{i}"] = Route(behaviour="redirect", target=server.url(route))
        else:
            status = rng.choice([404, 500, 403, 301])
            server.routes[route] = Route(body_bytes, how, cut=cut, status=status)
        dest = case / "out" / "file.bin"
        dest.parent.mkdir()
        part = dest.with_name("file.bin.part")
        prefix = rng.randrange(1, size)
        part_data = {"prefix": body_bytes[:prefix], "complete": body_bytes, "longer": body_bytes + b"x",
                     "complete_wrong": b"\0" * size, "garbage_prefix": b"\1" * prefix}.get(part_kind)  # fmt: skip
        if part_data is not None:
            part.write_bytes(part_data)
        elif part_kind == "dir":
            part.mkdir()
        note = f"#{i} {how} cut={cut} part={part_kind}"

        def body(dest=dest, part=part, route=route) -> Outcome:
            outcome = call(lambda: downloads.download_file(server.url(route), dest, sha, size, timeout=2.0),
                           [dest, part, server.url(route), "file.bin"])  # fmt: skip
            if outcome.kind == "load" and dest.read_bytes() != body_bytes:
                return Outcome("bad", "a wrong file was accepted")
            if dest.exists() and dest.read_bytes() != body_bytes:
                return Outcome("bad", "a wrong file was left at the destination")
            if outcome.kind == "clean" and part.is_file() and len(part.read_bytes()) > size:
                return Outcome("bad", "a .part longer than the file was kept")
            return outcome

        run_case(reader, arena, case, note, body)
        shutil.rmtree(case)
    assert_no_bad(reader)
