"""PyInstaller entry point of diffviews-desktop (entry scripts cannot use the package's relative imports)."""

import multiprocessing
import sys

multiprocessing.freeze_support()  # a worker process of the app (spawn) runs its job and exits here

from diffviews_app.__main__ import main  # noqa: E402

sys.exit(main())
