"""Cell-level outputs of a fitted bridge: push, pull and transition matrices between snapshots.

Single-cell users ask of a fitted bridge where a set of cells goes (its
descendants at a later snapshot), where it comes from (its ancestors), and how
much mass moves from each annotation to each other one (moscot's
``push``, ``pull`` and ``cell_transition``; Waddington-OT's transition
tables). All three are products with the coupling between the cells of two
snapshots t_s < t_e::

    push(r)_j = sum_i r_i P_ij,     pull(v)_i = sum_j P_ij v_j

where P is the composition of the links' plans between t_s and t_e. The
coupling is known in two ways:

* **exactly**, on the fitted cells of a bridge whose links hold their discrete
  plans (:class:`~skschrodinger.SinkhornBridge`): each link's product is a
  log-sum-exp over the other side's cells (``PlanLink.push``/``pull``), and a
  chain multiplies them, dividing by the intermediate cells' weights so that
  each link carries the mass (growth included) that reached its source;
* **by sampling**, for any fitted bridge and any cells: ``n_draws`` paths of
  each source cell are drawn through the snapshots up to t_e (a cell at each
  fitted time, as the bridge paths of ``sample_trajectory`` do), and each
  path counts for the target cell nearest to its end, with the mass it
  carries::

      P_ij = a_i / n_draws * sum over the draws k of i ending nearest j of G_ik

  with a_i = 1 / n and G_ik the product of the links' growths
  (``growth_rate``) at the path's cells at t_s and at each snapshot before
  t_e (1 for a balanced bridge): the conditional law of the model,
  discretised on the target cells' Voronoi cells, weighted by the growth as
  the exact chain is. Its expectation is the exact coupling when the target
  cells are the fitted ones.
"""

import numbers

import numpy as np
from sklearn.metrics import pairwise_distances_argmin
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import check_scalar_time, format_times, match_snapshot_times

DEFAULT_DRAWS = 10
"""Endpoints drawn per source cell by the sampling estimate."""


class _PlanChain:
    """The exact coupling of consecutive ``PlanLink`` links between two snapshot times."""

    def __init__(self, links):
        self.links = links
        self.n_source, self.n_target = links[0].source.shape[0], links[-1].target.shape[0]

    def push(self, source_values):
        values = source_values
        for index, link in enumerate(self.links):
            mass = link.push(values)
            if index + 1 < len(self.links):  # the next link's rows, per unit of their weight
                weights = self.links[index + 1].source_weights
                values = np.divide(mass, weights, out=np.zeros_like(mass), where=weights > 0)
        return mass

    def pull(self, target_values):
        values = target_values
        for index, link in reversed(list(enumerate(self.links))):
            mass = link.pull(values)
            if index > 0:  # per unit of weight of this link's rows, the previous link's targets
                weights = link.source_weights
                values = np.divide(mass, weights, out=np.zeros_like(mass), where=weights > 0)
        return mass


class _SampledCoupling:
    """The coupling estimated by drawing paths and assigning each to its nearest target cell.

    ``nearest[i, k]`` is the target cell nearest to the end of the k-th path
    drawn from source cell i, and ``growth[i, k]`` the mass that path
    carries there per unit mass of cell i.
    """

    def __init__(self, nearest, growth, n_target):
        self.nearest, self.growth = nearest, growth
        self.n_source, self.n_target = nearest.shape[0], n_target

    def push(self, source_values):
        n, draws = self.nearest.shape
        per_draw = source_values[:, None] * self.growth / (n * draws)
        return np.bincount(self.nearest.ravel(), weights=per_draw.ravel(),
                           minlength=self.n_target)

    def pull(self, target_values):
        return (target_values[self.nearest] * self.growth).mean(axis=1) / self.nearest.shape[0]


