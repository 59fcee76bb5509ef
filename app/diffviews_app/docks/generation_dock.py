"""Generation dock: every control of a masked generation, "Generate from neighbours", the unmasked comparison, and
the run's progress with a cancel button. The controls write ``GenerationState.settings``; nothing else is kept here."""

from __future__ import annotations

import secrets

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QStyleOptionProgressBar,
    QVBoxLayout,
    QWidget,
)

from diffviews_core.adapter_names import adapter_names
from diffviews_core.formats.config import SIGMA_MAX, SIGMA_MIN, percent_to_sigma, sigma_to_percent
from diffviews_core.lineage import GenerationSettings

from ..progress_text import RemainingTime, progress_text
from ..state import ExplorerState
from ..state.generation_state import GenerationState
from ..steady_column import SteadyColumn

NOISE_MODES = {"stochastic": "stochastic noise", "fixed": "fixed noise (seeded)", "zero": "no noise"}
CFG_PASSES = {"both": "both passes", "cond": "conditional pass", "uncond": "unconditional pass"}
MASK_WHEN = {"first": "first N steps", "range": "step range"}
SAMPLERS = {"": "model default", "fewstep": "few-step (x0, re-noise)", "heun": "Heun (EDM, 2nd order)"}
NOISE_UNITS = {"percent": "%", "sigma": "σ"}
MAX_STEPS = 256
MAX_SEED = 2**31 - 1


