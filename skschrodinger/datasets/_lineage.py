"""A synthetic lineage: two progenitor populations, one of which splits, with known transitions."""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from .._numerics import common_scale
from .._sklearn_compat import Interval, validate_params
from ._checks import as_float_array, check_finite_draws

SOURCE_CENTRES = np.array([[-2.0, 0.0], [2.0, 0.0]])
"""Progenitors A and B at time 0 (the first two features; the others are 0)."""
TARGET_CENTRES = np.array([[-3.0, 2.0], [-1.0, 2.0], [2.0, 2.0]])
"""Descendants A1, A2 (of A) and B1 (of B) at time 1."""


@dataclass(frozen=True)
class Lineage:
    """The known answer of :func:`make_lineage`.

    Attributes
    ----------
    source_classes : ndarray of str, ("A", "B")
    target_classes : ndarray of str, ("A1", "A2", "B1")
    transitions : ndarray of shape (2, 3)
        The fraction of each source class's descendants in each target
        class: rows (split, 1 - split, 0) and (0, 0, 1), summing to one.
    growth : ndarray of shape (2,)
        The mass of each source class's descendants per unit of its mass.
    source_proportions, target_proportions : ndarray
        The classes' shares of each snapshot (their counts in the sample
        are these, rounded).
    """

    source_classes: np.ndarray
    target_classes: np.ndarray
    transitions: np.ndarray
    growth: np.ndarray
    source_proportions: np.ndarray
    target_proportions: np.ndarray


def _counts(n, proportions):
    """n split by proportions, rounded by largest remainders (the counts sum to n)."""
    exact = n * np.asarray(proportions)
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact)[: n - counts.sum()]] += 1
    return counts


@validate_params(
    {
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "n_features": [Interval(Integral, 2, None, closed="left")],
        "split": [Interval(Real, 0, 1, closed="both")],
        "source_proportion": [Interval(Real, 0, 1, closed="neither")],
        "growth": [tuple, list],
        "spread": [Interval(Real, 0, None, closed="neither")],
        "n_samples_target": [Interval(Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_lineage(n_samples=1000, n_features=2, *, split=0.7, source_proportion=0.5,
                 growth=(1.0, 1.0), spread=0.25, n_samples_target=None, random_state=None):
    """Two progenitor populations at time 0; at time 1 one of them has split in two.

    At time 0, cells of class A (share ``source_proportion``) sit around
    (-2, 0) and cells of class B around (2, 0). By time 1 a share ``split``
    of A's descendants has become A1, around (-3, 2), and the rest A2,
    around (-1, 2); B's descendants are B1, around (2, 2). Each class's mass
    is multiplied by its ``growth`` (cells divide or die), so the target
    snapshot's shares are proportional to
    ``(p g_A split, p g_A (1 - split), (1 - p) g_B)``. Every cell is its
    centre plus isotropic Gaussian noise of standard deviation ``spread``;
    the counts of each class are its share of the snapshot, rounded, so the
    sample carries the proportions exactly.

    With equal growths the balanced entropic plan at small epsilon recovers
    the transitions (A to A1 and A2 in the ratio split : 1 - split, B to
    B1); with unequal growths the masses of the two snapshots no longer
    match class by class, and a balanced plan must send mass between
    lineages, which an unbalanced one need not.

    Parameters
    ----------
    n_samples : int, default=1000
        Cells at time 0.
    n_features : int, default=2
        Dimension; the features beyond the first two are pure noise.
    split : float in [0, 1], default=0.7
        The share of A's descendants that become A1.
    source_proportion : float in (0, 1), default=0.5
        The share of class A at time 0.
    growth : tuple of two positive floats, default=(1.0, 1.0)
        Mass multipliers of A and B between the two times.
    spread : float, default=0.25
        Standard deviation of each cluster.
    n_samples_target : int, default=None
        Cells at time 1 (default ``n_samples``).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples + n_samples_target, n_features)
        The cells of time 0, then those of time 1.
    y : ndarray of shape (n_samples + n_samples_target,)
        Snapshot times, 0.0 and 1.0.
    labels : ndarray of str of shape (n_samples + n_samples_target,)
        Each cell's class: "A" or "B" at time 0, "A1", "A2" or "B1" at time 1.
    lineage : Lineage
        The known transitions, growths and proportions.

    Examples
    --------
    >>> from skschrodinger import SinkhornBridge
    >>> from skschrodinger.datasets import make_lineage
    >>> X, y, labels, lineage = make_lineage(400, random_state=0)
    >>> model = SinkhornBridge(epsilon=0.1).fit(X, y)
    >>> model.transition_matrix(labels[y == 0], labels[y == 1]).round(2)
    array([[0.7, 0.3, 0. ],
           [0. , 0. , 1. ]])
    """
    growth = as_float_array(growth, "growth")
    if growth.shape != (2,) or not np.all(np.isfinite(growth)) or np.any(growth <= 0):
        raise ValueError(f"growth must be two positive finite numbers (of A and B), got "
                         f"{growth.tolist()}.")
    rng = check_random_state(random_state)
    n_target = n_samples if n_samples_target is None else n_samples_target
    source_proportions = np.array([source_proportion, 1.0 - source_proportion])
    # Only the ratio of the growths matters: extreme ones are divided (exactly) by a power of
    # two near the larger, so that their products with the proportions neither overflow nor
    # vanish.
    descendants = source_proportions * (growth / common_scale(growth))
    target_proportions = np.array([descendants[0] * split, descendants[0] * (1.0 - split),
                                   descendants[1]]) / descendants.sum()

    def snapshot(n, proportions, centres, names):
        counts = _counts(n, proportions)
        classes = np.repeat(np.arange(len(names)), counts)
        points = np.zeros((n, n_features))
        points[:, :2] = centres[classes]
        with np.errstate(over="ignore"):
            points += spread * rng.standard_normal((n, n_features))
        return check_finite_draws(points, "spread", spread), np.asarray(names)[classes]

    X0, labels0 = snapshot(n_samples, source_proportions, SOURCE_CENTRES, ["A", "B"])
    X1, labels1 = snapshot(n_target, target_proportions, TARGET_CENTRES, ["A1", "A2", "B1"])
    lineage = Lineage(
        source_classes=np.array(["A", "B"]), target_classes=np.array(["A1", "A2", "B1"]),
        transitions=np.array([[split, 1.0 - split, 0.0], [0.0, 0.0, 1.0]]), growth=growth,
        source_proportions=source_proportions, target_proportions=target_proportions)
    return (np.vstack([X0, X1]), np.repeat([0.0, 1.0], [n_samples, n_target]),
            np.concatenate([labels0, labels1]), lineage)
