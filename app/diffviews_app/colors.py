"""Point colours: a stable palette per class, a perceptual ramp for numeric columns, opacity by noise level; one
colour per generation run.

Pure numpy so it is cheap to test; the canvas receives one (N, 4) float32 array per change of colouring.
"""

from __future__ import annotations

import colorsys
import weakref
from dataclasses import dataclass, field

import numpy as np

from diffviews_core.unique import int_unique

# Tableau 10 / 20: distinct and familiar for the usual small label sets (Fashion-MNIST, CIFAR-10).
_TAB20 = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
]  # fmt: skip
# Viridis at 9 stops, linearly interpolated: enough for a colour ramp on points.
_VIRIDIS = np.array(
    [
        [0.267, 0.005, 0.329], [0.283, 0.141, 0.458], [0.254, 0.265, 0.530], [0.207, 0.372, 0.553],
        [0.164, 0.471, 0.558], [0.128, 0.567, 0.551], [0.135, 0.659, 0.518], [0.267, 0.749, 0.441],
        [0.478, 0.821, 0.318], [0.741, 0.873, 0.150], [0.993, 0.906, 0.144],
    ],
    dtype=np.float32,
)  # fmt: skip
NOISE_COLUMN = "conditioning_sigma"
MIN_ALPHA = 0.35
# On the dark map (background about 0.11 bright) the palettes' dark ends (viridis' purple, Tableau's blue) would be
# darker than the background: points are lifted towards white to this brightness, and the noisiest kept more opaque.
DARK_MIN_LUMA = 0.55
DARK_MIN_ALPHA = 0.6
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec. 709 weights


def _hex(c: str) -> tuple[float, float, float]:
    return tuple(int(c[i : i + 2], 16) / 255.0 for i in (1, 3, 5))


def class_color(label: int, num_classes: int) -> tuple[float, float, float]:
    """The RGB of one class, identical in the legend and on the map."""
    if num_classes <= 10:
        return _hex(_TAB20[label % 10])
    if num_classes <= 20:
        return _hex(_TAB20[label % 20])
    hue = (label * 0.618033988749895) % 1.0  # golden-angle hues stay distinct for neighbouring ids
    sat = 0.55 + 0.35 * ((label * 7) % 3) / 2
    val = 0.95 - 0.25 * ((label * 5) % 2)
    return colorsys.hsv_to_rgb(hue, sat, val)


def class_legend(uniq: np.ndarray) -> dict[int, tuple[float, float, float]]:
    """Label -> RGB for the distinct labels ``uniq`` (sorted), as the map colours them."""
    span = int(uniq.max()) + 1 if uniq.size else 0
    return {int(u): class_color(int(u), span) for u in uniq.tolist()}


def class_colors(labels: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[float, float, float]]]:
    """(N, 3) colours for integer labels, and the legend mapping label -> RGB."""
    uniq, inverse, _counts = int_unique(np.asarray(labels, dtype=np.int64))
    return _class_rgb(uniq, inverse)


def _class_rgb(uniq: np.ndarray, inverse: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[float, float, float]]]:
    """``class_colors`` of labels already split into distinct values and each row's index into them."""
    legend = class_legend(uniq)
    table = np.array([legend[int(u)] for u in uniq.tolist()], dtype=np.float32).reshape(-1, 3)
    return np.take(table, inverse, axis=0), legend  # take: 3x quicker than fancy indexing


def ramp(values: np.ndarray, log: bool = False) -> np.ndarray:
    """(N, 3) viridis colours of a numeric column, scaled to its finite range (log scale for noise levels)."""
    v = np.asarray(values, dtype=np.float64)
    if log:
        v = np.log(np.clip(v, 1e-12, None))
    finite = np.isfinite(v)
    t = np.zeros_like(v)
    if finite.any():
        lo, hi = v[finite].min(), v[finite].max()
        t[finite] = (v[finite] - lo) / (hi - lo) if hi > lo else 0.5
    pos = t * (len(_VIRIDIS) - 1)
    i = np.clip(pos.astype(np.int64), 0, len(_VIRIDIS) - 2)
    frac = (pos - i)[:, None].astype(np.float32)
    out = _VIRIDIS[i] * (1 - frac) + _VIRIDIS[i + 1] * frac
    out[~finite] = 0.6
    return out


def noise_alpha(sigma: np.ndarray | None, n: int, min_alpha: float = MIN_ALPHA) -> np.ndarray:
    """Opacity by noise level: the cleanest samples opaque, the noisiest faint (log scale), as in the original."""
    if sigma is None:
        return np.ones(n, dtype=np.float32)
    s = np.log(np.clip(np.asarray(sigma, dtype=np.float64), 1e-12, None))
    lo, hi = (s.min(), s.max()) if s.size else (0.0, 0.0)
    if hi <= lo:
        return np.ones(n, dtype=np.float32)
    return (1.0 - (1.0 - min_alpha) * (s - lo) / (hi - lo)).astype(np.float32)


