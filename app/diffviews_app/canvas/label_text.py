"""Small text labels (the trajectory's sigma labels) with vispy's text shader minus its large-font filter.

vispy's ``TextVisual`` fragment shader includes all of vispy's spatial filters (1,400 lines, ~77,000 characters) for
one call, a Catmull-Rom lookup it makes only for glyphs of 50 px and more. vispy parses and software GL compiles
every line of it on the UI thread in the frame that first draws text: the labels' first frame took ~80 ms of the UI
thread, ~10 ms with this shader and the linear comment stripping (``benchmarks/bench_program_build.py``); it was the
longest stall of the window's warm-up. Labels of a few pixels never take that branch; ``LabelText`` draws them with
the same shader, the include removed and the branch reading the atlas directly, as the small sizes do.
"""

from __future__ import annotations

from vispy.scene.visuals import create_visual_node
from vispy.visuals.text.text import TextVisual

FILTERS_INCLUDE = '#include "misc/spatial-filters.frag"'
LARGE_FONT_LOOKUP = "rgb = CatRom2D(u_font_atlas, u_font_atlas_shape, uv);"  # taken at u_npix >= 50 only
SMALL_FONT_LOOKUP = "rgb = texture2D(u_font_atlas, uv);"


def small_text_fragment(fragment: str) -> str:
    """vispy's text fragment shader without the filters, or unchanged when its text is not what this expects (a
    vispy release that changed it)."""
    if FILTERS_INCLUDE not in fragment or fragment.count("CatRom2D") != 1 or LARGE_FONT_LOOKUP not in fragment:
        return fragment
    return fragment.replace(FILTERS_INCLUDE, "").replace(LARGE_FONT_LOOKUP, SMALL_FONT_LOOKUP)


class LabelTextVisual(TextVisual):
    """vispy's ``TextVisual`` for labels under 50 px: the same drawing, a shader a tenth the size."""

    _shaders = {**TextVisual._shaders, "fragment": small_text_fragment(TextVisual._shaders["fragment"])}


LabelText = create_visual_node(LabelTextVisual)
