"""The worker process's side of the app's jobs: a model travels as what re-opens it and is opened once per worker;
a loaded checkpoint is kept for the next job; jobs run for real in a worker process."""

from __future__ import annotations

import pickle

import pytest

from diffviews_core import worker_tasks
from diffviews_core.demo import demo_paths
from diffviews_core.formats import open_data
from diffviews_core.process_jobs import ProcessWorker

pytestmark = pytest.mark.skipif(not demo_paths().exists(), reason="demo not built (diffviews demo rebuild)")


@pytest.fixture
def demo_model():
    return next(iter(open_data(demo_paths().data_dir).models.values()))


def test_a_model_travels_as_its_folder_and_is_opened_once_per_worker(demo_model, monkeypatch):
    monkeypatch.setattr(worker_tasks, "_models", type(worker_tasks._models)())
    ref = pickle.loads(pickle.dumps(worker_tasks.model_ref(demo_model)))
    assert len(pickle.dumps(ref)) < 4096  # never the arrays
    held = worker_tasks._held(ref)
    assert held is not demo_model and held.path == demo_model.path and held.layers == demo_model.layers
    assert worker_tasks._held(ref) is held


def test_the_model_is_loaded_once_in_the_worker_for_discovery_and_extraction(demo_model, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    options = (None, None, None)
    ref = worker_tasks.model_ref(demo_model)
    with ProcessWorker(name="tests") as worker:
        hookable = worker.run(worker_tasks.hookable_layers, ref, options)
        layer = next(x for x in hookable if x not in demo_model.layers)
        paths, shapes = worker.run(worker_tasks.extract_layer, ref, layer, options)
        assert paths[layer].exists() and layer in shapes
        assert len(worker.run(worker_tasks.loaded_adapters, options)) == 1
    demo_model.attach_layers(paths, shapes)
    assert layer in demo_model.layers
