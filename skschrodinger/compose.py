r"""Meta-estimators that combine a bridge with other scikit-learn estimators.

:class:`TransformedBridge` fits a bridge in the coordinates of a fitted
transformer (``StandardScaler``, ``PCA``, ...) and returns its predictions in
the original feature space, as scikit-learn's ``TransformedTargetRegressor``
does for a regressor's target.
"""

from typing import ClassVar
import warnings

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import check_array, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from ._fitting import SCORE_SEED, all_or_nothing, publish_fitted
from ._sklearn_compat import HasMethods
from ._validation import (
    check_positive_total,
    check_sample_weight,
    check_scalar_time,
    normalise_weights,
    validate_rows,
)
from .metrics import make_bridge_scorer

__all__ = ["TransformedBridge"]

AFFINE_RTOL = 1e-9
"""Relative tolerance of the affinity test of ``inverse_transform`` at fit."""
N_PROBES = 8
"""Transformed training rows (and random combinations of them) the inverse is probed at."""


def _bridge_has(attribute):
    """``available_if`` condition: the (fitted, else unfitted) bridge has ``attribute``."""

    def check(self):
        bridge = self.bridge_ if hasattr(self, "bridge_") else self.bridge
        getattr(bridge, attribute)  # raises AttributeError, which hides the method
        return True

    return check


def _pooled_weights(sample_weight, n_samples):
    """The rows' weights for the transformer, fitted on every snapshot pooled (None: unweighted).

    Weights of the pooled rows, as scikit-learn estimators take them: an
    integer weight acts as copies of its row, and only the ratios of all the
    weights matter. They are normalised (whatever their magnitude, so no sum
    overflows) to sum to the number of rows of positive weight, so that unit
    weights are the unweighted fit.
    """
    weights = check_sample_weight(sample_weight, n_samples)
    if weights is None:
        return None
    return normalise_weights(check_positive_total(weights)) * np.count_nonzero(weights)


