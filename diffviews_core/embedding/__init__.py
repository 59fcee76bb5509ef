"""Embeddings: StandardScaler -> PCA(50) -> UMAP in 2D/3D kept as plain arrays, cached, and new points projected.

``import umap`` happens only inside a fit (it costs seconds); nothing here reads or writes a pickle.
"""

from .cache import EmbeddingCache, cached_embeddings, cached_projector
from .fit import FittedEmbedding, fit_embedding, fit_embeddings
from .pca import PCAStage, fit_pca
from .projection import Projector, project
from .storage import load_embedding, save_embedding

__all__ = [
    "EmbeddingCache",
    "FittedEmbedding",
    "PCAStage",
    "Projector",
    "cached_embeddings",
    "cached_projector",
    "fit_embedding",
    "fit_embeddings",
    "fit_pca",
    "load_embedding",
    "project",
    "save_embedding",
]
