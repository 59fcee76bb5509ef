"""Safe checkpoint loading: nothing stored in a file is ever executed."""

from .state_dict import load_network, save_network

__all__ = ["load_network", "save_network"]