def for_background(rgb, dark: bool) -> np.ndarray:
    """Colours as drawn on the theme's background: unchanged on light; on dark, any colour darker than
    ``DARK_MIN_LUMA`` is mixed with white just enough to reach it (its hue kept), so it stands out. The map, the
    legend's swatches and the colour bar all go through here, so they keep showing the same colours."""
    out = np.array(rgb, dtype=np.float32)
    if not dark or out.size == 0:
        return out
    flat = out.reshape(-1, 3)
    luma = flat @ _LUMA
    dim = luma < DARK_MIN_LUMA
    mix = (DARK_MIN_LUMA - luma[dim]) / (1.0 - luma[dim])
    flat[dim] += (1.0 - flat[dim]) * mix[:, None]
    return out


NO_CLASSES_NOTE = "text-conditioned samples (captions) have no classes to colour by"
NOT_COLOURED = {"class_label", "sample_id", NOISE_COLUMN, "batch_index", "umap_x", "umap_y", "umap_z", "image_path",
                "caption", "class_name"}  # fmt: skip
MAX_CATEGORIES = 24  # text columns with more distinct values (paths, captions) are not offered
MAX_INT_CATEGORIES = 12  # integer columns with at most this many values are categories, others numbers
MISSING_RGB = (0.6, 0.6, 0.6)


def color_label(option: str) -> str:
    """How a colouring is named to the user ("noise" is the noise level)."""
    return {"class": "Class", "noise": "Noise level"}.get(option, option)


def unavailable_color_options(columns: dict[str, np.ndarray]) -> dict[str, str]:
    """Colourings the data cannot give, with the reason shown beside the disabled choice."""
    return {} if "class_label" in columns else {"class": NO_CLASSES_NOTE}


_TEXT_CHUNK = 1 << 16  # rows _few_texts reads at a time
_kinds: dict[int, tuple[weakref.ref, str | None]] = {}  # column array -> its kind, while the array lives


def _few_texts(values: np.ndarray) -> bool:
    """At most ``MAX_CATEGORIES`` distinct texts; stops reading at the first one too many (paths, captions)."""
    seen: set = set()
    for start in range(0, len(values), _TEXT_CHUNK):  # a set grows in C a chunk at a time
        seen.update(values[start : start + _TEXT_CHUNK].tolist())
        if len(seen) > MAX_CATEGORIES:
            return False
    return True


def column_kind(values: np.ndarray) -> str | None:
    """How a column colours the points: "categorical" (text or an integer with few values, with a legend),
    "numeric" (a colour ramp with a colour bar), or None (too many distinct texts to tell apart). Remembered per
    column array: the menus ask on every model switch, and a column can hold millions of rows."""
    hit = _kinds.get(id(values))
    if hit is not None and hit[0]() is values:
        return hit[1]
    a = np.asarray(values)
    if a.dtype == bool:
        kind = "categorical"
    elif np.issubdtype(a.dtype, np.integer):
        kind = "categorical" if len(int_unique(a)[0]) <= MAX_INT_CATEGORIES else "numeric"
    elif np.issubdtype(a.dtype, np.number):
        kind = "numeric"
    else:
        kind = "categorical" if _few_texts(a) else None
    if isinstance(values, np.ndarray):
        key = id(values)
        _kinds[key] = (weakref.ref(values, lambda _r, key=key: _kinds.pop(key, None)), kind)
    return kind


def color_options(columns: dict[str, np.ndarray]) -> list[str]:
    """What the points can be coloured by: class (unless the samples carry captions instead), noise level, then
    every other metadata column that can be told apart by colour (numbers, and texts with few values)."""
    options = [] if unavailable_color_options(columns) else ["class"]
    if NOISE_COLUMN in columns:
        options.append("noise")
    options += [name for name, col in columns.items() if name not in NOT_COLOURED and column_kind(col) is not None]
    return options


@dataclass(frozen=True)
class Category:
    """One entry of a categorical legend: the value as stored and as shown, its colour and how many samples."""

    value: object
    text: str
    rgb: tuple[float, float, float]
    count: int


