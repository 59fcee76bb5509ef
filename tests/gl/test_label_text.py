"""The trajectory's labels (``LabelText``): vispy's text drawing with a shader without the large-font filters, whose
source made the labels' first frame cost ~80 ms of the UI thread."""

import numpy as np
import pytest


@pytest.mark.parametrize("font_size", [7, 12])
def test_labels_draw_what_vispys_text_draws(canvas, font_size):
    from diffviews_app.canvas.label_text import LabelText
    from vispy.scene.visuals import Text

    canvas.set_points(np.array([[0.0, 0.0], [10.0, 10.0]], np.float32))
    canvas.set_colors(np.tile([0.2, 0.3, 0.9, 1.0], (2, 1)).astype(np.float32))
    bare = canvas.render_image()
    images = {}
    for kind in (Text, LabelText):
        label = kind("σ=14.5 Åjg", parent=canvas._view.scene, font_size=font_size, pos=(3.0, 5.0),
                     anchor_x="left", anchor_y="bottom", color=(0.1, 0.1, 0.1, 1.0))  # fmt: skip
        label.order = 50
        images[kind] = canvas.render_image()
        label.parent = None
    assert (images[Text] != bare).any(axis=-1).sum() > 50  # the text is there
    np.testing.assert_array_equal(images[LabelText], images[Text])


def test_the_labels_shader_leaves_out_only_the_filters():
    from diffviews_app.canvas.label_text import LabelTextVisual, small_text_fragment
    from vispy.visuals.text.text import TextVisual

    stock, small = TextVisual._shaders["fragment"], LabelTextVisual._shaders["fragment"]
    assert "spatial-filters" in stock and "spatial-filters" not in small and "CatRom2D" not in small
    assert len(LabelTextVisual("x")._program.frag.compile()) < len(TextVisual("x")._program.frag.compile()) / 10
    assert small_text_fragment("void main() {}") == "void main() {}"  # a shader it does not know: unchanged
