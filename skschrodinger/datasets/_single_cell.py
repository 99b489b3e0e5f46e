"""Loader for the MSCI CITE-seq single-cell PCA arrays (no download at run time)."""

from pathlib import Path

import numpy as np

FILE_PATTERN = "full_cite_pcas_{dim}_day_{day}.npy"


def load_msci(path, *, dim=50, days=(2, 3, 4, 7)):
    """Load the MSCI CITE-seq PCA arrays of several days as stacked (X, y).

    The arrays are the files ``full_cite_pcas_{dim}_day_{day}.npy`` (cells x
    principal components, from the Multimodal Single-Cell Integration
    challenge as preprocessed for the LightSB benchmark).

    Parameters
    ----------
    path : str or Path
        Folder holding the ``.npy`` files.
    dim : {50, 100}, default=50
        Number of principal components.
    days : sequence of int, default=(2, 3, 4, 7)

    Returns
    -------
    X : ndarray of shape (n_cells, dim), float64
        The cells of all requested days, stacked.
    y : ndarray of shape (n_cells,)
        The day of each cell (the snapshot time).
    """
    path = Path(path)
    files = [path / FILE_PATTERN.format(dim=dim, day=day) for day in days]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"MSCI arrays not found: {', '.join(missing)}")
    arrays = [np.load(f).astype(np.float64) for f in files]
    y = np.concatenate([np.full(len(a), float(day)) for a, day in zip(arrays, days)])
    return np.vstack(arrays), y
