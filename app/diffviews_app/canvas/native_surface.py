"""The vispy canvas on a native GL surface: a ``QOpenGLWindow`` in a window container, not vispy's ``QOpenGLWidget``.

A ``QOpenGLWidget`` draws into a texture that Qt composes with the whole top-level window through GL on every
update, and every dock repaint goes through the same composition. On software GL (llvmpipe) that costs 60-190 ms a
frame however little changed. A ``QOpenGLWindow`` swaps only its own region and leaves the rest of the window to the
raster backing store: an empty frame costs 7-16 ms (``benchmarks/bench_interaction.py``, the floor row), and a dock
repaint no longer touches GL at all.

``attach(canvas, parent)`` gives a vispy ``SceneCanvas`` made with ``create_native=False`` this backend. The canvas's
``native`` is then the ``QOpenGLWindow`` (mouse and key events, ``grabFramebuffer``) and ``native.container`` the
widget that goes into layouts.
"""

from __future__ import annotations

import atexit
import functools
import sys

import numpy as np
import shiboken6
import vispy.app
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QImage, QResizeEvent, QWindow
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QWidget
from vispy import gloo

vispy.app.use_app("pyside6")
_qt = sys.modules["vispy.app.backends._qt"]  # vispy's Qt backend module, loaded by use_app (it has no public name)
_open_containers: set[QWidget] = set()  # containers not yet deleted
_adopter: QWindow | None = None  # made the parent of every surface at construction, so C++ owns them, not Python


def _cpp_owner() -> QWindow:
    """A QWindow passed as the parent to each surface's constructor, which hands the surface to C++: its container
    deletes it (the container reparents it at once). A Python-owned surface is deleted again by the bindings at exit,
    after its container deleted it, and crashes the process."""
    global _adopter
    if _adopter is None:
        _adopter = QWindow()
    return _adopter


@atexit.register  # registered after PySide's own exit hook, so it runs before it (atexit runs last-in, first-out)
def _delete_open_containers() -> None:
    """Delete every top-level container (a canvas without a window) not yet deleted, with its surface, before Qt
    tears the application down: the application's destructor crashes on a top-level container whose surface the
    bindings deleted first. A container in a window goes with its window."""
    for container in list(_open_containers):
        if shiboken6.isValid(container) and container.parent() is None:
            shiboken6.delete(container)
    _open_containers.clear()


