"""Safe checkpoint loading: nothing stored in a file is ever executed."""

from .inspect import inspect_checkpoint
from .loader import checkpoint_format, load_network
from .writer import convert_checkpoint, save_network

__all__ = ["checkpoint_format", "convert_checkpoint", "inspect_checkpoint", "load_network", "save_network"]
