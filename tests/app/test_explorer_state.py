"""ExplorerState without a window: no QApplication, no canvas, no docks; its signals are recorded directly."""

from __future__ import annotations

import numpy as np
import pytest
from data_fixtures import make_original_layout

from diffviews_core.formats import Embedding, open_data


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return open_data(make_original_layout(tmp_path_factory.mktemp("data"), n_per_model=20))


@pytest.fixture
def state(root):
    from diffviews_app.state import ExplorerState

    s = ExplorerState()
    s.events = []  # (signal name, arguments) in the order they fired
    for name in ("root_changed", "model_changed", "embedding_changed", "mode_changed", "selected_changed",
                 "neighbours_changed", "k_changed", "highlight_changed", "hovered_changed"):  # fmt: skip
        getattr(s, name).connect(lambda *args, n=name: s.events.append((n, args)))
    s.set_root(root)
    model = root.models["dmd2"]
    xy = np.arange(40, dtype=np.float32).reshape(20, 2)
    s.set_model(model, "default", Embedding("default", xy, None, {"layers": ["midblock"]}))
    s.events.clear()
    return s


def test_a_model_without_3d_stays_in_2d_and_a_new_model_resets_the_interaction(state, root):
    assert state.num_points == 20 and state.model_name == "dmd2" and not state.has_3d()
    state.set_mode("3d")
    assert state.mode == "2d" and state.events == []  # nothing changed, nothing announced
    with pytest.raises(ValueError, match="mode must be one of"):
        state.set_mode("4d")
    state.select(3)
    state.set_hovered(4)
    state.set_model(root.models["edm"], "default", None)
    assert (state.selected, state.hovered, state.neighbours, state.coords()) == (-1, -1, [], None)
    assert state.events[-1] == ("model_changed", ())


def test_clicks_select_toggle_neighbours_replace_and_deselect(state):
    state.click(2)
    state.click(5)
    state.click(7)
    assert state.selected == 2 and state.neighbours == [(5, None), (7, None)]
    state.click(5)  # a neighbour again: removed
    assert state.neighbour_rows() == [7]
    state.click(9, replace=True)  # Ctrl+click: another selection, neighbours dropped
    assert state.selected == 9 and state.neighbours == []
    state.click(9)  # the selection again: deselected
    state.click(99)  # outside the data: ignored
    assert state.selected == -1
    assert [name for name, _ in state.events] == [
        "selected_changed", "neighbours_changed", "neighbours_changed", "neighbours_changed",
        "selected_changed", "neighbours_changed", "selected_changed",
    ]  # fmt: skip


def test_knn_results_replace_knn_neighbours_and_keep_manual_ones(state):
    state.select(1)
    state.toggle_neighbour(4)
    state.set_knn([1, 6, 4, 8], [0.0, 0.5, 0.7, 0.9])  # the selection itself is never its own neighbour
    assert state.neighbours == [(6, 0.5), (4, 0.7), (8, 0.9)]  # 4 became a KNN neighbour
    state.toggle_neighbour(11)
    state.set_knn([8], [0.2])
    assert state.neighbours == [(8, 0.2), (11, None)]


def test_a_lasso_or_box_makes_a_set_without_a_hidden_first_sample(state):
    state.select_set([12, 3, 12, 40, 3, 5])  # 40 is outside the data
    assert state.selected == -1 and state.selection_set == (12, 3, 5) and state.neighbours == []
    assert state.selection_rows() == [12, 3, 5] and state.has_selection
    state.set_knn([3, 7, 8], [0.0, 0.4, 0.6])  # members are never their own neighbours
    state.toggle_neighbour(5)  # a member cannot be a neighbour either
    assert state.neighbours == [(7, 0.4), (8, 0.6)]
    assert state.generation_rows() == [12, 3, 5, 7, 8]  # generation averages the set and its neighbours
    state.click(9)  # with a set, a click adds a member ...
    state.click(3)  # ... or takes one out
    assert state.selection_set == (12, 5, 9)
    state.select_set([7, 1], add=True)  # Shift: joins the set; 7 leaves the neighbours
    assert state.selection_set == (12, 5, 9, 7, 1) and state.neighbours == [(8, 0.6)]
    state.select_set([2, 4])  # a new set: the old one and its neighbours go
    assert state.selection_set == (2, 4) and state.neighbours == []
    state.click(6, replace=True)  # Ctrl+click: one sample again
    assert (state.selected, state.selection_set) == (6, ())
    state.select_set([0], add=True)  # Shift+lasso with one selected sample: both in a set
    assert (state.selected, state.selection_set) == (-1, (6, 0))
    state.select_set([])
    assert not state.has_selection and state.selection_rows() == []


