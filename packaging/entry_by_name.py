"""PyInstaller entry point of both programs in the Linux bundle: one executable, run as ``diffviews-desktop`` or,
through the ``diffviews`` link beside it, as the command line. The bundle then holds its Python modules once."""

import multiprocessing
import os
import sys

multiprocessing.freeze_support()  # a worker process of the app (spawn) runs its job and exits here

if os.path.basename(sys.argv[0]) == "diffviews":
    from diffviews_core.cli.main import main
else:
    from diffviews_app.__main__ import main

sys.exit(main())
