"""Checkpoints in all three formats: seeded byte damage and hostile architecture arguments, read by the loader
(``load_network``) and by ``inspect``. Nothing stored in a file may run: every pickle carries a tripwire."""

from __future__ import annotations

import json
import math
import random
import shutil

import pytest
import torch
from checkpoint_fixtures import edm_snapshot, write_edm_pickle
from harness import Outcome, assert_no_bad, call, run_case, scale
from mutate import RAW_TOKENS, dump_json, mutate_bytes, mutate_json_value
from safetensors.torch import save_file

from diffviews_core.checkpoints import inspect_checkpoint, load_network
from diffviews_core.networks import build_edm

CASES = 200
# Small enough that a case costs ~0.1 s: one level, one block, a label embedding.
CONFIG = dict(img_resolution=4, img_channels=1, label_dim=2, model_channels=4, channel_mult=[1], num_blocks=1,
              attn_resolutions=[4], dropout=0.0)  # fmt: skip
_PY_TOKENS = {"__NAN__": math.nan, "__INF__": math.inf, "__NEGINF__": -math.inf, "__1E400__": math.inf,
              "__NEG1E400__": -math.inf, "__HUGE_INT__": 10**5000, "__DEEP__": [], "__DEEP_OBJ__": {}}  # fmt: skip


def _python(value):
    """A mutated JSON value as Python objects (for pickled arguments): raw-token stand-ins become real values."""
    if isinstance(value, str) and value in RAW_TOKENS:
        return _PY_TOKENS[value]
    if isinstance(value, list):
        return [_python(v) for v in value]
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return build_edm(CONFIG).eval()


@pytest.fixture
def tripwire(tmp_path_factory):
    path = tmp_path_factory.mktemp("tripwire") / "TRIPWIRE"
    yield path
    assert not path.exists(), "code stored in a checkpoint was executed"


def _check(reader: str, arena, case, note: str, path) -> None:
    def body() -> Outcome:
        names = [path, path.with_suffix(".json"), path.parent / "config.json"]
        loaded = call(lambda: load_network(path), names)
        inspected = call(lambda: inspect_checkpoint(path), names)
        if inspected.kind == "bad":
            return Outcome("bad", f"inspect: {inspected.detail}")
        return loaded

    run_case(reader, arena, case, note, body)


def _config_json(path, rng, note):
    """Beside a state-dict file: the honest config, a mutated one, or damaged bytes."""
    if rng.random() < 0.5:
        path.with_suffix(".json").write_text(json.dumps({"network": CONFIG}))
        return note
    if rng.random() < 0.8:
        value, more = mutate_json_value({"network": CONFIG}, rng, rounds=rng.randint(1, 2))
        path.with_suffix(".json").write_text(dump_json(value))
    else:
        raw, more = mutate_bytes(json.dumps({"network": CONFIG}).encode(), rng)
        path.with_suffix(".json").write_bytes(raw)
    return f"{note}; config {more}"


def test_fuzz_checkpoint_pickle(arena, net, tripwire, request):
    base = arena / "base.pkl"
    write_edm_pickle(base, edm_snapshot(net), CONFIG, tripwire=tripwire)
    reader = "checkpoints .pkl"
    for i in range(CASES * scale(request)):
        rng = random.Random(f"pkl-{i}")
        case = arena / f"case{i}"
        case.mkdir()
        path = case / "model.pkl"
        if rng.random() < 0.3:
            value, note = mutate_json_value(CONFIG, rng, rounds=rng.randint(1, 2))
            config = _python(value)
            try:
                write_edm_pickle(path, edm_snapshot(net), config, tripwire=tripwire)
            except (TypeError, ValueError, RecursionError, pickle_error()):  # not picklable as EDM writes it
                write_edm_pickle(path, edm_snapshot(net), {**CONFIG, "num_blocks": 10**6}, tripwire=tripwire)
                note = "num_blocks=1000000"
            note = f"_init_kwargs {note}"
        else:
            raw, note = mutate_bytes(base.read_bytes(), rng, header=600)
            path.write_bytes(raw)
        _check(reader, arena, case, f"#{i} {note}", path)
        shutil.rmtree(case)
    assert_no_bad(reader)


def pickle_error():
    import pickle

    return pickle.PicklingError


def test_fuzz_checkpoint_torch(arena, net, request):
    base = arena / "base.pt"
    torch.save(net.state_dict(), base)
    reader = "checkpoints .pt/.bin"
    for i in range(CASES * scale(request)):
        rng = random.Random(f"pt-{i}")
        case = arena / f"case{i}"
        case.mkdir()
        path = case / rng.choice(["model.pt", "model.bin", "model.pth"])
        what = rng.random()
        if what < 0.5:
            raw, note = mutate_bytes(base.read_bytes(), rng, header=2048)
            path.write_bytes(raw)
        elif what < 0.75:  # a state dict with a wrong entry
            sd = dict(net.state_dict())
            key = rng.choice(sorted(sd))
            sd[key] = rng.choice([torch.zeros(3), torch.zeros(sd[key].shape, dtype=torch.int64),
                                  torch.full(sd[key].shape, math.nan), torch.zeros(0)])  # fmt: skip
            if rng.random() < 0.3:
                del sd[key]
            torch.save(sd, path)
            note = f"entry {key} replaced"
        else:
            shutil.copy(base, path)
            note = "honest weights"
        note = _config_json(path, rng, note)
        _check(reader, arena, case, f"#{i} {note}", path)
        shutil.rmtree(case)
    assert_no_bad(reader)


def test_fuzz_checkpoint_safetensors(arena, net, request):
    base = arena / "base.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(base))
    raw_base = base.read_bytes()
    header_len = int.from_bytes(raw_base[:8], "little")
    header = json.loads(raw_base[8 : 8 + header_len])
    reader = "checkpoints .safetensors"
    for i in range(CASES * scale(request)):
        rng = random.Random(f"st-{i}")
        case = arena / f"case{i}"
        case.mkdir()
        path = case / "model.safetensors"
        what = rng.random()
        if what < 0.4:
            raw, note = mutate_bytes(raw_base, rng, header=8 + header_len)
            path.write_bytes(raw)
        elif what < 0.75:  # a hostile header: offsets, dtypes, shapes
            value, note = mutate_json_value(header, rng, rounds=rng.randint(1, 2))
            text = dump_json(value).encode()
            path.write_bytes(len(text).to_bytes(8, "little") + text + raw_base[8 + header_len :])
            note = f"header {note}"
        else:
            shutil.copy(base, path)
            note = "honest weights"
        note = _config_json(path, rng, note)
        _check(reader, arena, case, f"#{i} {note}", path)
        shutil.rmtree(case)
    assert_no_bad(reader)