def test_selection_signals_and_manual_neighbours_need_a_selection(state):
    changes = []
    state.selection_changed.connect(lambda: changes.append(state.selection_rows()))
    state.add_manual([1, 2])  # nothing selected: nothing hidden is made up
    assert state.neighbours == [] and not state.has_selection
    state.select_set([1, 2])
    state.select_set([1, 2])  # the same set: nothing announced
    state.add_manual([2, 3, 3])
    state.clear_selection()
    assert changes == [[1, 2], []]
    assert ("selected_changed", (-1,)) not in state.events  # the single selection never changed
    assert state.neighbours == []


def test_generated_images_are_selected_alone_or_added_to_a_set(state):
    from diffviews_app.targets import Target

    clicked = []
    state.target_clicked.connect(clicked.append)
    star = Target.trajectory_step(4, 9, generated=True)
    state.select(1)
    state.click_target(star)  # a plain click shows the image and leaves the selection alone
    assert clicked == [star] and state.selected == 1 and state.selected_generated == ()
    state.click_target(star, add=True)  # Shift+click: joins the selection, the sample stays selected
    assert state.selected == 1 and state.selected_generated == (4,)
    state.click_target(star, replace=True)  # Ctrl+click: the image alone is the selection (a KNN query)
    assert state.selected_generated == (4,) and state.selection_rows() == [] and state.has_selection
    state.click(3)  # with a generated image selected, samples join it as a set
    assert state.selection_set == (3,) and state.selected_generated == (4,)
    state.toggle_generated(5, add=True)
    state.toggle_generated(4, add=True)
    assert state.selected_generated == (5,) and state.selection_set == (3,)
    state.drop_generated([5])  # its trajectory was cleared
    assert state.selected_generated == () and state.selection_set == (3,)
    state.select(2)
    assert state.selected_generated == () and state.selection_set == ()


def test_tools_are_point_lasso_and_box(state):
    seen = []
    state.tool_changed.connect(seen.append)
    state.set_tool("box")
    state.set_tool("box")
    state.set_tool("lasso")
    assert state.tool == "lasso" and seen == ["box", "lasso"]
    with pytest.raises(ValueError, match="tool must be one of"):
        state.set_tool("wand")


def test_highlights_combine_classes_and_search_hits(state):
    labels = state.model.samples.class_label
    assert state.highlight_rows() is None
    state.set_highlight_classes([int(labels[0])])
    state.set_search_rows([19, 19])
    expected = np.union1d(np.flatnonzero(labels == labels[0]), [19])
    np.testing.assert_array_equal(state.highlight_rows(), expected)
    state.clear_highlight()
    assert state.highlight_rows() is None and [n for n, _ in state.events].count("highlight_changed") == 3


def test_legend_values_of_the_colouring_column_are_highlighted_until_the_colouring_changes(state):
    column = np.asarray(state.model.samples.conditioning_sigma)
    state.set_color_by("conditioning_sigma")
    state.set_highlight_values([column[0]])
    np.testing.assert_array_equal(state.highlight_rows(), np.flatnonzero(column.astype(str) == str(column[0])))
    state.set_color_by("class")  # another colouring, another legend: its highlight goes
    assert state.highlight_values == frozenset() and state.highlight_rows() is None


def test_another_layer_keeps_the_selection_and_leaves_3d_when_it_has_none(state):
    xyz = np.ones((20, 3), dtype=np.float32)
    state.set_embedding("mid", Embedding("mid", np.zeros((20, 2), np.float32), xyz, {}))
    state.set_mode("3d")
    state.select(6)
    assert state.mode == "3d" and state.coords() is xyz
    state.set_embedding("flat", Embedding("flat", np.zeros((20, 2), np.float32), None, {}))
    assert state.mode == "2d" and state.selected == 6 and state.coords().shape == (20, 2)
    assert ("mode_changed", ("2d",)) in state.events
    state.set_k(500)
    assert state.k == 20  # clamped to the menu's range
