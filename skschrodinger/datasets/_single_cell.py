"""The MSCI CITE-seq single-cell time course: an embedded subsample, or the full arrays."""

from pathlib import Path

import numpy as np

from ._checks import as_float_array

FILE_PATTERN = "full_cite_pcas_{dim}_day_{day}.npy"
EMBEDDED = Path(__file__).resolve().parent / "data" / "msci_cite_pca50_1500.npz"
"""1 500 cells of each of days 2, 3, 4 and 7, 50 principal components (see data/README.md)."""
EMBEDDED_DAYS = (2, 3, 4, 7)


def load_msci(path=None, *, dim=50, days=(2, 3, 4, 7)):
    """The MSCI CITE-seq time course as stacked (X, y = day): embedded, or the full arrays.

    Cells measured at days 2, 3, 4 and 7 of a CD34+ hematopoietic stem and
    progenitor cell differentiation, as principal components of their CITE-seq
    profiles: the single-cell benchmark of the LightSB paper. With no
    ``path`` the package's embedded subsample is loaded (1 500 cells per day,
    50 components, float32 in the package, 1.1 MB), so the examples and the
    demo run offline; with ``path`` the full arrays
    ``full_cite_pcas_{dim}_day_{day}.npy`` (6 071 to 8 485 cells per day) are
    read from that folder. Nothing is downloaded.

    Provenance: the PCA projections distributed with the LightSB reference
    code (Korotin, Gushchin and Burnaev, ICLR 2024; github.com/ngushchin/LightSB,
    MIT licence), derived from the CITE-seq data of the Open Problems
    Multimodal Single-Cell Integration challenge (NeurIPS 2022; Lance et al.,
    PMLR 176, 2022). Cite both. The subsample is seeded (its recipe is in the
    package's ``datasets/data/README.md``).

    Parameters
    ----------
    path : str or Path, default=None
        Folder of the full ``.npy`` arrays; None loads the embedded subsample.
    dim : {50, 100}, default=50
        Number of principal components (the embedded subsample has 50).
    days : sequence of int, default=(2, 3, 4, 7)
        The days to load, in this order, each once.

    Returns
    -------
    X : ndarray of shape (n_cells, dim), float64
        The cells of the requested days, stacked.
    y : ndarray of shape (n_cells,)
        The day of each cell (the snapshot time).

    Examples
    --------
    >>> from skschrodinger.datasets import load_msci
    >>> X, y = load_msci()
    >>> X.shape, sorted(set(y))
    ((6000, 50), [2.0, 3.0, 4.0, 7.0])
    """
    days = _check_days(days)
    if path is None:
        arrays = _embedded(dim, days)
    else:
        path = Path(path)
        files = [path / FILE_PATTERN.format(dim=dim, day=day) for day in days]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"MSCI arrays not found: {', '.join(missing)}")
        arrays = [np.load(f) for f in files]
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    y = np.concatenate([np.full(len(a), float(day)) for a, day in zip(arrays, days)])
    return np.vstack(arrays), y


def _check_days(days):
    """``days`` as a tuple of distinct ints, or a ValueError naming ``days``."""
    values = np.atleast_1d(as_float_array(days, "days")) if days is not None else np.empty(0)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"days must be a non-empty sequence of days, such as (2, 4), got "
                         f"{days!r}.")
    if not np.all((np.abs(values) < 2**53) & (values == np.round(values))):
        raise ValueError(f"days must be whole numbers, got {days!r}.")
    unique, counts = np.unique(values, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"days must be distinct (each day is loaded once), got {days!r}; "
                         f"day(s) {unique[counts > 1].astype(int).tolist()} repeat.")
    return tuple(int(day) for day in values)


def _embedded(dim, days):
    if dim != 50:
        raise ValueError(f"The embedded subsample has 50 principal components, got dim={dim}; "
                         "pass path= (the folder of the full arrays) for other dimensions.")
    unknown = [day for day in days if day not in EMBEDDED_DAYS]
    if unknown:
        raise ValueError(f"The embedded subsample has days {EMBEDDED_DAYS}, got days {unknown}.")
    with np.load(EMBEDDED) as data:
        return [data[f"day_{day}"] for day in days]
