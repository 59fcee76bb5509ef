"""Lineage files: seeded mutations of a real record, read with ``Lineage.load``."""

from __future__ import annotations

import json
import random
import shutil

from harness import Outcome, assert_no_bad, call, run_case, scale
from mutate import dump_json, mutate_bytes, mutate_json_value

from diffviews_core.lineage import GenerationSettings, Lineage

CASES = 200


def _base() -> dict:
    settings = GenerationSettings(num_steps=4, mask_steps=2, step_range=[1, 3], guidance_scale=1.5, seed=7)
    return Lineage(
        model="dmd2", adapter="dmd2-imagenet-64", layers=["midblock"], source_sample_ids=[1, 2, 3], class_label=4,
        settings=settings, checkpoint="ckpt.safetensors", checkpoint_sha256="a" * 64, image_sha256=["b" * 64],
    ).to_dict()  # fmt: skip


def test_fuzz_lineage(arena, request):
    base = _base()
    reader = "lineage"
    for i in range(CASES * scale(request)):
        rng = random.Random(f"lineage-{i}")
        case = arena / f"case{i}"
        case.mkdir()
        path = case / "lineage.json"
        if rng.random() < 0.85:
            value, note = mutate_json_value(base, rng, rounds=rng.randint(1, 3))
            path.write_text(dump_json(value), encoding="utf-8")
        else:
            raw, note = mutate_bytes(json.dumps(base).encode(), rng)
            path.write_bytes(raw)

        def body(path=path) -> Outcome:
            outcome = call(lambda: Lineage.load(path), [path])
            if outcome.kind == "load":  # what loads must be usable: it saves and reads back the same
                out = path.with_name("again.json")
                outcome.value.save(out)
                if Lineage.load(out) != outcome.value:
                    return Outcome("bad", "loaded record does not survive a save")
            return outcome

        run_case(reader, arena, case, f"#{i} {note}", body)
        shutil.rmtree(case)
    assert_no_bad(reader)
