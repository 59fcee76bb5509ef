"""The local data store: open the original DiffViews data directories and the project's own datasets.

``open_data(path)`` gives a ``DataRoot`` of ``ModelData`` (samples, embeddings, memory-mapped activations,
images); ``convert`` turns .npz activations into memory-mappable .npy; ``builder.build_dataset`` makes new datasets.
"""

from .embedding import Embedding
from .model import ModelData
from .root import DataRoot, open_data
from .table import SampleTable

__all__ = ["DataRoot", "Embedding", "ModelData", "SampleTable", "open_data"]