class CanvasBackendWindow(_qt.QtBaseCanvasBackend, QOpenGLWindow):
    """vispy's Qt canvas backend (mouse, wheel, key and gesture events come from ``QtBaseCanvasBackend``) on a
    ``QOpenGLWindow``, which swaps its own buffers after ``paintGL``."""

    def _init_specific(self, p, kwargs) -> None:
        fmt = _qt._set_config(p.context.config)
        fmt.setSwapInterval(1 if p.vsync else 0)
        p.context.shared.add_ref("qt", self)
        QOpenGLWindow.__init__(self, QOpenGLWindow.UpdateBehavior.NoPartialUpdate, _cpp_owner())
        self.setFormat(fmt)
        self.container = QWidget.createWindowContainer(self, p.parent)
        self.container.setFocusPolicy(Qt.FocusPolicy.WheelFocus)
        self.container.setMinimumSize(1, 1)
        self._initialized = True
        _open_containers.add(self.container)
        self.container.destroyed.connect(functools.partial(_open_containers.discard, self.container))

    # QWidget calls QtBaseCanvasBackend makes, answered the QWindow way (a window always reports mouse moves)
    def setMouseTracking(self, _on: bool) -> None:  # noqa: N802 (Qt name)
        pass

    def setWindowTitle(self, title: str) -> None:  # noqa: N802 (Qt name)
        self.setTitle(title)

    def devicePixelRatioF(self) -> float:  # noqa: N802 (Qt name)
        return float(self.devicePixelRatio())

    def _vispy_set_size(self, w: int, h: int) -> None:
        if self._vispy_canvas is None:
            return
        self.container.resize(w, h)
        self.resize(w, h)  # the container passes its size on only once shown; vispy needs one before that

    def _vispy_set_visible(self, visible: bool) -> None:
        if self._vispy_canvas is not None:
            self.container.setVisible(visible)

    def _vispy_get_size(self) -> tuple[int, int]:
        if self._vispy_canvas is None:
            return self._closed_size
        return self.width(), self.height()

    def _vispy_close(self) -> None:
        """Hide the surface, and delete it with its container once the event loop is back (not inside a paint or
        a close cascade that still uses it). Late updates (a job finishing after the close) find no canvas. If the
        loop never comes back, ``_delete_open_containers`` deletes it at exit.

        A draw handler must not close the window (or quit the app, which closes every window) itself: Qt ends the
        paint through a context the close released. Defer it (``QTimer.singleShot(0, ...)``)."""
        self._closed_size = (self.width(), self.height())
        self._vispy_canvas = None
        self.container.hide()
        self.container.deleteLater()

    def _vispy_set_current(self) -> None:
        if self._vispy_canvas is None:
            return
        if not self.isValid():
            self._initialize_now()
        if self.isValid():
            self.makeCurrent()

    def _initialize_now(self) -> None:
        """Create the GL context before Qt would (at the first resize after the window is shown), so the canvas can
        render (an export, a test) before the event loop has shown it. Needs the container's native window."""
        if not self.container.isVisible():
            return  # not before it is placed and shown: a native window created now would be reparented later
        self.container.winId()
        self.create()
        size = self.container.size()
        self.resize(size)
        QCoreApplication.sendEvent(self, QResizeEvent(size, size))  # QOpenGLWindow creates its context on a resize

    def _vispy_swap_buffers(self) -> None:
        """QOpenGLWindow swaps after ``paintGL`` returns; a second swap would show an undefined back buffer."""

    def _vispy_get_fb_bind_location(self) -> int:
        return self.defaultFramebufferObject()

    def initializeGL(self) -> None:  # noqa: N802 (Qt override)
        if self._vispy_canvas is not None:
            self._vispy_canvas.events.initialize()

    def resizeGL(self, w: int, h: int) -> None:  # noqa: N802 (Qt override)
        if self._vispy_canvas is None:
            return
        ratio = self.devicePixelRatio()
        physical = (int(w * ratio), int(h * ratio))
        self._vispy_set_physical_size(*physical)
        self._vispy_canvas.events.resize(size=(self.width(), self.height()), physical_size=physical)

    def paintGL(self) -> None:  # noqa: N802 (Qt override)
        if self._vispy_canvas is None:
            return
        self._vispy_canvas.set_current()
        self._vispy_canvas.events.draw(region=None)

    def grabFramebuffer(self) -> QImage:  # noqa: N802 (Qt name)
        """The frame as it is drawn on screen (the cached points and everything over them), drawn again and read
        before the swap: after a swap the back buffer's content is undefined."""
        if self._vispy_canvas is None:
            return QImage()
        self._vispy_set_current()
        if not self.isValid():
            return QImage()
        self._vispy_canvas.events.draw(region=None)
        w, h = self._physical_size
        rows = np.ascontiguousarray(gloo.read_pixels((0, 0, w, h), alpha=True))  # top row first
        rows[..., 3] = 255  # the window is opaque; points leave alpha below 1 in the framebuffer
        image = QImage(rows.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        image.setDevicePixelRatio(self.devicePixelRatio())
        return image


def attach(canvas, parent: QWidget | None) -> CanvasBackendWindow:
    """Create ``canvas``'s backend on a native GL surface (the canvas was made with ``create_native=False``); what
    vispy's ``create_native`` does, with this backend class."""
    canvas._backend_kwargs["parent"] = parent
    CanvasBackendWindow(canvas, **canvas._backend_kwargs)
    canvas._backend_kwargs = None
    canvas.events.draw.connect(canvas.context.flush_commands, position="last")
    return canvas.native
