"""Search without a window: ids, class names, captions, any metadata value and ``column=value``, with counts and the
"no match" line the Classes dock shows."""

from __future__ import annotations

import numpy as np
from diffviews_app.search import search_samples

from diffviews_core.formats.table import SampleTable


def _table(captions: bool = False) -> SampleTable:
    n = 12
    cols = {
        "sample_id": np.arange(100, 100 + n, dtype=np.int64),
        "image_path": np.array([f"images/{i}.png" for i in range(n)], dtype=object),
        "conditioning_sigma": np.linspace(0.1, 80.0, n),
        "label_mode": np.array(["uniform", "mixed", "uniform-soft"] * 4, dtype=object),
        "step": np.arange(n, dtype=np.int64) % 3,
    }
    if captions:
        cols["caption"] = np.array([f"a photo of a {w}" for w in ["cat", "dog", "sandy beach"] * 4], dtype=object)
    else:
        cols["class_label"] = np.arange(n, dtype=np.int64) % 4
        cols["class_name"] = np.array(["", "goldfish", "tench", "shark"] * 3, dtype=object)
    return SampleTable(cols)


def test_a_sample_id_is_found_alone_and_a_missing_one_says_no_match():
    samples = _table()
    found = search_samples(samples, " 103 ")
    assert found.rows.tolist() == [3] and found.sources == (("sample id", 1),)
    assert found.summary(samples) == "sample_000103 found (Enter selects it)"
    assert search_samples(samples, "sample_000105").rows.tolist() == [5]
    missing = search_samples(samples, "99999")
    assert missing.count == 0 and missing.summary(samples) == "No match for “99999”"
    assert search_samples(samples, "  ").summary(samples) == ""  # nothing typed: nothing said


def test_class_names_from_the_table_or_the_data_root_and_any_text_metadata():
    samples = _table()
    gold = search_samples(samples, "GOLD")
    assert gold.rows.tolist() == [1, 5, 9] and gold.summary() == "3 matches (class name 3), highlighted"
    root_names = {0: "great white shark"}  # label 0 has no name in the table: the data root's is used
    sharks = search_samples(samples, "shark", root_names)
    assert sharks.rows.tolist() == [0, 3, 4, 7, 8, 11]
    uniform = search_samples(samples, "uniform")  # a string column, searched as text
    assert uniform.rows.tolist() == [0, 2, 3, 5, 6, 8, 9, 11] and uniform.sources == (("label_mode", 8),)
    assert search_samples(samples, "u").count == 0  # one letter matches only a whole value


def test_column_equals_value_compares_numbers_as_numbers_and_names_unknown_columns():
    samples = _table()
    assert search_samples(samples, "step=2").rows.tolist() == [2, 5, 8, 11]
    assert search_samples(samples, "step = 2.0").rows.tolist() == [2, 5, 8, 11]
    assert search_samples(samples, "label_mode=mixed").rows.tolist() == [1, 4, 7, 10]
    assert search_samples(samples, "step=two").count == 0
    bad = search_samples(samples, "colour=red")
    assert bad.count == 0 and bad.summary(samples).startswith("No column “colour” (columns: sample_id, ")


def test_captions_are_searched_for_text_conditioned_samples():
    samples = _table(captions=True)
    beach = search_samples(samples, "sandy beach")
    assert beach.rows.tolist() == [2, 5, 8, 11] and beach.summary() == "4 matches (caption 4), highlighted"


def test_a_prepared_search_finds_the_same_and_a_cancelled_one_still_works():
    from threading import Event

    from diffviews_app.search import SampleSearch

    samples = _table()
    prepared = SampleSearch(samples).prepare()
    assert set(prepared._columns) == {"class name", "label_mode"}  # every searched text, built once
    for text in ("gold", "uniform", "103", "step=1", "nothing"):
        a, b = prepared(text), search_samples(samples, text)
        assert a.rows.tolist() == b.rows.tolist() and a.sources == b.sources
    cancel = Event()
    cancel.set()
    assert SampleSearch(samples).prepare(cancel)("shark").rows.tolist() == [3, 7, 11]
