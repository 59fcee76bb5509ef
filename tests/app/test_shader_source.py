"""vispy's comment stripping, done in linear time (``diffviews_app.canvas.shader_source``): the same text as vispy's
own substitution for every source, vispy's programs parsing the same variables with it."""

import random
import re

import pytest
from diffviews_app.canvas import shader_source
from diffviews_app.canvas.shader_source import COMMENT_PATTERN, strip_line_comments


def vispy_strip(code: str) -> str:
    return re.sub(COMMENT_PATTERN, r"\1", code, flags=re.M)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "no comment",
        "uniform float a; // a's value",
        "a // b // c",
        "////",
        "/ / not one",
        "url = 'http://x'; // trailing",
        "first\n// whole line\n\nlast // end\n",
        "tab\t//\r\ncr stays\r\n",
        "\n\n//\n",
    ],
)
def test_it_cuts_each_line_where_vispys_substitution_does(code):
    assert strip_line_comments(code) == vispy_strip(code)


def test_random_sources_strip_alike():
    rng = random.Random(7)
    alphabet = ["/", "/", "a", " ", "\n", "\r", "\t", ";", "*", "é"]
    for _ in range(2000):
        code = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert strip_line_comments(code) == vispy_strip(code), repr(code)


def test_vispys_own_shaders_strip_alike():
    """The visuals the app draws: markers, lines, text (whose ~80,000-character source made the stall)."""
    from vispy.visuals import LineVisual, MarkersVisual, TextVisual

    sources = []
    for visual in (MarkersVisual(), LineVisual(method="gl", antialias=True), TextVisual("σ")):
        program = visual._program if hasattr(visual, "_program") else visual._subvisuals[0]._program
        sources += [program.vert.compile(), program.frag.compile()]
    assert max(map(len, sources)) > 50_000
    assert all(strip_line_comments(s) == vispy_strip(s) for s in sources)


def test_installed_vispy_programs_parse_the_same_variables():
    from vispy import gloo
    from vispy.gloo import program as vispy_program

    vert = "attribute vec2 a_pos; // the position\nuniform float u_size; // a // b\n// uniform float u_dead;\nvoid main() {}"
    frag = "uniform vec4 u_color;  // its colour\nvoid main() { gl_FragColor = u_color; }"
    try:
        shader_source.install(linear=False)
        stock = sorted(gloo.Program(vert, frag).variables)
        shader_source.install()
        assert vispy_program.re is not re and vispy_program.re.compile is re.compile  # the rest is re's own
        assert sorted(gloo.Program(vert, frag).variables) == stock
        assert ("uniform", "float", "u_dead") not in stock
    finally:
        shader_source.install()
