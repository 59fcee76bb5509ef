"""Distinct integer values by counting: the same answer as np.unique."""

from __future__ import annotations

import numpy as np
import pytest

from diffviews_core.unique import int_unique


@pytest.mark.parametrize("values", [
    np.array([5, 3, 5, 9, 3, 3], dtype=np.int64),
    np.array([-4, 7, -4, 0], dtype=np.int32),
    np.array([2, 2**40, 2, -(2**40)], dtype=np.int64),  # too wide a range to count: sorted as np.unique does
    np.array([], dtype=np.int64),
    np.array([200, 7, 7, 255], dtype=np.uint8),
    np.array([-100, 100, 5, -100], dtype=np.int8),  # the span overflows int8
    np.random.default_rng(0).integers(0, 1000, 50_000),
    np.array([0.5, -1.0, 0.5]),
])  # fmt: skip
def test_int_unique_is_np_unique(values):
    expected = np.unique(values, return_index=True, return_inverse=True, return_counts=True)
    uniq, inverse, counts, first = int_unique(values, first=True)
    for got, want in zip((uniq, first, inverse, counts), expected, strict=True):
        np.testing.assert_array_equal(got, want.ravel())
    assert uniq.dtype == values.dtype
    short = int_unique(values)
    assert len(short) == 3 and all(np.array_equal(a, b) for a, b in zip(short, (uniq, inverse, counts)))
