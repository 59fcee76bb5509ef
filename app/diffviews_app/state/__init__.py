"""Explorer state: plain QObjects with signals that the canvas adapter and the docks listen to."""

from .explorer_state import K_DEFAULT, K_MAX, K_MIN, KNN_SPACES, MODES, SELECTION_TOOLS, ExplorerState

__all__ = ["K_DEFAULT", "K_MAX", "K_MIN", "KNN_SPACES", "MODES", "SELECTION_TOOLS", "ExplorerState"]
