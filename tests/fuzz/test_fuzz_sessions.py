"""Session files: seeded mutations of a real session (two trajectories with images and lineage), read with the
Qt-free reader the window uses."""

from __future__ import annotations

import base64
import io
import json
import random
import shutil

import numpy as np
import pytest
from harness import Outcome, assert_no_bad, call, run_case, scale
from mutate import dump_json, mutate_bytes, mutate_json_value
from PIL import Image

from diffviews_core.errors import DataError
from diffviews_core.lineage import GenerationSettings, Lineage
from diffviews_core.session_format import SESSION_KIND, SESSION_VERSION, read_session_file

CASES = 200


def _png(seed: int) -> str:
    img = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _trajectory(run: int, masked: bool) -> dict:
    lineage = Lineage(model="m", adapter="edm", layers=["midblock"], source_sample_ids=[3], class_label=1,
                      settings=GenerationSettings(num_steps=3)).to_dict()  # fmt: skip
    return {
        "run": run, "sample": 0, "masked": masked, "class_label": 1, "class_text": "1: trouser",
        "map_key": ["/data/m", "midblock"], "num_steps": 3, "mask_steps": [0], "sigmas": [80.0, 5.0, 0.5],
        "coords2d": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], "coords3d": [[0.1, 0.2, 0.3]] * 3,
        "distances": [1.0, 0.5, float("nan")], "image_png": _png(run), "lineage": lineage,
    }  # fmt: skip


def base_session() -> dict:
    return {
        "kind": SESSION_KIND, "version": SESSION_VERSION, "data_dir": "/data", "model": "m", "layer": "midblock",
        "mode": "3d", "color_by": "class", "k": 5, "knn_space": "activation", "selected": 10003,
        "neighbours": [{"sample_id": 10004, "distance": 0.5}, {"sample_id": 7, "distance": None}],
        "camera": {"mode": "2d", "2d": {"rect": [0.0, 0.0, 1.0, 1.0]},
                   "3d": {"center": [0, 0, 0], "azimuth": 30.0, "elevation": 30.0, "roll": 0.0, "fov": 45.0,
                          "scale_factor": 2.0, "distance": None}},
        "generation": {"num_steps": 3, "seed": 5, "cfg_pass": "cond", "blend": 0.5},
        "trajectories": [_trajectory(1, True), _trajectory(2, False)], "current": 1,
    }  # fmt: skip


def test_fuzz_sessions(arena, request):
    base = base_session()
    reader = "sessions"
    for i in range(CASES * scale(request)):
        rng = random.Random(f"session-{i}")
        case = arena / f"case{i}"
        case.mkdir()
        path = case / "session.json"
        kind = rng.random()
        if kind < 0.7:
            value, note = mutate_json_value(base, rng, rounds=rng.randint(1, 3))
            path.write_text(dump_json(value), encoding="utf-8")
        elif kind < 0.85:  # a damaged image inside an otherwise valid session
            value = json.loads(json.dumps(base))
            raw, note = mutate_bytes(base64.b64decode(value["trajectories"][0]["image_png"]), rng, header=40)
            value["trajectories"][0]["image_png"] = base64.b64encode(raw).decode("ascii")
            path.write_text(json.dumps(value), encoding="utf-8")
            note = f"image: {note}"
        else:
            raw, note = mutate_bytes(json.dumps(base).encode(), rng)
            path.write_bytes(raw)

        def body(path=path) -> Outcome:
            outcome = call(lambda: read_session_file(path), [path])
            if outcome.kind == "load":
                for t in outcome.value["trajectories"]:  # what the window receives is drawable
                    if t["image"] is not None and (t["image"].dtype != np.uint8 or t["image"].ndim != 3):
                        return Outcome("bad", f"image of {t['image'].dtype} {t['image'].shape}")
                    if any(not np.isfinite(p).all() for p in t["coords2d"] + t["coords3d"]):
                        return Outcome("bad", "non-finite coordinates accepted")
            return outcome

        run_case(reader, arena, case, f"#{i} {note}", body)
        shutil.rmtree(case)
    assert_no_bad(reader)


def test_text_sample_ids_are_read_and_wrong_kinds_named(tmp_path):
    """Models with text ids (the extraction layout) save them as strings; the checked reader keeps them."""
    path = tmp_path / "session.json"
    session = {**base_session(), "selected": "sample_000003_n0",
               "neighbours": [{"sample_id": "sample_000001_n35", "distance": 0.5}, {"sample_id": 7, "distance": None}]}  # fmt: skip
    path.write_text(json.dumps(session))
    read = read_session_file(path)
    assert read["selected"] == "sample_000003_n0" and read["neighbours"] == [("sample_000001_n35", 0.5), (7, None)]
    for bad in ("", 1.5, True, ["a"]):
        path.write_text(json.dumps({**session, "selected": bad}))
        with pytest.raises(DataError, match=r"session.json: bad session: selected"):
            read_session_file(path)
