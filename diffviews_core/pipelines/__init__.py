"""Pipelines that make or transform data, reaching into the engine where they must (torch is imported lazily).

``builder.build_dataset`` makes a dataset, ``layer_extraction.extract_layers`` records layers a dataset did not store,
``convert.convert_model`` turns .npz activations into .npy, ``sources`` feeds images to the builder, and
``demo_build`` builds the embedded demo's data. File formats are in ``diffviews_core.formats``.
"""
