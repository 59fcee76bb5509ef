"""The data-folder findings of issue 11, one test each: FIFOs and devices, deep JSON, wrong types, path escapes,
numbers beyond int64, NaN/huge activations, corrupt .npz headers, JSON output, convert's leftovers and its
nothing-to-do case, a closed stdout pipe. Each is a clean error for that model only (the other model still opens)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import make_native_layout, make_original_layout, tree_checksums

from diffviews_core.cli.main import main
from diffviews_core.formats import open_data
from diffviews_core.formats.root import UNEXPECTED
from diffviews_core.pipelines.convert import convert_model

ACT = "dmd2/activations/imagenet_real/batch_000000.npy"
INFO = ACT + ".json"
CSV = "dmd2/embeddings/demo_embeddings.csv"
DEMO = Path(__file__).resolve().parents[2] / "resources" / "diffviews_resources" / "demo" / "data"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")


@pytest.fixture
def root(tmp_path):
    return make_original_layout(tmp_path / "data", n_per_model=8, broken=False)


def only_dmd2_failed(root, *fragments: str) -> str:
    """Open ``root``: edm opens, dmd2 is a one-line problem naming a file of dmd2 and holding ``fragments``."""
    data = open_data(root)
    assert "edm" in data.models and "dmd2" not in data.models
    problem = data.problems["dmd2"]
    assert "\n" not in problem and str(root / "dmd2") in problem and UNEXPECTED not in problem
    for fragment in fragments:
        assert fragment in problem
    return problem


def run_cli(args, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@needs_fifo
@pytest.mark.parametrize("rel", [ACT, INFO, CSV, "dmd2/config.json", "dmd2/metadata/imagenet_real/dataset_info.json"])
def test_a_fifo_in_place_of_a_data_file_never_blocks(root, capsys, rel):
    (root / rel).unlink()
    os.mkfifo(root / rel)
    only_dmd2_failed(root, "not a regular file (a FIFO)")
    code, _out, err = run_cli(["neighbors", root, "-m", "dmd2", "--sample", 0], capsys)
    assert code == 4 and err.count("\n") == 1 and "FIFO" in err
    assert main(["info", str(root)]) == 4
    capsys.readouterr()


@pytest.mark.parametrize("rel", [ACT, INFO, CSV])
def test_a_link_to_dev_zero_is_refused_at_once(root, rel):
    (root / rel).unlink()
    (root / rel).symlink_to("/dev/zero")
    only_dmd2_failed(root, "not a regular file (a character device)")


@pytest.mark.parametrize("rel", [INFO, "dmd2/config.json", "dmd2/metadata/imagenet_real/dataset_info.json",
                                 "dmd2/embeddings/demo_embeddings.json"])  # fmt: skip
def test_deeply_nested_json_is_a_clean_error(root, rel):
    (root / rel).write_text("[" * 100_000 + "]" * 100_000)
    only_dmd2_failed(root, "nested")


@pytest.mark.parametrize(
    ("key", "raw"),
    [("total_features", "NaN"), ("total_features", "1e400"), ("num_samples", '"8"'), ("num_samples", "null"),
     ("num_samples", "[8]"), ("shapes", '{"midblock": "6,2,2", "encoder_bottleneck": [4, 2, 2]}'),
     ("layers", "[1, 2]"), ("shapes", '{"midblock": [1e400], "encoder_bottleneck": [4, 2, 2]}')],
)  # fmt: skip
def test_wrong_types_in_batch_json_cost_that_model_only(root, key, raw):
    text = json.dumps({**json.loads((root / INFO).read_text()), key: "@@"}).replace('"@@"', raw)
    (root / INFO).write_text(text)
    only_dmd2_failed(root, str(root / INFO))


@pytest.mark.parametrize("column", ["sample_id", "class_label"])
@pytest.mark.parametrize("value", ["99999999999999999999999", "1.5e400", "-9223372036854775809"])
def test_ids_and_labels_beyond_int64(root, column, value):
    lines = (root / CSV).read_text().splitlines()
    head = lines[0].split(",")
    cells = lines[2].split(",")
    cells[head.index(column)] = value
    lines[2] = ",".join(cells)
    (root / CSV).write_text("\n".join(lines) + "\n")
    only_dmd2_failed(root, column)


@pytest.mark.parametrize("value", [np.nan, np.inf, 3e38])
def test_nan_and_huge_activations_keep_neighbors_working(root, capsys, value):
    acts = np.load(root / ACT)
    acts[3, 5] = value
    np.save(root / ACT, acts)
    sid = int(open_data(root).models["dmd2"].samples.sample_id[0])
    code, out, _err = run_cli(["neighbors", root, "-m", "dmd2", "--sample", sid, "-k", "7", "--json"], capsys)
    assert code == 0
    hits = json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))["neighbors"]
    bad_id = int(open_data(root).models["dmd2"].samples.sample_id[3])
    if value == 3e38:  # a number, only far away: the farthest neighbour
        assert len(hits) == 7 and hits[-1]["sample_id"] == bad_id
    else:  # not a number: never a neighbour
        assert len(hits) == 6 and bad_id not in [h["sample_id"] for h in hits]
    code, _out, err = run_cli(["neighbors", root, "-m", "dmd2", "--sample", bad_id, "-k", "3"], capsys)
    assert (code, err.count("\n")) == ((0, 0) if value == 3e38 else (4, 1))


def test_a_bit_flipped_npz_member_header(root):
    npz = next((root / "edm" / "activations" / "imagenet_real").glob("*.npz"))
    raw = bytearray(npz.read_bytes())
    with zipfile.ZipFile(npz) as zf:
        info = zf.infolist()[0]
    at = raw.find(b"{'descr'", info.header_offset)  # the .npy header of the first member (stored uncompressed?)
    if at < 0:  # compressed members: rewrite one stored, so the header bytes are reachable
        with np.load(npz) as z:
            arrays = {k: z[k] for k in z.files}
        np.savez(npz, **arrays)
        raw = bytearray(npz.read_bytes())
        at = raw.find(b"{'descr'")
    raw[at + 12] ^= 0x5C
    npz.write_bytes(bytes(raw))
    data = open_data(root)
    assert "dmd2" in data.models and "edm" not in data.models
    assert str(npz) in data.problems["edm"] and UNEXPECTED not in data.problems["edm"]


def test_json_output_has_no_bare_nan(root, capsys):
    cfg = json.loads((root / "dmd2" / "config.json").read_text())
    (root / "dmd2" / "config.json").write_text(json.dumps({**cfg, "note": float("nan"), "top": float("inf")}))
    code, out, _err = run_cli(["info", root, "--json"], capsys)
    assert code == 0
    report = json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert report["models"]["dmd2"]["config"]["note"] is None


@pytest.mark.parametrize(
    ("layers", "fragment"),
    [({"m": {"file": "../../outside.npy"}}, "leads outside"), ({"m": {"file": "/etc/passwd"}}, "is absolute"),
     ({"m": {"file": 5}}, "must be a string"), ({"m": {"file": None}}, "must be a string"),
     ({"m": {"file": "activations/m.npy", "shape": ["6", "2"]}}, "must be an integer"),
     ({"m": {"file": "activations/m.npy", "shape": [[6, 2]]}}, "must be an integer")],
)  # fmt: skip
def test_manifest_paths_stay_inside_and_types_are_checked(tmp_path, layers, fragment):
    root = make_native_layout(tmp_path / "native")
    (tmp_path / "outside.npy").write_bytes(b"secret")
    manifest = json.loads((root / "a" / "manifest.json").read_text())
    (root / "a" / "manifest.json").write_text(json.dumps({**manifest, "layers": layers}))
    data = open_data(root)
    assert "b" in data.models and fragment in data.problems["a"]


def test_files_bytes_as_a_string(tmp_path):
    root = make_native_layout(tmp_path / "native")
    manifest = json.loads((root / "a" / "manifest.json").read_text())
    manifest["files"]["samples.csv"]["bytes"] = "100"
    (root / "a" / "manifest.json").write_text(json.dumps(manifest))
    data = open_data(root)
    assert "b" in data.models and "bytes must be an integer" in data.problems["a"]


def test_convert_on_the_projects_own_format_has_nothing_to_do(tmp_path, capsys):
    code, out, err = run_cli(["convert", DEMO], capsys)
    assert code == 0 and "nothing to convert" in out and err == ""


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from diffviews_core.formats import npyio
    from diffviews_core.pipelines import convert

    real = npyio.iter_npz_rows

    def slow(path, name, chunk_bytes=npyio.READ_CHUNK_BYTES):
        for start, block in real(path, name, chunk_bytes=64):
            time.sleep(0.05)
            yield start, block

    convert.iter_npz_rows = slow
    convert.convert_model(sys.argv[1])
    """
)


