"""``diffviews embed`` and ``diffviews neighbours`` (alias ``neighbors``): fit UMAP maps of stored activations, list a
sample's neighbours."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DataError, brief
from ._output import json_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed",
        help="fit a UMAP map (StandardScaler -> PCA -> UMAP) of a model's activations and save it beside the data",
        description="Fit 2D (and 3D) UMAP maps of the chosen layers' activations and write them as "
        "embeddings/<name>.csv + .json in the model folder. Fits are cached per (model, layers, parameters), so "
        "asking again is instant. No pickle is written.",
    )
    _common(p)
    p.add_argument("--layers", help="comma-separated layers (default: those of the model's default embedding)")
    p.add_argument(
        "--dims",
        choices=("2", "3", "both"),
        default="2",
        help="map dimensions; 3 also fits the 2D map, which every embedding file holds (default: 2)",
    )
    p.add_argument("--n-neighbors", type=int, default=15, help="UMAP n_neighbors (default: 15)")
    p.add_argument("--min-dist", type=float, default=0.1, help="UMAP min_dist (default: 0.1)")
    p.add_argument("--pca-components", type=int, default=50, help="PCA components before UMAP (default: 50)")
    p.add_argument(
        "--seed",
        type=int,
        default=42,
        help="random seed; -1 for a faster, multi-threaded, non-reproducible fit (default: 42)",
    )
    p.add_argument("--name", help="embedding name (default: umap_<layers>_n<n-neighbors>_d<min-dist>)")
    p.add_argument("--overwrite", action="store_true", help="replace an embedding of the same name")
    p.add_argument("--cache-dir", type=Path, help="where fitted maps are cached (default: the user cache)")
    p.set_defaults(func=run_embed)

    p = sub.add_parser(
        "neighbours",
        aliases=["neighbors"],
        help="nearest neighbours of a sample, in activation space (true neighbours) or on the map",
        description="Exact k nearest neighbours of one sample. In activation space each neighbour's distance on "
        "the default 2D map is shown too, so neighbours that the projection tore apart stand out.",
    )
    _common(p)
    p.add_argument(
        "--sample", required=True, metavar="ID", help="sample_id of the query point (a number or a text id)"
    )
    p.add_argument("-k", type=int, default=5, help="number of neighbours (default: 5)")
    p.add_argument(
        "--space",
        choices=("activation", "map", "embedding"),
        default="activation",
        help="search activations or map coordinates; 'embedding' is another name for 'map' (default: activation)",
    )
    p.add_argument(
        "--metric",
        choices=("euclidean", "cosine"),
        default="euclidean",
        help="activation-space distance (default: euclidean)",
    )
    p.add_argument("--layers", help="comma-separated layers for activation space (default: the model's default)")
    p.add_argument(
        "--index",
        choices=("auto", "exact", "approx"),
        default="auto",
        help="activation search: the exact scan, or the dataset's approximate index (built once, recall@10 "
        "measured; auto: approximate above 64M stored values) (default: auto)",
    )
    p.add_argument("--embedding", metavar="NAME", help="map to use (default: the model's first)")
    p.add_argument("--dims", type=int, choices=(2, 3), default=2, help="map dimensions for --space embedding")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_neighbours)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, help="data root or model folder")
    p.add_argument("--model", "-m", metavar="M", help="model name inside DATA_DIR (default: its only model)")


def _model(args: argparse.Namespace):
    from ..formats import open_data

    root = open_data(args.data_dir)
    if args.model is None and len(root.models) == 1:
        return next(iter(root.models.values()))
    if args.model in root.models:
        return root.models[args.model]
    if args.model in root.problems:
        raise DataError(args.data_dir, f"model {args.model!r} did not open: {root.problems[args.model]}")
    known = ", ".join(root.models) or "none"
    raise DataError(args.data_dir, f"choose a model with --model (available: {known})")


def _layers(model, spec: str | None) -> list[str]:
    layers = [x.strip() for x in spec.split(",") if x.strip()] if spec else model.default_layers
    unknown = [x for x in layers if x not in model.layers]
    if unknown or not layers:
        raise DataError(
            model.path / "activations",
            f"layer(s) {', '.join(unknown) or '(none)'} not stored; stored: {', '.join(model.layers)}",
        )
    return sorted(layers)


def _first_non_finite_row(X) -> int | None:
    """The first row holding NaN or infinity, read a bounded block at a time (X may be memory-mapped)."""
    import numpy as np

    rows = max(1, (64 << 20) // max(1, X.shape[1] * X.dtype.itemsize))
    for start in range(0, X.shape[0], rows):
        bad = np.flatnonzero(~np.isfinite(X[start : start + rows]).all(axis=1))
        if bad.size:
            return start + int(bad[0])
    return None


def run_embed(args: argparse.Namespace) -> int:
    from ..embedding import EmbeddingCache, cached_embeddings
    from ._progress import progress_bar

    model = _model(args)
    layers = _layers(model, args.layers)
    dims = (2,) if args.dims == "2" else (2, 3)
    seed = None if args.seed < 0 else args.seed
    name = args.name or f"umap_{'+'.join(layers)}_n{args.n_neighbors}_d{args.min_dist:g}"
    csv_path = model.path / "embeddings" / f"{name}.csv"
    if csv_path.exists() and not args.overwrite:
        raise DataError(csv_path, "already exists; pass --overwrite or choose another --name")
    X = model.activations(layers)
    bad = _first_non_finite_row(X)
    if bad is not None:
        raise DataError(
            model.path / "activations",
            f"the activations of sample_id {model.samples.sample_key(bad)} hold NaN or infinity; cannot embed",
        )
    with progress_bar(f"embed {model.name}") as update:
        try:
            fitted = cached_embeddings(
                X,
                model_id=f"{model.name}@{model.path.resolve()}",
                layers=layers,
                dims=dims,
                n_neighbors=args.n_neighbors,
                min_dist=args.min_dist,
                pca_components=args.pca_components,
                seed=seed,
                cache=EmbeddingCache(args.cache_dir) if args.cache_dir else None,
                progress=update,
            )
        except ValueError as exc:  # e.g. scikit-learn refusing activations that hold NaN or infinity
            raise DataError(model.path / "activations", f"cannot embed {', '.join(layers)}: {brief(exc)}") from None
    params = {k: v for k, v in fitted[2].params.items() if k != "n_components"}
    params.update(layers=layers, model=model.config.get("dataset_type", model.name), dims=list(dims))
    written = model.write_embedding(
        name, fitted[2].coords, fitted[3].coords if 3 in fitted else None, params, overwrite=args.overwrite
    )
    print(f"wrote {written} ({model.num_samples} points, layers {', '.join(layers)}, {'+'.join(map(str, dims))}D)")
    return 0


def run_neighbours(args: argparse.Namespace) -> int:
    import numpy as np

    from ..knn_index import dataset_index
    from ..neighbours import knn_plane

    model = _model(args)
    space = "map" if args.space == "embedding" else args.space
    table = model.samples
    try:
        row = table.row_of(args.sample)
    except KeyError:
        raise DataError(model.path, f"no sample with id {args.sample}") from None
    emb = model.embedding(args.embedding) if model.embedding_names else None
    report: dict = {"model": model.name, "sample_id": table.sample_key(row), "space": space, "k": args.k}
    plane = None if emb is None else emb.coords2d
    if space == "activation":
        layers = _layers(model, args.layers)
        index = dataset_index(model, layers, args.metric, mode=args.index)
        try:
            rows, dists = index.query_rows(row, args.k)
        except ValueError as exc:  # the query's own activations are not numbers
            raise DataError(model.path / "activations", f"sample {table.sample_key(row)}: {exc}") from None
        report.update(metric=args.metric, layers=layers, index=index.kind, recall_at_10=index.recall)
    else:
        if emb is None:
            raise DataError(model.path / "embeddings", "no embeddings yet: run `diffviews embed`")
        plane = emb.coords3d if args.dims == 3 else emb.coords2d
        if plane is None:
            raise DataError(model.path / "embeddings", f"embedding {emb.name!r} has no 3D coordinates")
        rows, dists = knn_plane(plane, row, args.k)
        report.update(embedding=emb.name, dims=args.dims)
    hits = []
    for rank, (r, d) in enumerate(zip(rows.tolist(), dists.tolist(), strict=True), start=1):
        hit = {"rank": rank, "sample_id": table.sample_key(r), "row": r}
        if table.has_classes:
            hit.update(class_label=int(table.class_label[r]), class_name=str(table.class_name[r]))
        if table.caption is not None:
            hit["caption"] = str(table.caption[r])
        hit.update(conditioning_sigma=float(table.conditioning_sigma[r]), distance=float(d))
        if space == "activation" and plane is not None:
            hit["map_distance"] = float(np.linalg.norm(plane[r] - plane[row]))
        hits.append(hit)
    report["neighbors"] = hits  # the JSON key predates the command's British name; scripts read it
    if args.json:
        print(json_text(report))
        return 0
    where = (
        f"{args.metric} over {', '.join(report['layers'])}, {report['index']} index"
        + (f" (recall@10 {report['recall_at_10']:.3f})" if report["index"] != "exact" else "")
        if space == "activation"
        else (f"{args.dims}D map {report['embedding']}")
    )
    print(f"{model.name}: {len(hits)} nearest neighbours of sample {table.sample_key(row)} ({where})")
    extra = "  map_dist" if hits and "map_distance" in hits[0] else ""
    width = max([9] + [len(str(h["sample_id"])) for h in hits])
    what = "class" if table.has_classes else "caption"
    print(f"{'#':>3} {'sample_id':>{width}} {'sigma':>8} {'distance':>11}{extra}  {what}")
    for h in hits:
        md = f"  {h['map_distance']:8.3f}" if extra else ""
        label = f"{h['class_label']} {h['class_name']}" if table.has_classes else h.get("caption", "")
        print(
            f"{h['rank']:>3} {h['sample_id']!s:>{width}} {h['conditioning_sigma']:>8g} {h['distance']:>11.5g}{md}  "
            f"{label}"
        )
    return 0