class CellTransitionsMixin:
    """push, pull and transition_matrix of a fitted bridge (mixed into BaseBridge)."""

    def _cell_time_indices(self, source_time, target_time):
        """Indices in ``times_`` of the two snapshot times (defaults: t_0 and the next one)."""
        check_is_fitted(self, "links_")
        times = self.times_
        indices = []
        for name, value, default in (("source_time", source_time, 0),
                                     ("target_time", target_time, None)):
            if value is None:
                indices.append(indices[0] + 1 if default is None else default)
                continue
            index = int(match_snapshot_times(check_scalar_time(value, name), times)[0])
            if index < 0:
                raise ValueError(f"{name} must be one of the fitted snapshot times "
                                 f"{format_times(times)}; got {value!r}.")
            indices.append(index)
        if not indices[0] < indices[1] < len(times):
            raise ValueError(
                f"target_time must be a fitted snapshot time after source_time="
                f"{times[indices[0]]:g}; the fitted times are {format_times(times)}.")
        return indices

    def _coupling(self, source_time, target_time, X_source, X_target, n_draws, random_state,
                  method):
        """The coupling between the cells of the two times: exact where the model holds it.

        ``method`` (the caller's name) is the one non-finite samples are reported under.
        """
        first, last = self._cell_time_indices(source_time, target_time)
        links = self.links_[first:last]
        holds_cells = all(hasattr(link, "push") for link in links)
        if X_source is None and X_target is None and holds_cells:
            return _PlanChain(links)
        if X_source is None or X_target is None:
            missing = "X_source" if X_source is None else "X_target"
            raise ValueError(
                f"{missing} is required: pass the cells of both snapshots (the rows of X at "
                f"source_time and at target_time). Only a bridge that keeps its fitted cells "
                f"(SinkhornBridge) can use them when both are None; with cells given, push, "
                f"pull and transition_matrix estimate the coupling by drawing endpoints.")
        if not isinstance(n_draws, numbers.Integral) or n_draws < 1:
            raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}.")
        source = self._validate_points(X_source)
        target = self._validate_points(X_target)
        ends, growth = self._sampled_paths(links, source, n_draws,
                                           check_random_state(random_state), method)
        nearest = pairwise_distances_argmin(ends, target.astype(np.float64))
        shape = (source.shape[0], n_draws)
        return _SampledCoupling(nearest.reshape(shape), growth.reshape(shape), target.shape[0])

    def _sampled_paths(self, links, source, n_draws, rng, method):
        """``n_draws`` paths per source cell through ``links``: their ends and their growths.

        Each path draws its cell at every snapshot from the link's conditional
        law (the knots of the bridge paths of ``sample_trajectory``) and
        carries the product of the links' growths at the cells it leaves.
        """
        starts = np.repeat(source, n_draws, axis=0)
        ends, growth = np.empty(starts.shape, dtype=np.float64), np.ones(starts.shape[0])
        with self._prediction_context():
            for rows in self._chunks(*starts.shape):
                cells = starts[rows].astype(np.float64)
                for link in links:
                    growth[rows] *= link.growth(cells)
                    cells = link.sample(cells, rng)
                ends[rows] = self._check_finite(cells, method)
        return ends, self._check_finite(growth, method)

    def push(self, weights, *, source_time=None, target_time=None, X_source=None,
             X_target=None, normalize=True, n_draws=DEFAULT_DRAWS, random_state=None):
        """Descendants: the mass a set of source cells sends to each target cell.

        ``push(r)_j = sum_i r_i P_ij``, P the coupling of the cells at
        ``source_time`` and ``target_time`` (see the module docstring and the
        user guide's "Cell-level outputs"): exact on the fitted cells of
        :class:`~skschrodinger.SinkhornBridge`, estimated by drawing
        ``n_draws`` endpoints per source cell otherwise.

        Parameters
        ----------
        weights : array-like of shape (n_source_cells,)
            A boolean mask of the source cells, or non-negative weights r_i
            (multiplying each cell's mass).
        source_time, target_time : float, default=None
            Fitted snapshot times, source before target; None: the first
            fitted time, and the one after ``source_time``.
        X_source, X_target : array-like of shape (n, n_features), default=None
            The cells of the two snapshots. None (both): the fitted cells,
            for a bridge that keeps them (SinkhornBridge, in the order of the
            rows of X at each time); otherwise required.
        normalize : bool, default=True
            Divide by the total, giving a distribution over the target
            cells; False keeps the mass (which, for an unbalanced bridge,
            includes the cells' growth, exactly or in the sampling
            estimate).
        n_draws : int, default=10
            Paths drawn per source cell by the sampling estimate.
        random_state : int, RandomState instance or None, default=None
            Seeds the sampling estimate.

        Returns
        -------
        pushed : ndarray of shape (n_target_cells,)
        """
        coupling = self._coupling(source_time, target_time, X_source, X_target, n_draws,
                                  random_state, "push")
        values = _cell_values(weights, coupling.n_source, "weights", "source")
        return _normalised(coupling.push(values), normalize, "push")

    def pull(self, weights, *, source_time=None, target_time=None, X_source=None,
             X_target=None, normalize=True, n_draws=DEFAULT_DRAWS, random_state=None):
        """Ancestors: how much each source cell sends into a set of target cells.

        ``pull(v)_i = sum_j P_ij v_j``, the coupling of :meth:`push` applied
        the other way: with v a mask of target cells and ``normalize=True``,
        the distribution of their ancestors over the source cells.

        Parameters
        ----------
        weights : array-like of shape (n_target_cells,)
            A boolean mask of the target cells, or non-negative values v_j.
        source_time, target_time, X_source, X_target, normalize, n_draws, random_state
            As in :meth:`push`.

        Returns
        -------
        pulled : ndarray of shape (n_source_cells,)
        """
        coupling = self._coupling(source_time, target_time, X_source, X_target, n_draws,
                                  random_state, "pull")
        values = _cell_values(weights, coupling.n_target, "weights", "target")
        return _normalised(coupling.pull(values), normalize, "pull")

    def transition_matrix(self, source_labels, target_labels, *, source_time=None,
                          target_time=None, X_source=None, X_target=None,
                          n_draws=DEFAULT_DRAWS, random_state=None):
        """Fraction of each source annotation's mass that goes to each target annotation.

        ``T[A, B] = sum_{i in A, j in B} P_ij / sum_{i in A} sum_j P_ij`` for
        the annotations (cell types, clusters) A of the source cells and B of
        the target cells: moscot's ``cell_transition`` with forward
        normalisation. Each row sums to one (for an unbalanced bridge, over
        the mass that arrives).

        Parameters
        ----------
        source_labels : array-like of shape (n_source_cells,)
            The annotation of each source cell.
        target_labels : array-like of shape (n_target_cells,)
            The annotation of each target cell.
        source_time, target_time, X_source, X_target, n_draws, random_state
            As in :meth:`push`.

        Returns
        -------
        matrix : ndarray of shape (n_source_classes, n_target_classes)
            Rows in the order of ``np.unique(source_labels)``, columns in
            that of ``np.unique(target_labels)``.
        """
        coupling = self._coupling(source_time, target_time, X_source, X_target, n_draws,
                                  random_state, "transition_matrix")
        source_classes, source_index = _labels(source_labels, coupling.n_source, "source_labels")
        target_classes, target_index = _labels(target_labels, coupling.n_target, "target_labels")
        matrix = np.zeros((source_classes.size, target_classes.size))
        for row in range(source_classes.size):
            pushed = coupling.push((source_index == row).astype(np.float64))
            matrix[row] = np.bincount(target_index, weights=pushed, minlength=matrix.shape[1])
        totals = matrix.sum(axis=1, keepdims=True)
        return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def _cell_values(weights, n_cells, name, side):
    """A mask or non-negative weights of the cells, as float64, or a ValueError naming ``name``."""
    values = check_array(weights, ensure_2d=False, dtype=None, input_name=name)
    if values.shape != (n_cells,):
        raise ValueError(f"{name} must have one entry per {side} cell ({n_cells}), got shape "
                         f"{values.shape}.")
    values = values.astype(np.float64)
    if np.any(values < 0) or not values.max(initial=0.0) > 0:
        raise ValueError(f"{name} must be a mask or non-negative weights selecting at least "
                         f"one {side} cell.")
    return values