@pytest.mark.slow
def test_a_killed_convert_leaves_temporaries_that_the_next_run_removes(root, tmp_path):
    script = tmp_path / "convert.py"
    script.write_text(KILL_SCRIPT)
    folder = root / "edm" / "activations" / "imagenet_real"
    victim = subprocess.Popen([sys.executable, str(script), str(root / "edm")])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and victim.poll() is None and not list(folder.glob(".*.tmp")):
        time.sleep(0.01)
    assert victim.poll() is None, "convert finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert list(folder.glob(".*.tmp")), "no temporary file to clean up"
    convert_model(root / "edm")
    assert not list(folder.glob(".*.tmp")) and not list(folder.glob("*.npz"))
    assert "edm" in open_data(root).models


def test_info_into_a_closed_pipe_ends_quietly(root):
    """``diffviews info DIR --json | head -1``: the reader stops early; no BrokenPipeError traceback."""
    cfg = json.loads((root / "dmd2" / "config.json").read_text())
    (root / "dmd2" / "config.json").write_text(json.dumps({**cfg, "note": "x" * 400_000}))  # more than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "diffviews_core.cli", "info", str(root), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_verbose_adds_the_traceback(root, capsys):
    (root / INFO).write_text("{")
    assert main(["neighbors", str(root), "-m", "dmd2", "--sample", "0"]) == 4
    assert "Traceback" not in capsys.readouterr().err
    assert main(["-v", "neighbors", str(root), "-m", "dmd2", "--sample", "0"]) == 4
    assert "Traceback" in capsys.readouterr().err


def test_the_data_root_is_unchanged_by_readers(root, capsys):
    before = tree_checksums(root)
    for args in (["info", root, "--json", "--verify"], ["neighbors", root, "-m", "dmd2", "--sample", 0]):
        run_cli(args, capsys)
    assert tree_checksums(root) == before


def test_embed_refuses_activations_that_are_not_numbers(root, capsys, tmp_path):
    acts = np.load(root / ACT)
    acts[2, 1] = np.nan
    np.save(root / ACT, acts)
    code, _out, err = run_cli(["embed", root, "-m", "dmd2", "--cache-dir", tmp_path / "cache"], capsys)
    assert code == 4 and err.count("\n") == 1 and "NaN or infinity" in err and str(root / "dmd2") in err
