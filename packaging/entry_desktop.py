"""PyInstaller entry point of diffviews-desktop (entry scripts cannot use the package's relative imports)."""

import sys

from diffviews_app.__main__ import main

sys.exit(main())
