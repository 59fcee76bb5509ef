"""The frame that first draws a vispy visual, whose GL program is built then, on the UI thread: as the app builds
programs now against as before (the baseline), in the same run, alternating.

Now: vispy's comment stripping in linear time (``diffviews_app.canvas.shader_source``) and the trajectory's labels
drawn with ``LabelText`` (vispy's text shader without its large-font filters). Before: vispy's own regular expression
and vispy's ``Text``. Per kind of visual the app draws (markers, an antialiased GL line, text labels): the UI
thread's CPU time and the wall time of that frame (until GL has finished), median of ``--repeat``, on an 800x600
canvas. Needs X:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_program_build.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import gui_app, print_table  # noqa: E402


def kinds() -> dict:
    """label -> (a function making that visual now, as before), given a parent node and an index."""
    import numpy as np
    from diffviews_app.canvas.label_text import LabelText
    from vispy.scene.visuals import Line, Markers, Text
    from vispy.visuals.text.text import FontManager

    def markers(parent, i):
        visual = Markers(parent=parent)
        visual.set_data(np.array([[0.1 * i, 0.0]], np.float32), size=5)
        return visual

    def line(parent, i):
        return Line(np.array([[0.0, 0.1 * i], [1.0, 0.1 * i]], np.float32), parent=parent, method="gl", antialias=True)

    fonts = FontManager()  # one glyph atlas: its glyphs are rendered and uploaded once, by the first visual

    def text(kind):
        return lambda parent, i: kind("σ=1", parent=parent, pos=(0.1 * i, 0.5), font_size=7, font_manager=fonts)

    return {
        "markers": (markers, markers),
        "antialiased line": (line, line),
        "text labels": (text(LabelText), text(Text)),
    }


def first_frames(
    app, make_now, make_before, repeat: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(now, before): (UI CPU s, wall s) of each frame that draws a new visual, alternating."""
    import vispy.scene
    from diffviews_app.canvas import shader_source
    from vispy.gloo import gl

    canvas = vispy.scene.SceneCanvas(size=(800, 600), show=True)
    view = canvas.central_widget.add_view(camera="panzoom")
    draws = [0]
    canvas.events.draw.connect(lambda _e: draws.__setitem__(0, draws[0] + 1), position="last")

    def frame() -> tuple[float, float]:
        n = draws[0]
        wall, cpu = time.perf_counter(), time.thread_time()
        canvas.update()
        while draws[0] == n:
            app.processEvents()
        gl.glFinish()
        return time.thread_time() - cpu, time.perf_counter() - wall

    for _ in range(3):  # the context, the first frames
        frame()
    first = make_now(view.scene, -1)  # what the first visual of a kind makes once (a font's atlas) is not counted
    frame()
    first.parent = None
    now, before = [], []
    try:
        for i in range(2 * repeat):
            shader_source.install(linear=i % 2 == 0)
            visual = (make_now if i % 2 == 0 else make_before)(view.scene, i)
            (now if i % 2 == 0 else before).append(frame())
            visual.parent = None
    finally:
        shader_source.install()
        canvas.close()
        app.processEvents()
    return now, before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="new visuals drawn per kind and way (median)")
    parser.add_argument("--smoke", action="store_true", help="2 visuals per kind and way (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 2
    app = gui_app()
    load = lambda: " ".join(f"{v:.2f}" for v in os.getloadavg())  # noqa: E731
    print(f"load average {load()}", flush=True)
    rows = []
    for label, (make_now, make_before) in kinds().items():
        now, before = first_frames(app, make_now, make_before, args.repeat)
        for i, what in enumerate(("UI thread CPU", "wall")):
            value = statistics.median(t[i] for t in now)
            rows.append((f"first frame of {label}: {what}", value, statistics.median(t[i] for t in before)))
    title = "A new visual's first frame; baseline: as before (vispy's comment regex, vispy's Text)"
    print_table(f"{title} (load average {load()})", rows)


if __name__ == "__main__":
    main()
