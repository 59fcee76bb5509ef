"""Data folders in both layouts: one file of one model damaged, replaced by a FIFO, a device link, a link loop, a
folder or nothing, then opened as the window opens it (plus the lazy reads: activations, embeddings, images,
checksums), listed by ``info --json --verify``, searched by ``neighbors`` and converted by ``convert``.

Each case asserts: a clean problem for that model only (the other model still opens), valid JSON output, no write
into the data folder except by ``convert`` inside that model's folder, no temporary files left behind."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import make_native_layout, make_original_layout
from harness import Outcome, assert_no_bad, call, cli, run_case, scale, snapshot
from mutate import dump_json, mutate_bytes, mutate_csv_text, mutate_json_value

from diffviews_core.formats import open_data
from diffviews_core.formats.root import UNEXPECTED

CASES = 200
SPECIALS = ["fifo", "dev_zero", "loop", "dangling", "folder", "empty", "delete"]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpora")
    return {
        "original": (make_original_layout(base / "original", n_per_model=6, broken=False), ("dmd2", "edm")),
        "native": (make_native_layout(base / "native"), ("a", "b")),
    }


def _strict_json(text: str):
    def refuse(token):
        raise ValueError(f"bare {token} in JSON output")

    return json.loads(text, parse_constant=refuse)


def _inject_values(path: Path, rng: random.Random) -> str:
    """Rewrite an array file valid but holding NaN, infinities or values near the float32 limit."""
    value = rng.choice([np.nan, np.inf, -np.inf, 3e38, -3e38])
    if path.suffix == ".npy":
        arr = np.load(path)
        arr.reshape(-1)[rng.randrange(arr.size)] = value
        if rng.random() < 0.5:
            arr[rng.randrange(len(arr))] = value
        np.save(path, arr)
    else:
        with np.load(path) as z:
            arrays = {k: z[k].copy() for k in z.files}
        key = rng.choice(sorted(arrays))
        arrays[key][rng.randrange(len(arrays[key]))] = value
        np.savez_compressed(path, **arrays)
    return f"{value} injected"


def _damage(model: Path, root: Path, rng: random.Random) -> str:
    files = sorted(p for p in model.rglob("*") if p.is_file() and p.suffix != ".pkl")
    if (root / "imagenet_standard_class_index.json").exists() and rng.random() < 0.05:
        target = root / "imagenet_standard_class_index.json"
    else:
        weights = [0.3 if p.suffix == ".png" else 3.0 for p in files]  # images are many and simple
        target = rng.choices(files, weights)[0]
    rel = target.relative_to(root)
    if rng.random() < 0.25:
        kind = rng.choice(SPECIALS)
        target.unlink()
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "dev_zero":
            target.symlink_to("/dev/zero")
        elif kind == "loop":
            target.symlink_to(target.name)
        elif kind == "dangling":
            target.symlink_to("no-such-file")
        elif kind == "folder":
            target.mkdir()
        elif kind == "empty":
            target.write_bytes(b"")
        return f"{rel} -> {kind}"
    suffix = target.suffix
    if suffix == ".json" and rng.random() < 0.85:
        value, note = mutate_json_value(json.loads(target.read_text()), rng, rounds=rng.randint(1, 2))
        target.write_text(dump_json(value), encoding="utf-8")
    elif suffix == ".csv" and rng.random() < 0.8:
        text, note = mutate_csv_text(target.read_text(encoding="utf-8"), rng)
        target.write_bytes(text.encode("utf-8", "surrogateescape"))
    elif suffix in (".npy", ".npz") and rng.random() < 0.35:
        note = _inject_values(target, rng)
    else:
        raw, note = mutate_bytes(target.read_bytes(), rng, header=160 if suffix == ".npy" else None)
        target.write_bytes(raw)
    return f"{rel}: {note}"


def _open_and_read(root: Path, target: str, other: str) -> Outcome:
    """The window's open (``open_data``) and the lazy reads a user's clicks trigger."""
    opened = call(lambda: open_data(root), [root])
    if opened.kind != "load":
        return opened
    data = opened.value
    for name, problem in data.problems.items():
        if UNEXPECTED in problem or "\n" in problem or str(root) not in problem:
            return Outcome("bad", f"problem of {name}: {problem[:300]}")
    if other not in data.models:
        return Outcome("bad", f"the untouched model {other} did not open: {data.problems.get(other)}")
    if target not in data.models:
        return Outcome("clean", data.problems.get(target, "target not listed"))
    model = data.models[target]
    reads = [model.activations, lambda: model.layer_shapes, model.verify, lambda: model.image(0)]
    reads += [lambda name=name: model.embedding(name) for name in model.embedding_names]
    reads += [lambda layer=layer: model.activations([layer]) for layer in model.layers]
    kind = "load"
    for read in reads:
        outcome = call(read, [root])
        if outcome.kind == "bad":
            return outcome
        if outcome.kind == "clean":
            kind = "clean"
    return Outcome(kind)


def _check_json_output(outcome: Outcome, what: str) -> Outcome:
    if outcome.kind != "bad" and outcome.value:
        try:
            _strict_json(outcome.value)
        except ValueError as exc:
            return Outcome("bad", f"{what} printed invalid JSON: {exc}")
    return outcome


def _readers_on(case: Path, root: Path, target: str, other: str, sample: int, note: str, arena: Path,
                readers: dict[str, str]) -> None:  # fmt: skip
    """Run the four readers on one damaged data folder; the first three may not change it."""
    before = snapshot(root)

    def read_only(body):
        def wrapped() -> Outcome:
            outcome = body()
            if outcome.kind != "bad" and (changed := sorted(set(snapshot(root).items()) ^ set(before.items()))):
                return Outcome("bad", f"a reader changed the data folder: {changed[:4]}")
            return outcome

        return wrapped

    info = ["info", str(root), "--json", "--verify"]
    knn = ["neighbors", str(root), "-m", target, "--sample", str(sample), "-k", "3", "--json"]
    run_case(readers["open (window)"], arena, case, note, read_only(lambda: _open_and_read(root, target, other)))
    run_case(readers["info"], arena, case, note, read_only(lambda: _check_json_output(cli(info, [root]), "info")))
    run_case(readers["neighbors"], arena, case, note, read_only(lambda: _check_json_output(cli(knn, [root]), "knn")))

    def convert() -> Outcome:
        outside = {k: v for k, v in snapshot(root).items() if not k.startswith(f"{target}/")}
        outcome = cli(["convert", str(root / target)], [root])
        if outcome.kind == "bad":
            return outcome
        if {k: v for k, v in snapshot(root).items() if not k.startswith(f"{target}/")} != outside:
            return Outcome("bad", "convert wrote outside the model folder")
        leftovers = [p.name for p in (root / target).rglob("*.tmp")]
        if leftovers:
            return Outcome("bad", f"convert left temporary files {leftovers}")
        again = _open_and_read(root, target, other)  # what convert wrote must open (or be a clean problem)
        return again if again.kind == "bad" else outcome

    run_case(readers["convert"], arena, case, note, convert)


@pytest.mark.parametrize("layout", ["original", "native"])
def test_fuzz_data_folders(arena, corpora, request, layout):
    base, models = corpora[layout]
    first_sample = {m: int(model.samples.sample_id[0]) for m, model in open_data(base).models.items()}
    readers = {op: f"data {layout}: {op}" for op in ("open (window)", "info", "neighbors", "convert")}
    for i in range(CASES * scale(request)):
        rng = random.Random(f"data-{layout}-{i}")
        case = arena / f"case{i}"
        root = case / "data"
        shutil.copytree(base, root, symlinks=True)
        target = rng.choice(models)
        other = models[1 - models.index(target)]
        note = f"#{i} {_damage(root / target, root, rng)}"
        _readers_on(case, root, target, other, first_sample[target], note, arena, readers)
        shutil.rmtree(case)
    for reader in readers.values():
        assert_no_bad(reader)
