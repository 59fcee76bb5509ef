"""``diffviews.adapters``: every name of ``diffviews_core.adapters`` (a superset of the original's)."""

from diffviews_core.adapters import *  # noqa: F403
from diffviews_core.adapters import __all__  # noqa: F401