class ProgressLine(QWidget):
    """A progress bar that repaints with the next frame (``update``), unlike QProgressBar, whose ``setValue``
    repaints at once: with a GL map in the window every immediate repaint costs a whole window composition."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fraction = 0.0
        self.text = "0%"
        self.setMinimumHeight(18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_fraction(self, fraction: float, seconds_left: float | None = None) -> None:
        """``fraction`` below 0: not known yet (a busy bar, not 0 %), with the time left if it is estimated."""
        fraction = -1.0 if fraction < 0 else min(1.0, float(fraction))
        text = progress_text(fraction, seconds_left)
        if (fraction, text) != (self.fraction, self.text):
            self.fraction, self.text = fraction, text
            self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        opt = QStyleOptionProgressBar()
        opt.initFrom(self)
        busy = self.fraction < 0
        opt.minimum, opt.maximum, opt.progress = 0, 0 if busy else 1000, 0 if busy else int(self.fraction * 1000)
        opt.textVisible, opt.text = True, self.text
        opt.textAlignment = Qt.AlignmentFlag.AlignCenter
        painter = QPainter(self)
        self.style().drawControl(QStyle.ControlElement.CE_ProgressBar, opt, painter, self)
        painter.end()


def _spin(low: int, high: int, tip: str) -> QSpinBox:
    w = QSpinBox()
    w.setRange(low, high)
    w.setToolTip(tip)
    return w


def _dspin(low: float, high: float, step: float, decimals: int, tip: str, suffix: str = "") -> QDoubleSpinBox:
    w = QDoubleSpinBox()
    w.setRange(low, high)
    w.setSingleStep(step)
    w.setDecimals(decimals)
    w.setSuffix(suffix)
    w.setToolTip(tip)
    return w


def _combo(items: dict[str, str], tip: str) -> QComboBox:
    w = QComboBox()
    for key, label in items.items():
        w.addItem(label, key)
    w.setToolTip(tip)
    return w


class GenerationDock(QDockWidget):
    """Controls -> settings; ``generate_requested(compare)`` asks the controller to run (compare: also unmasked)."""

    generate_requested = Signal(bool)
    cancel_requested = Signal()
    adapter_requested = Signal(str)  # "" for the model's own (config.json)

    def __init__(self, state: ExplorerState, gen: GenerationState, parent: QWidget | None = None) -> None:
        super().__init__("Generation", parent)
        self.setObjectName("GenerationDock")
        self.state, self.gen = state, gen
        self._updating = False
        self.remaining = RemainingTime()  # of the running generation
        body = QWidget()
        layout = QVBoxLayout(body)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.steps = _spin(1, MAX_STEPS, "number of denoising steps")
        form.addRow("Steps", self.steps)
        self.mask_when = _combo(MASK_WHEN, "mask the first N steps, or an explicit range of steps")
        self.mask_steps = _spin(0, MAX_STEPS, "how many of the first steps use the mask (0: none; the number of "
                                "steps or more: every step)")  # fmt: skip
        self.range_first = _spin(1, MAX_STEPS, "first masked step (1-based)")
        self.range_last = _spin(1, MAX_STEPS, "last masked step (inclusive)")
        mask_row = QHBoxLayout()
        mask_row.addWidget(self.mask_when, 1)
        mask_row.addWidget(self.mask_steps)
        mask_row.addWidget(self.range_first)
        mask_row.addWidget(self.range_last)
        form.addRow("Mask", mask_row)
        self.guidance = _dspin(0.0, 20.0, 0.1, 2, "classifier-free guidance: 0 unconditional, 1 conditional, "
                               ">1 amplified")  # fmt: skip
        form.addRow("Guidance (CFG)", self.guidance)
        self.noise_max = _dspin(0.0, 100.0, 1.0, 1, "noise level of the first step: 0 % is sigma 0.002, 100 % is "
                                "sigma 80, on a log scale", " %")  # fmt: skip
        self.noise_min = _dspin(0.0, 100.0, 1.0, 1, "noise level of the last step (same scale)", " %")
        self.noise_unit = _combo(NOISE_UNITS, "noise range in percent of the log-sigma scale, or as sigma")
        noise_row = QHBoxLayout()
        noise_row.addWidget(QLabel("max"))
        noise_row.addWidget(self.noise_max, 1)
        noise_row.addWidget(QLabel("min"))
        noise_row.addWidget(self.noise_min, 1)
        noise_row.addWidget(self.noise_unit)
        form.addRow("Noise", noise_row)
        self.noise_mode = _combo(NOISE_MODES, "stochastic: seeded starting noise, fresh seeded noise at each "
                                 "re-noising between steps; fixed: one seeded draw reused at each re-noising; no "
                                 "noise: start from zeros, never re-noise (the seed has no effect)")  # fmt: skip
        form.addRow("Noise mode", self.noise_mode)
        self.seed = _spin(0, MAX_SEED, "random seed of the starting noise and the re-noising: the same seed and "
                          "settings give the same image (unused with no noise)")  # fmt: skip
        self.new_seed = QPushButton("New seed")
        self.new_seed.setToolTip("draw a random seed")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        form.addRow("Seed", seed_row)
        self.batch = _spin(1, 64, "how many images to generate at once")
        form.addRow("Batch size", self.batch)
        self.cfg_pass = _combo(CFG_PASSES, "which classifier-free-guidance pass the mask replaces activations in")
        form.addRow("Mask CFG pass", self.cfg_pass)
        self.blend = _dspin(0.0, 1.0, 0.05, 2, "0: the model's own activation, 1: the mask, between: a blend")
        form.addRow("Blend", self.blend)
        self.sampler = _combo(SAMPLERS, "few-step: predict x0 and re-noise (distilled models, the original's); "
                              "Heun: EDM's second-order sampler (EDM-trained models, more network calls)")  # fmt: skip
        form.addRow("Sampler", self.sampler)
        self.adapter = QComboBox()
        self.adapter.setToolTip("how the checkpoint is loaded and run; the model's config.json names its own")
        form.addRow("Adapter", self.adapter)
        layout.addLayout(form)

        self.generate_button = QPushButton("Generate from neighbours")
        self.generate_button.setToolTip("mask the current layers with the mean activation of the selected sample "
                                        "and its neighbours, conditioned on the selected sample's class (Ctrl+G)")
        self.generate_button.setStyleSheet("font-weight: bold; padding: 6px;")
        self.compare_button = QPushButton("Compare unmasked")
        self.compare_button.setToolTip("generate masked and unmasked from the same seed, side by side")
        layout.addWidget(self.generate_button)
        layout.addWidget(self.compare_button)
        run_row = QHBoxLayout()
        self.progress = ProgressLine()
        self.cancel_button = QPushButton("Cancel")
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)
        layout.addLayout(run_row)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(SteadyColumn([self.status], grow_only=True))  # progress and selection texts: no new layout
        layout.addStretch(1)
        self.setWidget(body)

        for w in (self.steps, self.mask_steps, self.range_first, self.range_last, self.seed, self.batch):
            w.valueChanged.connect(self._write)
        for w in (self.guidance, self.noise_max, self.noise_min, self.blend):
            w.valueChanged.connect(self._write)
        for w in (self.mask_when, self.noise_mode, self.cfg_pass, self.sampler):
            w.currentIndexChanged.connect(self._write)
        self.noise_unit.currentIndexChanged.connect(self._unit_changed)
        self.adapter.currentIndexChanged.connect(self._adapter_picked)
        self.new_seed.clicked.connect(lambda: self.seed.setValue(secrets.randbelow(MAX_SEED)))
        self.generate_button.clicked.connect(lambda: self.generate_requested.emit(False))
        self.compare_button.clicked.connect(lambda: self.generate_requested.emit(True))
        self.cancel_button.clicked.connect(self.cancel_requested)
        gen.settings_changed.connect(self._read)
        gen.running_changed.connect(self._refresh_enabled)
        gen.progressed.connect(self._progress)
        gen.running_changed.connect(lambda running: self.remaining.reset(gen.expected_seconds) if running else None)
        state.selection_changed.connect(self._refresh_enabled)
        state.neighbours_changed.connect(self._refresh_enabled)
        state.model_changed.connect(self._refresh_enabled)
        state.model_changed.connect(self._refresh_adapters)
        self._adapter_override = ""
        self._refresh_adapters()
        self._read()
        self._refresh_enabled()

    # ---- settings <-> widgets -------------------------------------------------------------------------------------
    def _read(self) -> None:
        s = self.gen.settings
        self._updating = True
        try:
            self.steps.setValue(s.num_steps)
            ranged = s.step_range is not None
            self.mask_when.setCurrentIndex(self.mask_when.findData("range" if ranged else "first"))
            every = s.mask_steps is None  # None masks every step: shown as the number of steps, which does the same
            self.mask_steps.setValue(s.num_steps if every else s.mask_steps)
            first, last = s.step_range if ranged else (1, s.num_steps if every else max(1, s.mask_steps))
            self.range_first.setValue(first)
            self.range_last.setValue(last)
            self.guidance.setValue(s.guidance_scale)
            self._show_noise(s.noise_max, s.noise_min)
            self.sampler.setCurrentIndex(max(0, self.sampler.findData(s.sampler or "")))
            self.noise_mode.setCurrentIndex(self.noise_mode.findData(s.noise_mode))
            self.seed.setValue(s.seed)
            self.batch.setValue(s.num_samples)
            self.cfg_pass.setCurrentIndex(self.cfg_pass.findData(s.cfg_pass))
            self.blend.setValue(s.blend)
        finally:
            self._updating = False
        self._refresh_mask_widgets()

    def settings_from_widgets(self) -> GenerationSettings:
        ranged = self.mask_when.currentData() == "range"
        first, last = sorted((self.range_first.value(), self.range_last.value()))
        return GenerationSettings(
            num_steps=self.steps.value(),
            mask_steps=self.mask_steps.value(),
            step_range=[first, last] if ranged else None,
            guidance_scale=round(self.guidance.value(), 4),
            noise_max=round(self._noise_percent(self.noise_max), 4),
            noise_min=round(self._noise_percent(self.noise_min), 4),
            noise_mode=self.noise_mode.currentData(),
            seed=self.seed.value(),
            num_samples=self.batch.value(),
            cfg_pass=self.cfg_pass.currentData(),
            blend=round(self.blend.value(), 4),
            sampler=self.sampler.currentData() or None,
        )

    def _write(self, *_args) -> None:
        self._refresh_mask_widgets()
        if not self._updating:
            self.gen.set_settings(self.settings_from_widgets())

    # ---- noise units, adapter --------------------------------------------------------------------------------------
    def _in_sigma(self) -> bool:
        return self.noise_unit.currentData() == "sigma"

    def _noise_percent(self, box: QDoubleSpinBox) -> float:
        return sigma_to_percent(box.value()) if self._in_sigma() else box.value()

    def _show_noise(self, max_percent: float, min_percent: float) -> None:
        """The noise range (kept in percent) in the unit chosen."""
        sigma = self._in_sigma()
        for box, percent in ((self.noise_max, max_percent), (self.noise_min, min_percent)):
            box.blockSignals(True)
            if sigma:
                box.setDecimals(4)
                box.setRange(SIGMA_MIN, SIGMA_MAX)
                box.setSingleStep(0.1)
                box.setSuffix("")
                box.setValue(percent_to_sigma(percent))
            else:
                box.setDecimals(1)
                box.setRange(0.0, 100.0)
                box.setSingleStep(1.0)
                box.setSuffix(" %")
                box.setValue(percent)
            box.blockSignals(False)

    def _unit_changed(self, *_args) -> None:
        s = self.gen.settings
        self._show_noise(s.noise_max, s.noise_min)

    def _refresh_adapters(self, *_args) -> None:
        model = self.state.model
        own = model.config["adapter"] if model is not None else ""
        self.adapter.blockSignals(True)
        self.adapter.clear()
        self.adapter.addItem(f"{own} (config.json)" if own else "the model's (config.json)", "")
        for name in adapter_names():
            self.adapter.addItem(name, name)
        self.adapter.setCurrentIndex(max(0, self.adapter.findData(self._adapter_override)))
        self.adapter.blockSignals(False)

    def set_adapter_override(self, name: str | None) -> None:
        """Show ``name`` (None: the model's own) as the adapter in use, e.g. from ``--adapter``."""
        self._adapter_override = name or ""
        self._refresh_adapters()

    def _adapter_picked(self, _index: int) -> None:
        self._adapter_override = self.adapter.currentData() or ""
        self.adapter_requested.emit(self._adapter_override)

    def _refresh_mask_widgets(self) -> None:
        ranged = self.mask_when.currentData() == "range"
        self.mask_steps.setVisible(not ranged)
        self.range_first.setVisible(ranged)
        self.range_last.setVisible(ranged)

    # ---- run state --------------------------------------------------------------------------------------------------
    def _refresh_enabled(self, *_args) -> None:
        ready = self.state.model is not None and bool(self.state.selection_rows() or self.state.selected_generated)
        running = self.gen.running
        self.generate_button.setEnabled(ready and not running)
        self.compare_button.setEnabled(ready and not running)
        self.cancel_button.setEnabled(running)
        if running:
            return
        if not ready:
            self.status.setText("Select a sample (and neighbours) or a set (lasso, box) on the map to generate "
                                "from them.")  # fmt: skip
        else:
            n, g = len(self.state.generation_rows()), len(self.state.selected_generated)
            extra = f" + {g} generated image{'s' if g != 1 else ''}" if g else ""
            self.status.setText(f"Mask: mean activation of {n} sample{'s' if n != 1 else ''}{extra}.")

    def _progress(self, fraction: float, message: str) -> None:
        if not self.gen.running:
            self.remaining.reset()
        elif fraction < 0:  # a preparation stage: the steps' rate counts from its end
            self.remaining.restart()
        self.progress.set_fraction(fraction, self.remaining.update(fraction) if self.gen.running else None)
        if message:
            self.status.setText(message)
