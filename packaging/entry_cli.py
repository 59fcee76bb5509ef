"""PyInstaller entry point of the diffviews command."""

import multiprocessing
import sys

multiprocessing.freeze_support()  # a worker process of the app (spawn) runs its job and exits here

from diffviews_core.cli.main import main  # noqa: E402

sys.exit(main())
