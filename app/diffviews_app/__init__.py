"""DiffViews Desktop: the PySide6 + vispy explorer on top of ``diffviews_core``.

Layers (napari-style): ``state`` holds what is shown (no widgets), ``canvas`` draws it, ``canvas_bridge`` wires the
two, ``docks`` read and write the state, ``controller`` runs the slow work through ``workers``, ``main_window``
assembles everything.
"""

from diffviews_core import __version__

__all__ = ["__version__"]
