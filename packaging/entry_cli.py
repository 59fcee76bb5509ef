"""PyInstaller entry point of the diffviews command."""

import sys

from diffviews_core.cli.main import main

sys.exit(main())
