"""Colour by any column, without a window: texts and few-valued integers are categories with a legend, numbers a
ramp with its range for the colour bar; the noise level on a log scale."""

from __future__ import annotations

import numpy as np
import pytest
from diffviews_app.colors import class_colors, color_options, colouring, column_kind, point_colors

N = 12


def _columns() -> dict[str, np.ndarray]:
    return {
        "sample_id": np.arange(N),
        "class_label": np.arange(N) % 3,
        "class_name": np.array(["a", "b", "c"] * 4, dtype=object),
        "image_path": np.array([f"{i}.png" for i in range(N)], dtype=object),
        "conditioning_sigma": np.array([80.0, 8.0, 0.8, 0.08] * 3),
        "label_mode": np.array(["true", "null", "true", "true"] * 3, dtype=object),
        "level_index": np.arange(N) % 4,
        "image_index": np.arange(N) * 7,  # 12 distinct integers: still categories
        "score": np.linspace(-1.0, 2.0, N),
        "caption_like": np.array([f"text {i}" for i in range(N)] * 3, dtype=object)[:N],
    }


def test_every_column_that_colour_can_tell_apart_is_offered():
    cols = _columns()
    cols["many_ints"] = np.arange(N) * 3 + (np.arange(N) > 5) * 1000  # more integers than categories allow
    cols["many_texts"] = np.array([f"t{i}" for i in range(N)] * 3, dtype=object)[:N]
    assert column_kind(cols["label_mode"]) == "categorical" and column_kind(cols["score"]) == "numeric"
    assert column_kind(np.arange(40)) == "numeric" and column_kind(np.array([f"p{i}" for i in range(99)])) is None
    options = color_options(cols)
    assert options[:2] == ["class", "noise"]
    assert {"label_mode", "level_index", "image_index", "score"} <= set(options)
    assert not {"sample_id", "image_path", "class_name", "class_label", "conditioning_sigma"} & set(options)


def test_a_text_column_is_a_legend_of_its_values_with_counts_and_colours():
    info = colouring(_columns(), "label_mode", N)
    assert info.kind == "categorical" and info.value_range is None
    assert [(c.text, c.count) for c in info.categories] == [("null", 3), ("true", 9)]
    null, true = (np.asarray(c.rgb, dtype=np.float32) for c in info.categories)
    assert not np.allclose(null, true)
    np.testing.assert_allclose(info.rgb[1], null)  # row 1 is "null"
    np.testing.assert_allclose(info.rgb[0], true)


def test_numbers_are_a_ramp_with_their_range_and_the_noise_level_a_log_ramp():
    info = colouring(_columns(), "score", N)
    assert info.kind == "numeric" and info.value_range == (-1.0, 2.0) and not info.log and not info.categories
    assert np.all(np.diff(info.rgb[:, 0][[0, -1]]) != 0)  # the ends differ
    noise = colouring(_columns(), "noise", N)
    assert noise.kind == "numeric" and noise.log and noise.value_range == (0.08, 80.0)


def test_class_colours_are_the_legend_and_rgba_keeps_the_noise_alpha():
    cols = _columns()
    info = colouring(cols, "class", N)
    _, legend = class_colors(cols["class_label"])
    assert [(c.value, c.rgb, c.count) for c in info.categories] == [(k, legend[k], 4) for k in range(3)]
    rgba = point_colors(cols, "label_mode", N)
    assert rgba.shape == (N, 4) and rgba[0, 3] < rgba[3, 3]  # noisier rows fainter
    grey = point_colors(cols, "no_such_column", N)
    assert np.allclose(grey[:, :3], 0.4)


def test_dark_theme_lifts_dark_colours_and_keeps_bright_ones():
    from diffviews_app.colors import DARK_MIN_ALPHA, DARK_MIN_LUMA, MIN_ALPHA, for_background, ramp_stops

    luma = np.array([0.2126, 0.7152, 0.0722])
    stops = ramp_stops()
    assert np.array_equal(for_background(stops, dark=False), stops)  # light: the original palette
    lifted = for_background(stops, dark=True)
    assert (lifted @ luma).min() >= DARK_MIN_LUMA - 1e-5  # viridis' purple end no longer sinks into the background
    assert np.array_equal(lifted[-1], stops[-1])  # the bright yellow end is bright enough already
    assert np.argmax(lifted[0]) == np.argmax(stops[0])  # the hue is kept: mixed with white, not recoloured
    columns = {"class_label": np.arange(4), "conditioning_sigma": np.array([0.002, 0.1, 5.0, 80.0])}
    light, dark = point_colors(columns, "class", 4), point_colors(columns, "class", 4, dark=True)
    assert light[:, 3].min() == pytest.approx(MIN_ALPHA) and dark[:, 3].min() == pytest.approx(DARK_MIN_ALPHA)
    assert np.all(dark[:, :3] >= light[:, :3] - 1e-6)
