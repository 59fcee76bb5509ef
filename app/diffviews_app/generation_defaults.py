"""Generation settings follow the model shown: its recommended steps, noise range, guidance and sampler
(config.json) when another model is shown, and the command line's ``--num-steps`` / ``--guidance-scale`` once, with
the first model, at launch.

Only once: after that, what the user sets in the Generation dock stays theirs. The same model shown again (its
folder reopened) keeps every setting; another model brings its own recommendations, never the launch values again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject

from .state import ExplorerState
from .state.generation_state import GenerationState


class ModelDefaults(QObject):
    """Writes ``gen.settings`` when ``state`` shows another model; ``overrides`` (settings fields) apply to the first."""

    def __init__(self, state: ExplorerState, gen: GenerationState, overrides: dict[str, Any] | None = None,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.state, self.gen = state, gen
        self.pending_overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        self._model_path: str | None = None  # the model whose defaults the settings started from
        state.model_changed.connect(self._model_changed)

    def _model_changed(self) -> None:
        model = self.state.model
        if model is None or str(model.path) == self._model_path:
            return
        self._model_path = str(model.path)
        settings = self.gen.settings.with_model_defaults(model.config)
        overrides, self.pending_overrides = self.pending_overrides, {}
        self.gen.set_settings(replace(settings, **overrides))
