"""File formats: read and write the original DiffViews data directories and the project's own datasets.

``open_data(path)`` gives a ``DataRoot`` of ``ModelData`` (samples, embeddings, memory-mapped activations, images).
Nothing here imports torch or the engine; what builds or converts data lives in ``diffviews_core.pipelines``.
"""

from .embedding import Embedding
from .model import ModelData
from .root import DataRoot, open_data
from .table import SampleTable

__all__ = ["DataRoot", "Embedding", "ModelData", "SampleTable", "open_data"]
