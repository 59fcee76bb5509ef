"""``diffviews download`` and ``diffviews import``: the only ways DiffViews fetches or installs data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DiffViewsError

MANIFEST_ENV = "DIFFVIEWS_MANIFEST"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="download data and checkpoints listed in a manifest (checksummed, resumable)")
    p.add_argument("--output-dir", type=Path, help="data root to fill (default: the user data folder)")
    p.add_argument("--checkpoints", default="all", help="all | none | a model name (dmd2, edm)")
    p.add_argument("--source", choices=("auto", "r2", "hf"), default="auto", help="which mirror to use")
    p.add_argument("--manifest", help=f"manifest JSON file or URL (default: ${MANIFEST_ENV})")
    p.set_defaults(func=run_download)

    q = sub.add_parser("import", help="copy a data folder or unpack a .zip/.tar archive into the data root (offline)")
    q.add_argument("source", type=Path, help="folder, .zip, .tar or .tar.gz")
    q.add_argument("--data-dir", type=Path, help="data root (default: the user data folder)")
    q.add_argument("--overwrite", action="store_true", help="replace models that already exist")
    q.set_defaults(func=run_import)


def run_download(args: argparse.Namespace) -> int:
    import os

    from ..downloads import download, read_manifest, select
    from ..paths import data_root
    from ._progress import progress_bar

    location = args.manifest or os.environ.get(MANIFEST_ENV)
    if not location:
        raise DiffViewsError(
            "no manifest: pass --manifest FILE|URL (a JSON list of files with sha256 and mirror URLs) "
            f"or set {MANIFEST_ENV}; this build ships no mirror addresses"
        )
    entries = select(read_manifest(location), args.checkpoints)
    out = args.output_dir or data_root()
    with progress_bar("downloading") as progress:
        paths = download(entries, out, args.source, progress)
    print(f"{len(paths)} file(s) verified in {out}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from ..importer import import_data
    from ..paths import data_root

    models = import_data(args.source, args.data_dir or data_root(), overwrite=args.overwrite)
    for m in models:
        print(f"imported {m}")
    return 0