class TransformedBridge(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""A Schrödinger bridge fitted in the coordinates of a transformer.

    A clone of ``transformer`` is fitted on all rows of X (every snapshot
    pooled, y unused), a clone of ``bridge`` is fitted on the transformed rows
    z = T(x) with the same y (snapshot times, or None for the generative
    mode), and every prediction is mapped back to the original feature space
    by the transformer's inverse x = T⁻¹(z)::

        transform(x)            = T⁻¹( bridge.transform(T(x)) )
        sample(x)               = T⁻¹( bridge.sample(T(x)) )
        sample_trajectory(x)[j] = T⁻¹( bridge.sample_trajectory(T(x))[j] )
        drift(x, t)             = bridge.drift(T(x), t) @ J     (affine T⁻¹ only)

    This is the bridge analogue of
    ``sklearn.compose.TransformedTargetRegressor``: fit in standardised
    or reduced coordinates, predict in the user's units. To *work* in the
    transformed space instead (predictions in PCA coordinates, say), use
    ``make_pipeline(transformer, bridge)``.

    **Which bridge is this?** The bridge's reference process is Brownian
    motion in the transformed coordinates, dZ = sqrt(epsilon) dW, so
    ``epsilon`` is in squared transformed units. When the inverse is affine,
    x = c + z J, the model in the original space is the Schrödinger bridge
    whose reference is dX = sqrt(epsilon) J^T dW, with noise covariance
    epsilon J^T J per unit time:

    - a rotation (``PCA`` with all components, ``whiten=False``) or a
      translation leaves the cost ||x - y||^2 / 2 unchanged, so the
      Schrödinger bridge is the same, with the same epsilon; a fitted model
      is the same where its model class is rotation-invariant
      (SinkhornBridge; LightSB with ``covariance_type="full"`` or
      ``"spherical"``), not LightSB's default ``"diag"``, whose axes turn
      with the data;
    - an isotropic scaling z = x / s gives the bridge of the original data
      with epsilon s^2;
    - a ``StandardScaler`` with unequal scales s_d gives noise covariance
      epsilon diag(s_d^2): an anisotropic reference, i.e. the cost
      sum_d (x_d - y_d)^2 / (2 s_d^2). This is usually what one wants for
      features in incomparable units, but it is not the original-space
      bridge with any single epsilon;
    - ``PCA(n_components=k)`` with k < d fits the bridge in the top-k
      principal subspace: every prediction lies in that subspace (an affine
      subspace of the original space, through the training mean).

    For a non-affine inverse (``FunctionTransformer(np.arcsinh,
    inverse_func=np.sinh)``) the paths are still the image of the bridge's
    paths, x_t = T⁻¹(z_t), so ``sample`` and ``sample_trajectory`` draw from
    the mapped process; but ``transform`` returns T⁻¹(E[Z_1 | Z_0 = T(x)]),
    which is not E[X_1 | X_0 = x], and ``drift`` is refused (by Itô's formula
    the original-space drift would need the Jacobian and Hessian of T⁻¹ at
    every point).

    Parameters
    ----------
    bridge : estimator
        A transport estimator with the shared bridge API
        (:class:`~skschrodinger.LightSBTransport`,
        :class:`~skschrodinger.SinkhornBridge`, ...). It is cloned at fit.
    transformer : estimator, default=None
        A transformer with ``fit``, ``transform`` and a working
        ``inverse_transform``; cloned at fit. None is the identity, so the
        predictions are the bridge's own. A transformer whose
        ``inverse_transform`` is missing or fails (``KernelPCA`` without
        ``fit_inverse_transform=True``) is refused at fit with a
        ``ValueError``.

    Attributes
    ----------
    bridge_ : estimator
        The bridge fitted on the transformed rows.
    transformer_ : estimator
        The fitted transformer (a ``FunctionTransformer`` identity when
        ``transformer`` is None).
    inverse_offset_ : ndarray of shape (n_features_in\_,) or None
        c = T⁻¹(0) when the inverse is affine, else None.
    inverse_jacobian_ : ndarray of shape (n_transformed_features, n_features_in\_) or None
        J with T⁻¹(z) = c + z J when the inverse is affine, else None. It is
        computed at fit as (T⁻¹(λ I) − T⁻¹(0)) / λ (λ a power of two of the
        magnitude of the transformed rows), and the inverse is declared
        affine when T⁻¹ agrees with c + z J to a relative 1e-9 at transformed
        training rows and at random linear combinations of them.
    times_ : ndarray of shape (n_snapshots,)
        The bridge's snapshot times (read-only, from ``bridge_``).
    generative_ : bool
        Whether the bridge was fitted in generative mode (read-only).
    link_epsilons_ : ndarray of shape (n_snapshots - 1,)
        The bridge's per-link reference variances, in transformed units;
        present when the bridge has it.
    epsilon_per_unit_time_ : float
        The bridge's reference variance per unit of label time; present when
        the bridge has it.
    n_features_in_ : int
        Number of original features.
    feature_names_in_ : ndarray of str
        Only when X has feature names that are all strings.

    Notes
    -----
    In generative mode (``fit(X)`` with y=None) the bridge's source N(0, I)
    lives in the transformed space: the source in the original space is its
    image T⁻¹(N(0, I)) (for a ``StandardScaler``, N(``mean_``, diag(``scale_``²))).
    Starting points passed to ``transform``, ``sample`` and
    ``sample_trajectory`` are always in the original space and go through T;
    ``sample(n_samples=n)`` draws its own source points.

    ``score`` is :func:`~skschrodinger.metrics.make_bridge_scorer` applied to
    this meta-estimator, so the energy distance compares predictions and
    held-out rows in the original units; ``objective`` (when the bridge has
    one, e.g. LightSB's held-out loss) is the bridge's, on transformed rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skschrodinger import LightSBTransport
    >>> from skschrodinger.compose import TransformedBridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 2)) * [1e3, 1e-2]
    >>> y = np.repeat([0, 1], 100)
    >>> X[y == 1] += [2e3, 0.03]
    >>> model = TransformedBridge(LightSBTransport(n_components=2, random_state=0),
    ...                           StandardScaler()).fit(X, y)
    >>> model.sample(X[:3], random_state=0).shape
    (3, 2)
    """

    _parameter_constraints: ClassVar[dict] = {
        "bridge": [HasMethods(["fit", "transform", "sample", "sample_trajectory", "drift"])],
        "transformer": [HasMethods(["fit", "transform"]), None],
    }

    def __init__(self, bridge, transformer=None):
        self.bridge = bridge
        self.transformer = transformer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        bridge_tags = get_tags(self.bridge)
        tags.target_tags.required = bridge_tags.target_tags.required
        tags.non_deterministic = bridge_tags.non_deterministic
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        if self.transformer is not None:
            transformer_tags = get_tags(self.transformer)
            tags.non_deterministic |= transformer_tags.non_deterministic
            tags.input_tags.positive_only = transformer_tags.input_tags.positive_only
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    # ------------------------------------------------------------------ fit
    @all_or_nothing
    def fit(self, X, y=None, sample_weight=None):
        """Fit the transformer on X, then the bridge on the transformed rows.

        The fitted attributes are set all at once, after both fits have
        succeeded, and those of an earlier fit that this one does not produce
        (``feature_names_in_``) are removed: of fits of one instance running
        in several threads, the last to finish wins whole. A failed fit
        leaves the estimator as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            All samples, stacked, in the original feature space.
        y : array-like of shape (n_samples,), default=None
            Snapshot time of each row, passed to the bridge; None fits a
            generative bridge from N(0, I) in the transformed space to T(X).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows. The bridge's ``fit`` is given
            them (it weighs rows within their snapshot: only the ratios within
            a snapshot matter there). The transformer's ``fit`` is given them
            where it accepts them (``StandardScaler``, for instance): it is
            fitted on every snapshot pooled, the rows weighted as given, so an
            integer weight acts as copies of its row, and a snapshot's total
            weight is its share of the pooled rows (weights that sum to one
            in each snapshot give the snapshots equal shares). Only the ratios
            of all the weights matter: they are normalised first, so
            multiplying them all by any positive number changes nothing. A
            transformer whose ``fit`` takes no weights (``PCA``) is fitted on
            the rows unweighted, as scikit-learn's
            ``TransformedTargetRegressor`` fits its transformer.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            If the transformer's ``inverse_transform`` is missing, fails, or
            does not return ``n_features_in_`` columns.
        """
        self._validate_params()
        X, inputs = validate_rows(self, X, reset=True, dtype=np.float64, ensure_min_samples=2)
        if self.transformer is None:
            transformer = FunctionTransformer(validate=False)
        else:
            transformer = clone(self.transformer)
        weights = _pooled_weights(sample_weight, X.shape[0])
        if weights is not None and has_fit_parameter(transformer, "sample_weight"):
            transformer.fit(X, sample_weight=weights)
        else:
            transformer.fit(X)
        Z = self._checked_transform(transformer, X)
        self._check_inverse(transformer, Z, X.shape[1])
        offset, jacobian = self._affine_inverse(transformer, Z, X.shape[1])
        weighted = {} if sample_weight is None else {"sample_weight": sample_weight}
        bridge = clone(self.bridge).fit(Z, y, **weighted)
        publish_fitted(self, {
            **inputs,
            "transformer_": transformer,
            "bridge_": bridge,
            "inverse_offset_": offset,
            "inverse_jacobian_": jacobian,
        })
        return self

    def _describe_transformer(self, transformer=None):
        if transformer is None:
            transformer = self.transformer_ if hasattr(self, "transformer_") else self.transformer
        return type(transformer).__name__

    def _checked_transform(self, transformer, X):
        """T(X) as a 2-D finite float array (a DataFrame output becomes an array)."""
        Z = check_array(transformer.transform(X), dtype=[np.float64, np.float32],
                        ensure_all_finite=False, input_name="T(X)")
        if Z.shape[0] != X.shape[0]:
            raise ValueError(f"{self._describe_transformer(transformer)}.transform returned "
                             f"{Z.shape[0]} rows for {X.shape[0]}; TransformedBridge needs a "
                             "row-wise transformer.")
        if not np.all(np.isfinite(Z)):
            raise ValueError(f"{self._describe_transformer(transformer)}.transform returned NaN "
                             "or infinite values on finite input X.")
        return Z

    def _check_inverse(self, transformer, Z, n_features):
        """Call ``inverse_transform`` on a few transformed rows; raise if it is unusable."""
        name = self._describe_transformer(transformer)
        advice = (f"TransformedBridge maps the bridge's predictions back through "
                  f"{name}.inverse_transform; to fit and predict in the transformed space "
                  f"instead, use Pipeline([('transformer', {name}(...)), ('bridge', bridge)]) "
                  "(make_pipeline).")
        if not hasattr(transformer, "inverse_transform"):
            raise ValueError(f"{name} has no inverse_transform. {advice}")
        try:
            X_back = np.asarray(transformer.inverse_transform(Z[:N_PROBES]), dtype=np.float64)
        except Exception as exc:
            raise ValueError(f"{name}.inverse_transform failed ({type(exc).__name__}: {exc}). "
                             f"{advice}") from exc
        expected = (min(N_PROBES, Z.shape[0]), n_features)
        if X_back.shape != expected:
            raise ValueError(f"{name}.inverse_transform returned an array of shape "
                             f"{X_back.shape} for {expected[0]} transformed rows; expected "
                             f"{expected}. {advice}")

    @staticmethod
    def _affine_inverse(transformer, Z, n_features):
        """(c, J) with T⁻¹(z) = c + z J if the inverse is affine (to AFFINE_RTOL), else None twice.

        J is read off the inverse at lambda * unit vectors, lambda a power of
        two near the magnitude of the transformed rows (so that the
        difference with c loses no more precision than the data itself
        holds); the affinity is then tested at transformed training rows and
        at fixed-seed random linear combinations of them.
        """
        Z = Z.astype(np.float64)
        k = Z.shape[1]
        magnitude = float(np.max(np.abs(Z)))
        step = 2.0 ** np.ceil(np.log2(magnitude)) if magnitude > 0 else 1.0
        rng = np.random.RandomState(0)
        rows = Z[rng.choice(Z.shape[0], size=min(N_PROBES, Z.shape[0]), replace=False)]
        combinations = rng.standard_normal((N_PROBES, rows.shape[0])) / np.sqrt(rows.shape[0])
        probes = np.vstack([rows, combinations @ rows])
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                inverse = transformer.inverse_transform(np.vstack([np.zeros((1, k)),
                                                                   step * np.eye(k), probes]))
                inverse = np.asarray(inverse, dtype=np.float64)
                offset = inverse[0]
                jacobian = (inverse[1:k + 1] - offset) / step
                expected = offset + probes @ jacobian
                bound = np.abs(offset) + np.abs(probes) @ np.abs(jacobian)
                affine = (np.all(np.isfinite(inverse)) and inverse.shape[1] == n_features
                          and np.all(np.abs(inverse[k + 1:] - expected)
                                     <= AFFINE_RTOL * bound + np.finfo(np.float64).tiny))
        except (ArithmeticError, LookupError, TypeError, ValueError):
            # e.g. an inverse that refuses points outside the data's range
            affine = False
        return (offset, jacobian) if affine else (None, None)

    # ------------------------------------------------------ fitted delegates
    @property
    def times_(self):
        """The bridge's snapshot times, in label units ([0, 1] in generative mode)."""
        check_is_fitted(self, "bridge_")
        return self.bridge_.times_

    @property
    def generative_(self):
        """Whether the bridge was fitted in generative mode (source N(0, I) in T-space)."""
        check_is_fitted(self, "bridge_")
        return self.bridge_.generative_

    def _bridge_attribute(self, name):
        check_is_fitted(self, "bridge_")
        if not hasattr(self.bridge_, name):
            raise AttributeError(f"{type(self.bridge_).__name__} has no {name}.")
        return getattr(self.bridge_, name)

    @property
    def link_epsilons_(self):
        """The bridge's per-link reference variances, in squared transformed units."""
        return self._bridge_attribute("link_epsilons_")

    @property
    def epsilon_per_unit_time_(self):
        """The bridge's reference variance per unit of label time, in squared transformed units."""
        return self._bridge_attribute("epsilon_per_unit_time_")

    # ----------------------------------------------------------- conversion
    def _to_transformed(self, X):
        """Fitted check, validation in the original space, then z = T(x)."""
        check_is_fitted(self, "bridge_")
        X, _ = validate_rows(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._checked_transform(self.transformer_, X)

    def _to_original(self, Z):
        """x = T⁻¹(z) as float64, for rows of shape (n, k) or paths of shape (n, n_times, k)."""
        Z = np.asarray(Z)
        flat = Z.reshape(-1, Z.shape[-1])
        X = np.asarray(self.transformer_.inverse_transform(flat), dtype=np.float64)
        return X.reshape(Z.shape[:-1] + (self.n_features_in_,))

    # ------------------------------------------------------- prediction API
    def transform(self, X):
        """Deterministic transport mapped back: T⁻¹(E[Z_end | Z_start = T(x)]).

        With an affine inverse this is E[X_end | X_start = x] of the mapped
        process; otherwise it is the image of the transformed-space mean.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at the first snapshot time, in the original space.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
        """
        Z = self._to_transformed(X)
        return self._to_original(self.bridge_.transform(Z))

    def sample(self, X=None, *, n_samples=None, random_state=None):
        """Draw one endpoint per row, x_end = T⁻¹(z_end) with z_end ~ pi(. | T(x)).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Points at the first snapshot time, in the original space. None is
            allowed only in generative mode, where ``n_samples`` source points
            are drawn from N(0, I) in the transformed space.
        n_samples : int, default=None
            Number of draws when X is None.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "bridge_")
        Z = None if X is None else self._to_transformed(X)
        return self._to_original(self.bridge_.sample(Z, n_samples=n_samples,
                                                     random_state=random_state))

    def sample_trajectory(self, X, times=None, *, start_time=None, n_steps=100,
                          method="bridge", random_state=None):
        """Sample one path per starting point: the bridge's paths in T-space, mapped by T⁻¹.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Starting points at the first snapshot time t_0, or at
            ``start_time``, in the original space.
        times : array-like of shape (n_times,), default=None
            Non-decreasing times in label units at which to record the paths;
            see the bridge's ``sample_trajectory``.
        start_time : float, default=None
            The fitted snapshot time the paths start from; None is t_0.
        n_steps : int, default=100
            Number of equispaced times when ``times`` is None, and of
            Euler–Maruyama steps for ``method="sde"``.
        method : {"bridge", "sde"}, default="bridge"
            How the bridge simulates its paths (in the transformed space).
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        paths : ndarray of shape (n_samples, n_times, n_features)
            In the original space.
        """
        Z = self._to_transformed(X)
        paths = self.bridge_.sample_trajectory(Z, times, start_time=start_time, n_steps=n_steps,
                                               method=method, random_state=random_state)
        return self._to_original(paths)

    def sample_at(self, X, t, *, start_time=None, random_state=None):
        """The predicted snapshot at one time t: ``sample_trajectory(X, [t])[:, 0]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Starting points at t_0, or at ``start_time``, in the original space.
        t : float
            A time in label units within [start, t_m].
        start_time : float, default=None
            The fitted snapshot time the paths start from; None is t_0.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "bridge_")
        t = check_scalar_time(t)
        return self.sample_trajectory(X, [t], start_time=start_time,
                                      random_state=random_state)[:, 0]

    def drift(self, X, t):
        """Drift of the mapped bridge at time t: g(T(x), t) @ J, for an affine inverse.

        With x = T⁻¹(z) = c + z J and the bridge dZ = g(Z, t) dt +
        sqrt(eps) dW in the transformed space, dX = g(T(X), t) J dt +
        sqrt(eps) J^T dW: the drift maps by J exactly. For a ``StandardScaler``
        J = diag(``scale_``); for ``PCA`` (``whiten=False``) J = ``components_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points in the original space.
        t : float
            A time in [t_0, t_m).

        Returns
        -------
        drift : ndarray of shape (n_samples, n_features)
            Per unit of label time, in original units.

        Raises
        ------
        ValueError
            If the transformer's inverse is not affine: the original-space
            drift would then need the Jacobian (and, by Itô's formula, the
            Hessian) of T⁻¹ at every point.
        """
        Z = self._to_transformed(X)
        if self.inverse_jacobian_ is None:
            raise ValueError(
                f"drift is only available when {self._describe_transformer()}.inverse_transform "
                "is affine (x = c + z J, checked at fit), which it is not: the drift in the "
                "original space would need the Jacobian of the inverse at every point (and "
                "its Hessian, by Itô's formula). sample_trajectory and sample map the paths "
                "exactly; use them, or a Pipeline to work in the transformed space."
            )
        return np.asarray(self.bridge_.drift(Z, t), dtype=np.float64) @ self.inverse_jacobian_

    def growth_rate(self, X, *, start_time=None):
        """The bridge's growth at T(x): mass at the next snapshot per unit mass at x.

        A ratio of masses, so the same in either space (1 for a balanced
        bridge); see :meth:`skschrodinger.SinkhornBridge.growth_rate`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Cells at ``start_time``, in the original space.
        start_time : float, default=None
            A fitted snapshot time other than the last; None is the first.

        Returns
        -------
        growth : ndarray of shape (n_samples,)
        """
        return self.bridge_.growth_rate(self._to_transformed(X), start_time=start_time)

    def conditional_moments(self, X, *, start_time=None):
        """The bridge's conditional moments mapped back: c + m J and J^T C J (affine inverse).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at ``start_time``, in the original space.
        start_time : float, default=None
            A fitted snapshot time other than the last; None is the first.

        Returns
        -------
        mean : ndarray of shape (n_samples, n_features)
        covariance : ndarray of shape (n_samples, n_features, n_features)

        Raises
        ------
        ValueError
            If the transformer's inverse is not affine: the moments of T⁻¹(Z)
            are then not those of Z mapped.
        """
        Z = self._to_transformed(X)
        if self.inverse_jacobian_ is None:
            raise ValueError(
                f"conditional_moments needs an affine {self._describe_transformer()}."
                "inverse_transform (x = c + z J, checked at fit): the moments of a non-affine "
                "image are not the mapped moments. Draw samples instead (sample).")
        mean, covariance = self.bridge_.conditional_moments(Z, start_time=start_time)
        J = self.inverse_jacobian_
        return self.inverse_offset_ + mean @ J, np.einsum("ki,nkl,lj->nij", J, covariance, J)

    def _cells(self, X_source, X_target):
        """The cells in the bridge's space (None stays None: the bridge's own fitted cells)."""
        return {"X_source": None if X_source is None else self._to_transformed(X_source),
                "X_target": None if X_target is None else self._to_transformed(X_target)}

    def push(self, weights, *, X_source=None, X_target=None, **options):
        """The bridge's :meth:`~skschrodinger.SinkhornBridge.push`, with cells given in the
        original space (mapped by T); the result is over the target cells.

        Parameters
        ----------
        weights : array-like of shape (n_source_cells,)
        X_source, X_target : array-like, default=None
        **options
            ``source_time``, ``target_time``, ``normalize``, ``n_draws``,
            ``random_state``, as for the bridge.

        Returns
        -------
        pushed : ndarray of shape (n_target_cells,)
        """
        check_is_fitted(self, "bridge_")
        return self.bridge_.push(weights, **self._cells(X_source, X_target), **options)

    def pull(self, weights, *, X_source=None, X_target=None, **options):
        """The bridge's :meth:`~skschrodinger.SinkhornBridge.pull`, cells in the original space.

        Parameters
        ----------
        weights : array-like of shape (n_target_cells,)
        X_source, X_target : array-like, default=None
        **options
            As for :meth:`push`.

        Returns
        -------
        pulled : ndarray of shape (n_source_cells,)
        """
        check_is_fitted(self, "bridge_")
        return self.bridge_.pull(weights, **self._cells(X_source, X_target), **options)

    def transition_matrix(self, source_labels, target_labels, *, X_source=None, X_target=None,
                          **options):
        """The bridge's :meth:`~skschrodinger.SinkhornBridge.transition_matrix`, cells in the
        original space.

        Parameters
        ----------
        source_labels, target_labels : array-like
        X_source, X_target : array-like, default=None
        **options
            ``source_time``, ``target_time``, ``n_draws``, ``random_state``.

        Returns
        -------
        matrix : ndarray of shape (n_source_classes, n_target_classes)
        """
        check_is_fitted(self, "bridge_")
        return self.bridge_.transition_matrix(source_labels, target_labels,
                                              **self._cells(X_source, X_target), **options)

    @available_if(_bridge_has("objective"))
    def objective(self, X, y=None):
        """The bridge's ``objective`` on the transformed rows T(X) (lower is better).

        Available only when the bridge has an ``objective`` (e.g.
        :meth:`skschrodinger.LightSBTransport.objective`, the held-out
        LightSB loss).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        Z = self._to_transformed(X)
        return self.bridge_.objective(Z, y)

    def score(self, X, y=None, sample_weight=None):
        """Minus the energy distance between predictions and held-out rows, in original units.

        ``make_bridge_scorer(random_state=SCORE_SEED)(self, X, y)``, as for
        every bridge (see :meth:`skschrodinger.LightSBTransport.score`): paths
        start at the rows of X at their first snapshot time, go through T, the
        bridge and T⁻¹, and are compared at each later snapshot time of X with
        the rows there; in generative mode ``len(X)`` samples are compared
        with X. Higher is better. A bridge that is not fitted between
        snapshots (:class:`~skschrodinger.IteratedBridgeFlow`) keeps its own
        ``score``, on the transformed rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Snapshot times; None only in generative mode.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, as in the bridges' ``score``.

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "bridge_")
        if not hasattr(self.bridge_, "link_epsilons_"):  # not a snapshot bridge (a particle flow)
            return self.bridge_.score(self._to_transformed(X), y, sample_weight=sample_weight)
        return make_bridge_scorer(random_state=SCORE_SEED)(self, X, y, sample_weight)
