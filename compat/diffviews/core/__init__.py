"""``diffviews.core``: every name of ``diffviews_core.core`` (a superset of the original's)."""

from diffviews_core.core import *  # noqa: F403
from diffviews_core.core import __all__  # noqa: F401
