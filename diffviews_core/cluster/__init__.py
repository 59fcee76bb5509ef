"""Builds beyond one process: a dataset split into shards of whole batches, built by ``diffviews build --shard i/N``
(one process each, e.g. a Slurm array) or by a Ray Data pipeline (``--engine ray``), then merged into one dataset.

Every row's noise depends only on the build seed and the row, and every shard is made of the same batches a
single-process build runs, so any split gives the same bytes. Ray is optional (``pip install
diffviews-desktop[cluster]``) and imported only by the Ray engine.
"""
