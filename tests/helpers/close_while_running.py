"""Run the real app (``diffviews-desktop``'s ``main``) on a data folder, start one kind of job, and close the window
while it runs, as a user would; the process then exits the way the app always does.

``python close_while_running.py SCENARIO DATA_DIR``. Prints ``CLOSING <time.monotonic()>`` just before the window
closes (the clock is system-wide, so the parent measures close-to-exit). Scenarios:

- ``open``: while a data folder is being opened (the start folder again once the window is up: its first open
  starts before the window is built and may be over before the first tick);
- ``fifo``: a second after opening a folder in which a data file is a FIFO nobody writes to (a read that blocks);
- ``embed``: while a stored layer is embedded (inside UMAP's fit, which cannot see the cancel flag);
- ``load-model``: while the model's checkpoint loads (importing torch);
- ``generate``: while a generation runs (between denoising steps);
- ``stuck``: while a job sits in a native call that never checks cancel (a 60 s sleep).
"""

from __future__ import annotations

import sys
import time

TICK_MS = 20
SETTLE_S = 150.0  # the job never reached the stage to close in: give up (exit code 3)


def _window(app):
    from diffviews_app.main_window import MainWindow

    return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)


class Driver:
    """Polls the window on the UI thread: starts the scenario's job once the data shows, closes once it runs."""

    def __init__(self, app, scenario: str, data_dir: str) -> None:
        from PySide6.QtCore import QTimer

        self.app, self.scenario, self.data_dir = app, scenario, data_dir
        self.started: float | None = None
        self.job_started = False
        self.timer = QTimer()
        self.timer.timeout.connect(self.tick)
        self.timer.start(TICK_MS)
        self.born = time.monotonic()

    def running(self, prefix: str):
        return next((j for j in self.window.pool.running() if j.name.startswith(prefix)), None)

    def tick(self) -> None:
        self.window = _window(self.app)
        if self.window is None:
            return
        if time.monotonic() - self.born > SETTLE_S:
            print(f"scenario {self.scenario!r} never reached its stage", flush=True)
            self.timer.stop()
            self.app.exit(3)
            return
        if self.scenario == "open":
            if not self.running("Opening"):
                self.window.open_folder(self.data_dir)
            self.close()  # the open's job is running: it was just started, if not still running from the launch
            return
        if self.scenario == "fifo":  # opening may hang on the FIFO, or fail at once where readers refuse it
            self.started = self.started or time.monotonic()
            if time.monotonic() - self.started > 1.0:
                self.close()
            return
        state = self.window.state
        if state.model is None or state.embedding is None:
            return
        if not self.job_started:
            self.job_started = True
            self.start()
            return
        if self.ready():
            self.close()

    def start(self) -> None:
        w = self.window
        if self.scenario == "embed":
            w.controller.switch_layer("encoder_bottleneck")
        elif self.scenario == "load-model":
            from diffviews_core.maps import MORE_LAYERS

            w.controller.switch_layer(MORE_LAYERS)
        elif self.scenario == "generate":
            w.gen.update_settings(num_steps=200)
            w.state.select(0)
            w.generation.runner.generate()
        elif self.scenario == "stuck":
            w.pool.submit("Stuck in native code", time.sleep, 60)
        else:
            raise SystemExit(f"unknown scenario {self.scenario!r}")

    def ready(self) -> bool:
        if self.scenario == "embed":  # the 2D fit's scaler+PCA end at 0.2; UMAP, which reports nothing, follows
            job = self.running("Embedding")
            if job is not None and job.fraction >= 0.15 and self.started is None:
                self.started = time.monotonic()
            return self.started is not None and time.monotonic() - self.started > 0.5
        if self.scenario == "load-model":
            return self.running("Loading the model") is not None
        if self.scenario == "generate":
            traj = self.window.gen.current_trajectory()
            return traj is not None and len(traj.frames) >= 2 and self.running("Generating") is not None
        return self.running("Stuck") is not None

    def close(self) -> None:
        self.timer.stop()
        print(f"CLOSING {time.monotonic():.4f}", flush=True)
        self.window.close()


def main(argv: list[str]) -> int:
    scenario, data_dir = argv[1], argv[2]
    from diffviews_app.__main__ import main as app_main
    from diffviews_app.app import application

    app = application()
    driver = Driver(app, scenario, data_dir)  # noqa: F841 (kept alive while the app runs)
    return app_main(["--data-dir", data_dir])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
