"""The original layout's ``metadata/<dataset_type>/dataset_info.json``: its sample count, layer shapes and (only when
the embedding CSV lacks columns, or there is none) its samples as a table.

A million samples make a JSON file of a few hundred MB that takes seconds to parse, so what a warm open needs (the
count and the shapes, and the table when it is used) is kept in the user cache (``table_cache``) and the JSON is
parsed again only when it changes. The checks run when it is parsed: a cached copy exists only for a file that
passed them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import table_cache
from .files import read_json_object
from .table import SampleTable

SUMMARY_KIND = "info"
SAMPLES_KIND = "info-samples"


class DatasetInfo:
    """``num_samples`` (the length of ``samples``), ``layer_shapes`` (the valid integer-list entries) and
    ``table()``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._samples: list[dict] | None = None
        cached = table_cache.load(self.path, SUMMARY_KIND)
        if cached is not None and "summary" in cached:
            summary = json.loads(cached["summary"].tobytes().decode("utf-8"))
        else:
            summary = self._parse()
            data = np.frombuffer(json.dumps(summary).encode("utf-8"), dtype=np.uint8)
            table_cache.store(self.path, SUMMARY_KIND, {"summary": data})
        self.num_samples: int = int(summary["num_samples"])
        self.layer_shapes: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in summary["layer_shapes"].items()}

    def _parse(self) -> dict:
        info = read_json_object(self.path)
        samples = info.get("samples")
        if not isinstance(samples, list) or not all(isinstance(s, dict) for s in samples):
            raise DataError(self.path, "'samples' must be a list of objects")
        shapes = info.get("layer_shapes") or {}
        hints = {}
        if isinstance(shapes, dict):
            for k, v in shapes.items():
                if isinstance(v, list) and all(isinstance(x, int) for x in v):
                    hints[str(k)] = list(v)
        self._samples = samples
        return {"num_samples": len(samples), "layer_shapes": hints}

    def table(self) -> SampleTable:
        """The samples as a table (columns = the union of their keys), from the cache when it is fresh."""
        cols = table_cache.load(self.path, SAMPLES_KIND)
        if cols is None or "sample_id" not in cols:
            if self._samples is None:
                self._parse()
            cols = SampleTable.from_records(self._samples, self.path).columns
            table_cache.store(self.path, SAMPLES_KIND, cols)
        self._samples = None
        return SampleTable(cols, self.path)