@dataclass
class Colouring:
    """What ``color_by`` makes of the points: their (N, 3) colours, and the legend (categories) or the colour bar
    (range, log scale) that explains them."""

    column: str
    kind: str  # "categorical", "numeric" or "none"
    rgb: np.ndarray
    categories: list[Category] = field(default_factory=list)
    value_range: tuple[float, float] | None = None
    log: bool = False


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values sorted, each row's index into them); texts are factorised by a dict, which is far faster
    than sorting millions of them, and only the few distinct ones are sorted."""
    if values.dtype != object:
        uniq, inverse, _counts = int_unique(values)
        return uniq, inverse
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(str(v), len(index)) for v in values.tolist()), dtype=np.int64,
                        count=len(values))  # fmt: skip
    texts = np.asarray(list(index), dtype=str)
    order = np.argsort(texts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return texts[order], rank[codes]


def _categorical(column: str, values: np.ndarray) -> Colouring:
    values = np.asarray(values)
    uniq, inverse = _codes(values)
    counts = np.bincount(inverse, minlength=len(uniq))
    table = np.array([class_color(i, len(uniq)) for i in range(len(uniq))], dtype=np.float32).reshape(-1, 3)
    cats = [Category(u.item() if hasattr(u, "item") else u, str(u), tuple(map(float, rgb)), int(c))
            for u, rgb, c in zip(uniq, table, counts, strict=True)]  # fmt: skip
    return Colouring(column, "categorical", table[inverse], cats)


def _numeric(column: str, values: np.ndarray, log: bool = False) -> Colouring:
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v) & ((v > 0) if log else True)]
    span = (float(finite.min()), float(finite.max())) if finite.size else None
    return Colouring(column, "numeric", ramp(v, log=log), value_range=span, log=log)


_last: list = [None, None, None]  # (color_by, weak ref to its column, Colouring): the map, bar and legend share it


def colouring(columns: dict[str, np.ndarray], color_by: str, n: int) -> Colouring:
    """The colours and their key for ``color_by``: "class", "noise" (log ramp of the noise level) or any column.
    The last one is remembered while its column lives (the map, the colour bar and the legend all ask for it)."""
    source = {"class": "class_label", "noise": NOISE_COLUMN}.get(color_by, color_by)
    column = columns.get(source)
    if column is not None and _last[0] == color_by and _last[1] is not None and _last[1]() is column:
        return _last[2]
    info = _colouring(columns, color_by, n)
    if isinstance(column, np.ndarray):
        _last[:] = [color_by, weakref.ref(column), info]
    return info


def _colouring(columns: dict[str, np.ndarray], color_by: str, n: int) -> Colouring:
    if color_by == "class" and "class_label" in columns:
        uniq, inverse, counts = int_unique(np.asarray(columns["class_label"], dtype=np.int64))
        rgb, legend = _class_rgb(uniq, inverse)
        cats = [Category(u, str(u), legend[u], c) for u, c in zip(uniq.tolist(), counts.tolist(), strict=True)]
        return Colouring("class", "categorical", rgb, cats)
    if color_by == "noise" and NOISE_COLUMN in columns:
        return _numeric(NOISE_COLUMN, columns[NOISE_COLUMN], log=True)
    kind = column_kind(columns[color_by]) if color_by in columns else None
    if kind == "categorical":
        return _categorical(color_by, columns[color_by])
    if kind == "numeric":
        return _numeric(color_by, columns[color_by])
    return Colouring(color_by, "none", np.full((n, 3), 0.4, dtype=np.float32))


def ramp_stops() -> np.ndarray:
    """The colour ramp's stops (RGB, low to high), for drawing a colour bar."""
    return _VIRIDIS.copy()


def point_colors(columns: dict[str, np.ndarray], color_by: str, n: int, dark: bool = False) -> np.ndarray:
    """(N, 4) float32 RGBA: ``color_by`` is "class", "noise" or a column; alpha always by noise level; ``dark``: for
    the dark theme's map (see ``for_background``)."""
    rgba = np.empty((n, 4), dtype=np.float32)
    rgba[:, :3] = for_background(colouring(columns, color_by, n).rgb, dark)
    rgba[:, 3] = noise_alpha(columns.get(NOISE_COLUMN), n, DARK_MIN_ALPHA if dark else MIN_ALPHA)
    return rgba


# Generation runs: a colour per run (its masked images); the unmasked comparison of any run is grey.
_RUN_PALETTE = [(0.85, 0.33, 0.10), (0.00, 0.45, 0.74), (0.47, 0.67, 0.19), (0.49, 0.18, 0.56), (0.93, 0.69, 0.13),
                (0.30, 0.75, 0.93), (0.64, 0.08, 0.18)]  # fmt: skip
UNMASKED_RGB = (0.45, 0.45, 0.45)


def trajectory_color(run: int, masked: bool) -> tuple[float, float, float]:
    """The RGB of a run's trajectories and generated images on the map and in the plot."""
    return _RUN_PALETTE[(run - 1) % len(_RUN_PALETTE)] if masked else UNMASKED_RGB