def _labels(labels, n_cells, name):
    """The classes of a 1-D array of annotations and each cell's class index.

    A list is read as objects, so that numpy does not turn a missing value
    or a number among strings into text (NaN into "nan").
    """
    if not (isinstance(labels, np.ndarray) and labels.dtype != object):
        labels = np.asarray(labels, dtype=object)
    if labels.shape != (n_cells,):
        raise ValueError(f"{name} must have one entry per cell ({n_cells}), got shape "
                         f"{labels.shape}.")
    if _missing(labels).any():
        raise ValueError(f"{name} has missing values (None or NaN): give every cell an "
                         "annotation, e.g. 'unknown' for the cells without one.")
    try:
        return np.unique(labels, return_inverse=True)
    except TypeError:
        kinds = sorted({type(label).__name__ for label in labels})
        raise ValueError(f"{name} mixes annotations of types that cannot be ordered "
                         f"({', '.join(kinds)}): pass annotations of one type, e.g. all "
                         "strings.") from None


def _missing(labels):
    """Where a 1-D array of annotations holds None or NaN."""
    if labels.dtype.kind in "fc":
        return np.isnan(labels)
    if labels.dtype != object:
        return np.zeros(labels.shape, dtype=bool)
    return np.array([label is None or (isinstance(label, numbers.Number) and label != label)
                     for label in labels], dtype=bool)


def _normalised(values, normalize, method):
    if not normalize:
        return values
    total = values.sum()
    if not total > 0:
        raise ValueError(f"{method}: the selected cells carry no mass to the other snapshot "
                         "(all of it is destroyed, or underflows); use normalize=False.")
    return values / total
