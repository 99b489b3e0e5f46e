"""TransformedBridge: a bridge fitted in a transformer's coordinates, predicting in the original.

Oracles: the entropic OT problem is invariant to rotations and translations
(so PCA with all components gives the untransformed model), an isotropic
scaling by s is the bridge with epsilon s^2, and the Gaussian SB has closed-form
marginals (GaussianBridge.marginal). Sampling tolerances are a few standard
errors computed from the sample sizes.
"""

import threading
import warnings

import numpy as np
import pytest
from sklearn.decomposition import PCA, KernelPCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skschrodinger import LightSBTransport, SinkhornBridge, SnapshotKFold
from skschrodinger._fitting import SCORE_SEED
from skschrodinger.compose import TransformedBridge
from skschrodinger.datasets import make_gaussian_bridge
from skschrodinger.gaussian import GaussianBridge
from skschrodinger.metrics import make_bridge_scorer

N_SIGMA = 4.0
"""Sampling tolerance, in standard errors, of every distributional comparison."""


def shifted_gaussian_pair(n_samples, n_features, epsilon, shift, random_state):
    """make_gaussian_bridge translated by ``shift`` (both snapshots), with its exact bridge."""
    X, y, exact = make_gaussian_bridge(n_samples, n_features, epsilon=epsilon,
                                       random_state=random_state)
    exact = GaussianBridge(exact.mean0 + shift, exact.cov0, exact.mean1 + shift, exact.cov1,
                           epsilon)
    return X + shift, y, exact


def full_lightsb(epsilon, **params):
    """LightSB with one full-covariance component: it contains the Gaussian bridge exactly."""
    return LightSBTransport(epsilon=epsilon, n_components=1, covariance_type="full",
                            random_state=0, **params)


def assert_gaussian_moments(samples, mean, cov, n_train):
    """Sample mean and covariance within N_SIGMA standard errors of (mean, cov).

    The error variance adds the test draws' sampling variance and the fitted
    model's estimation variance from two training snapshots of ``n_train``
    rows each (Gaussian fourth moments for the covariance).
    """
    factor = 1.0 / samples.shape[0] + 2.0 / n_train
    variances = np.diag(cov)
    mean_se = np.sqrt(variances * factor)
    cov_se = np.sqrt((np.outer(variances, variances) + cov**2) * factor)
    np.testing.assert_array_less(np.abs(samples.mean(axis=0) - mean), N_SIGMA * mean_se)
    np.testing.assert_array_less(np.abs(np.cov(samples.T) - cov), N_SIGMA * cov_se)


# --------------------------------------------------------------- identity
def test_identity_transformer_gives_the_bridge_itself():
    X, y, _ = make_gaussian_bridge(200, 2, random_state=0)
    plain = SinkhornBridge(epsilon=0.5).fit(X, y)
    model = TransformedBridge(SinkhornBridge(epsilon=0.5)).fit(X, y)
    X0 = X[y == 0][:20]
    np.testing.assert_array_equal(model.transform(X0), plain.transform(X0))
    np.testing.assert_array_equal(model.sample(X0, random_state=3),
                                  plain.sample(X0, random_state=3))
    np.testing.assert_array_equal(model.sample_trajectory(X0, [0.2, 0.9], random_state=3),
                                  plain.sample_trajectory(X0, [0.2, 0.9], random_state=3))
    np.testing.assert_array_equal(model.drift(X0, 0.4), plain.drift(X0, 0.4))
    assert model.score(X, y) == plain.score(X, y)
    np.testing.assert_array_equal(model.inverse_jacobian_, np.eye(2))
    np.testing.assert_array_equal(model.times_, plain.times_)
    np.testing.assert_array_equal(model.link_epsilons_, plain.link_epsilons_)
    assert model.epsilon_per_unit_time_ == plain.epsilon_per_unit_time_
    assert model.generative_ is False


# ---------------------------------------------- 1. a rotation is the same model
def test_full_pca_rotation_gives_the_same_sinkhorn_bridge():
    """Entropic OT is rotation- and translation-invariant: the maps agree to rounding."""
    X, y, _ = shifted_gaussian_pair(400, 3, 0.5, np.array([4.0, -3.0, 2.0]), random_state=1)
    plain = SinkhornBridge(epsilon=0.5).fit(X, y)
    model = TransformedBridge(SinkhornBridge(epsilon=0.5), PCA(whiten=False)).fit(X, y)
    # PCA of shifted data rotates and translates: the transformed rows differ from X.
    assert np.abs(model.transformer_.transform(X) - X).max() > 1.0
    points = np.random.RandomState(2).standard_normal((50, 3)) + X.mean(axis=0)
    np.testing.assert_allclose(model.transform(points), plain.transform(points),
                               rtol=0, atol=1e-8)
    # J = components_ is orthogonal and the drift is the plain bridge's drift.
    np.testing.assert_allclose(model.inverse_jacobian_ @ model.inverse_jacobian_.T, np.eye(3),
                               atol=1e-12)
    np.testing.assert_allclose(model.drift(points, 0.3), plain.drift(points, 0.3),
                               rtol=0, atol=1e-8)


def test_full_pca_rotation_gives_the_same_lightsb_to_optimisation_tolerance():
    X, y, exact = shifted_gaussian_pair(1000, 3, 0.5, np.array([4.0, -3.0, 2.0]),
                                        random_state=1)
    plain = full_lightsb(0.5, tol=1e-10).fit(X, y)
    model = TransformedBridge(full_lightsb(0.5, tol=1e-10), PCA()).fit(X, y)
    assert plain.converged_ and model.bridge_.converged_
    points = exact.sample_source(200, random_state=2)
    # Optimisation tolerance (measured ~2e-5) is far below the estimation error (~0.1)
    # that a different model would show.
    np.testing.assert_allclose(model.transform(points), plain.transform(points),
                               rtol=0, atol=1e-4)
    assert np.abs(plain.transform(points) - exact.conditional_mean(points)).max() > 1e-2


@pytest.mark.parametrize("bridge", [SinkhornBridge(epsilon=0.5), full_lightsb(0.5)],
                         ids=["sinkhorn", "lightsb"])
def test_full_pca_trajectory_marginals_match_the_closed_form(bridge):
    n_train, n_test = 1000, 4000
    X, y, exact = shifted_gaussian_pair(n_train, 2, 0.5, np.array([5.0, -4.0]), random_state=3)
    model = TransformedBridge(bridge, PCA()).fit(X, y)
    start = exact.sample_source(n_test, random_state=4)
    times = [0.3, 0.7, 1.0]
    paths = model.sample_trajectory(start, times, random_state=5)
    assert paths.shape == (n_test, 3, 2) and paths.dtype == np.float64
    for j, t in enumerate(times):
        mean, cov = exact.marginal(t)
        assert_gaussian_moments(paths[:, j], mean, cov, n_train)


def test_isotropic_scaling_is_the_bridge_with_epsilon_times_s_squared():
    scale = 4.0
    X, y, _ = make_gaussian_bridge(300, 2, random_state=6)
    X = X * scale
    plain = SinkhornBridge(epsilon=0.5 * scale**2).fit(X, y)
    scaler = FunctionTransformer(lambda x: x / scale, inverse_func=lambda z: z * scale)
    model = TransformedBridge(SinkhornBridge(epsilon=0.5), scaler).fit(X, y)
    points = X[y == 0][:40]
    np.testing.assert_allclose(model.transform(points), plain.transform(points),
                               rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(model.drift(points, 0.5), plain.drift(points, 0.5),
                               rtol=0, atol=1e-8 * scale)
    # The score compares in original units: the energy distance scales with s.
    np.testing.assert_allclose(model.score(X, y), scale * model.bridge_.score(X / scale, y),
                               rtol=1e-10)


# ------------------------------------------- 2. StandardScaler, original units
SCALES = np.array([1e3, 1e-2])
OFFSETS = np.array([5e3, -2e-2])


def test_standard_scaler_predicts_in_original_units():
    n_train, n_test = 1000, 4000
    Xg, y, exact = make_gaussian_bridge(n_train, 2, epsilon=0.5, random_state=7)
    X = OFFSETS + Xg * SCALES
    model = TransformedBridge(full_lightsb(0.5), StandardScaler()).fit(X, y)
    start = OFFSETS + exact.sample_source(n_test, random_state=8) * SCALES
    samples = model.sample(start, random_state=9)
    assert samples.shape == (n_test, 2) and samples.dtype == np.float64
    target_mean = OFFSETS + exact.mean1 * SCALES
    target_cov = exact.cov1 * np.outer(SCALES, SCALES)
    assert_gaussian_moments(samples, target_mean, target_cov, n_train)
    # The mean map: the exact Gaussian bridge with this epsilon lives in the scaled
    # coordinates z = (x - mean_) / scale_, where both snapshots are Gaussian too.
    scaler = model.transformer_
    factor = SCALES / scaler.scale_
    offset = (OFFSETS - scaler.mean_) / scaler.scale_
    exact_z = GaussianBridge(offset + exact.mean0 * factor, exact.cov0 * np.outer(factor, factor),
                             offset + exact.mean1 * factor, exact.cov1 * np.outer(factor, factor),
                             0.5)
    points = start[:200]
    mapped = model.transform(points)
    assert mapped.shape == (200, 2)
    z = scaler.transform(points)
    expected = scaler.mean_ + exact_z.conditional_mean(z) * scaler.scale_
    # Error of the fitted mean map, from the two snapshots' sampling error carried along
    # the (Mahalanobis) distance from the source mean; in scaled units.
    centred = z - exact_z.mean0
    distance = np.einsum("ij,jk,ik->i", centred, np.linalg.inv(exact_z.cov0), centred)
    se = np.sqrt(np.outer(1.0 + distance, np.diag(exact_z.cov1)) * 2.0 / n_train)
    np.testing.assert_array_less(np.abs(mapped - expected) / scaler.scale_, N_SIGMA * se)


def test_standard_scaler_drift_is_the_scaled_drift_times_scale():
    Xg, y, _ = make_gaussian_bridge(300, 2, epsilon=0.5, random_state=7)
    X = OFFSETS + Xg * SCALES
    model = TransformedBridge(full_lightsb(0.5, max_iter=50), StandardScaler()).fit(X, y)
    scaler = model.transformer_
    np.testing.assert_allclose(model.inverse_jacobian_, np.diag(scaler.scale_), rtol=1e-14,
                               atol=0)
    points = X[y == 0][:50]
    for t in [0.0, 0.5, 0.9]:
        expected = model.bridge_.drift(scaler.transform(points), t) * scaler.scale_
        np.testing.assert_allclose(model.drift(points, t), expected, rtol=1e-13, atol=0)


def test_generative_mode_with_a_scaler():
    rng = np.random.RandomState(10)
    X = OFFSETS + (rng.standard_normal((400, 2)) @ [[1.0, 0.5], [0.0, 1.0]]) * SCALES
    model = TransformedBridge(full_lightsb(1.0), StandardScaler()).fit(X)
    assert model.generative_ and list(model.times_) == [0.0, 1.0]
    samples = model.sample(n_samples=4000, random_state=11)
    assert_gaussian_moments(samples, X.mean(axis=0), np.cov(X.T), X.shape[0] / 2)
    assert np.isfinite(model.score(X))


@pytest.mark.parametrize("bridge", [SinkhornBridge(epsilon=0.5),
                                    LightSBTransport(n_components=2, max_iter=50,
                                                     random_state=0)],
                         ids=["sinkhorn", "lightsb"])
def test_only_the_ratios_of_the_weights_reach_the_transformer(bridge):
    """Weights times 1, 1e14 or 1e200 are the same model, without a warning; the scaler's
    mean and scale are the weighted moments of the pooled rows, computed by hand."""
    X, y, _ = make_gaussian_bridge(60, 2, epsilon=1.0, random_state=0)
    X = X * [3.0, 0.5]
    weights = np.random.RandomState(0).randint(0, 5, size=X.shape[0]).astype(float)
    weights[[0, -1]] = 1.0  # no snapshot loses all its rows
    mean = weights @ X / weights.sum()
    scale = np.sqrt(weights @ (X - mean) ** 2 / weights.sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models = [TransformedBridge(bridge, StandardScaler()).fit(X, y, sample_weight=weights * c)
                  for c in (1.0, 1e14, 1e200)]
    for model in models:
        np.testing.assert_allclose(model.transformer_.mean_, mean, rtol=1e-12)
        np.testing.assert_allclose(model.transformer_.scale_, scale, rtol=1e-12)
        np.testing.assert_allclose(model.transform(X[:10]), models[0].transform(X[:10]),
                                   rtol=1e-12, atol=1e-12)
    unit = TransformedBridge(bridge, StandardScaler()).fit(X, y, sample_weight=np.ones(120))
    unweighted = TransformedBridge(bridge, StandardScaler()).fit(X, y)
    np.testing.assert_allclose(unit.transformer_.scale_, unweighted.transformer_.scale_,
                               rtol=1e-12)
    np.testing.assert_allclose(unit.transform(X[:10]), unweighted.transform(X[:10]),
                               rtol=1e-12, atol=1e-12)


# ----------------------------------------------- 3. PCA with fewer components
def test_reduced_pca_predictions_lie_in_the_subspace_and_drift_maps_with_components():
    X, y, _ = make_gaussian_bridge(300, 4, epsilon=0.5, random_state=12)
    model = TransformedBridge(full_lightsb(0.5, max_iter=100), PCA(n_components=2)).fit(X, y)
    pca = model.transformer_

    def off_subspace(points):
        centred = points - pca.mean_
        return np.abs(centred - centred @ pca.components_.T @ pca.components_).max()

    start = X[y == 0][:60]
    assert off_subspace(start) > 0.1  # the data is 4-D: the check below can fail
    for predicted in (model.transform(start), model.sample(start, random_state=0),
                      model.sample_trajectory(start, [0.5, 1.0], random_state=0)[:, 1]):
        assert predicted.shape == (60, 4)
        assert off_subspace(predicted) < 1e-12 * np.abs(predicted).max()
    np.testing.assert_allclose(model.inverse_jacobian_, pca.components_, rtol=0, atol=1e-14)
    expected = model.bridge_.drift(pca.transform(start), 0.4) @ pca.components_
    np.testing.assert_allclose(model.drift(start, 0.4), expected, rtol=1e-12, atol=1e-14)


def test_pipeline_works_in_the_transformed_space():
    X, y, _ = make_gaussian_bridge(300, 4, epsilon=0.5, random_state=12)
    pipe = Pipeline([("pca", PCA(2)), ("bridge", LightSBTransport(n_components=2, max_iter=50,
                                                                   random_state=0))])
    pipe.fit(X, y)
    assert pipe.transform(X[:5]).shape == (5, 2)
    assert np.isfinite(pipe.score(X, y))


# ------------------------------------------------------------- 4. errors
@pytest.mark.parametrize("transformer, message", [
    (KernelPCA(n_components=2), r"KernelPCA\.inverse_transform failed.*Pipeline"),
    (Normalizer(), r"Normalizer has no inverse_transform.*Pipeline"),
])
def test_transformer_without_inverse_is_refused(transformer, message):
    X, y, _ = make_gaussian_bridge(50, 2, random_state=0)
    with pytest.raises(ValueError, match=message):
        TransformedBridge(SinkhornBridge(), transformer).fit(X, y)


def test_non_affine_inverse_refuses_drift_but_samples():
    X, y, _ = make_gaussian_bridge(200, 2, random_state=13)
    transformer = FunctionTransformer(np.arcsinh, inverse_func=np.sinh)
    model = TransformedBridge(SinkhornBridge(epsilon=0.5), transformer).fit(X, y)
    assert model.inverse_jacobian_ is None and model.inverse_offset_ is None
    with pytest.raises(ValueError, match="FunctionTransformer.*affine.*Jacobian"):
        model.drift(X[:5], 0.5)
    start = X[y == 0][:30]
    np.testing.assert_allclose(model.transform(start),
                               np.sinh(model.bridge_.transform(np.arcsinh(start))), rtol=1e-12)
    samples = model.sample(start, random_state=0)
    # Sinkhorn draws target rows: mapped back, they are target rows of X again.
    targets = X[y == 1]
    assert np.all(np.min(np.abs(samples[:, None, :] - targets[None]).sum(-1), axis=1) < 1e-9)
    paths = model.sample_trajectory(start, [0.5], random_state=0)
    assert paths.shape == (30, 1, 2) and np.all(np.isfinite(paths))


def test_not_fitted():
    model = TransformedBridge(SinkhornBridge(), StandardScaler())
    X = np.zeros((3, 2))
    calls = [lambda: model.transform(X), lambda: model.sample(X), lambda: model.sample(n_samples=3),
             lambda: model.sample_trajectory(X), lambda: model.sample_at(X, 0.5),
             lambda: model.drift(X, 0.5), lambda: model.score(X, [0, 0, 1]),
             lambda: model.times_, lambda: model.generative_, lambda: model.link_epsilons_]
    for call in calls:
        with pytest.raises(NotFittedError):
            call()
    assert not hasattr(model, "times_")


def test_objective_only_when_the_bridge_has_one():
    X, y, _ = make_gaussian_bridge(200, 2, random_state=14)
    assert not hasattr(TransformedBridge(SinkhornBridge()), "objective")
    model = TransformedBridge(full_lightsb(0.5, max_iter=50), StandardScaler())
    assert hasattr(model, "objective")
    model.fit(X, y)
    assert model.objective(X, y) == model.bridge_.objective(model.transformer_.transform(X), y)
    assert not hasattr(TransformedBridge(SinkhornBridge()).fit(X, y), "objective")


def test_annotated_data_is_refused():
    class FakeAnnData:
        def __init__(self):
            self.obs = {}
            self.obsm = {"X_pca": np.zeros((4, 2))}

    X, y, _ = make_gaussian_bridge(50, 2, random_state=0)
    with pytest.raises(ValueError, match="AnnData"):
        TransformedBridge(SinkhornBridge()).fit(FakeAnnData(), y)
    model = TransformedBridge(SinkhornBridge()).fit(X, y)
    with pytest.raises(ValueError, match="AnnData"):
        model.transform(FakeAnnData())


# ------------------------------------------------------- API and validation
def test_feature_names_set_output_and_dtypes():
    pd = pytest.importorskip("pandas")
    X, y, _ = make_gaussian_bridge(100, 2, random_state=15)
    frame = pd.DataFrame(X, columns=["gene_a", "gene_b"])
    model = TransformedBridge(SinkhornBridge(), StandardScaler()).set_output(transform="pandas")
    model.fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["gene_a", "gene_b"])
    out = model.transform(frame.iloc[:5])
    assert list(out.columns) == ["gene_a", "gene_b"]
    assert model.sample_at(frame.iloc[:5], 0.5, random_state=0).shape == (5, 2)
    as_float32 = model.set_output(transform="default").transform(
        frame.iloc[:5].astype(np.float32))
    assert as_float32.dtype == np.float64
    with pytest.raises(ValueError, match="gene_b"):
        model.transform(frame.iloc[:5, :1])


def test_sample_at_and_start_time_on_a_chain():
    rng = np.random.RandomState(16)
    X = np.vstack([rng.standard_normal((80, 2)) * [10.0, 0.1] + [i * 10.0, 0.0] for i in range(3)])
    y = np.repeat([2.0, 3.0, 5.0], 80)
    model = TransformedBridge(SinkhornBridge(epsilon=0.5), StandardScaler()).fit(X, y)
    np.testing.assert_array_equal(model.times_, [2.0, 3.0, 5.0])
    np.testing.assert_allclose(model.link_epsilons_, [0.5 / 3, 1.0 / 3])
    start = X[y == 3.0][:10]
    paths = model.sample_trajectory(start, [3.0, 4.0, 5.0], start_time=3.0, random_state=0)
    assert paths.shape == (10, 3, 2)
    np.testing.assert_allclose(paths[:, 0], start, rtol=1e-12)
    np.testing.assert_array_equal(
        model.sample_at(start, 4.0, start_time=3.0, random_state=1),
        model.sample_trajectory(start, [4.0], start_time=3.0, random_state=1)[:, 0])


def test_score_is_the_default_scorer_on_the_meta_estimator():
    Xg, y, _ = make_gaussian_bridge(200, 2, random_state=17)
    X = OFFSETS + Xg * SCALES
    model = TransformedBridge(SinkhornBridge(epsilon=0.5), StandardScaler()).fit(X, y)
    assert model.score(X, y) == make_bridge_scorer(random_state=SCORE_SEED)(model, X, y)
    # In original units the distance is dominated by feature 0 (~1e3), unlike in scaled units
    # (the V-statistic, which is positive: the default U-statistic is about 0 +- noise here).
    v_statistic = make_bridge_scorer("energy_distance")
    assert -v_statistic(model, X, y) > 1e2 * -v_statistic(
        model.bridge_, model.transformer_.transform(X), y)


# ----------------------------------------------------------- 5. model selection
def test_grid_search_over_nested_parameters():
    X, y, _ = make_gaussian_bridge(150, 3, epsilon=0.5, random_state=18)
    search = GridSearchCV(
        TransformedBridge(SinkhornBridge(), PCA()),
        {"bridge__epsilon": [0.5, 2.0], "transformer__n_components": [2, 3]},
        cv=SnapshotKFold(3, random_state=0),
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert best.bridge_.epsilon == search.best_params_["bridge__epsilon"]
    assert best.transformer_.n_components_ == search.best_params_["transformer__n_components"]
    assert search.score(X, y) == best.score(X, y)


# ------------------------------------------------------------ 6. all-or-nothing
def test_failed_refit_leaves_the_previous_fit():
    X, y, _ = make_gaussian_bridge(100, 2, random_state=19)
    model = TransformedBridge(SinkhornBridge(), StandardScaler()).fit(X, y)
    before = model.transform(X[:10])
    state = dict(vars(model))
    # The transformer fits on the 3-feature data, then the bridge fails (a single snapshot).
    X3 = np.random.RandomState(0).standard_normal((60, 3))
    with pytest.raises(ValueError, match="two distinct snapshot times"):
        model.fit(X3, np.zeros(60))
    model.set_params(transformer=KernelPCA())
    with pytest.raises(ValueError, match="KernelPCA"):
        model.fit(X3, np.repeat([0, 1], 30))
    assert {k: v for k, v in vars(model).items() if k != "transformer"} == {
        k: v for k, v in state.items() if k != "transformer"}
    assert model.n_features_in_ == 2 and model.transformer_ is state["transformer_"]
    np.testing.assert_array_equal(model.transform(X[:10]), before)



class _FirstFitHeld:
    """Holds the first transformer fit that reaches it until ``release`` is set."""

    def __init__(self):
        self.inside, self.release = threading.Event(), threading.Event()

    def __call__(self):
        if not self.inside.is_set():
            self.inside.set()
            assert self.release.wait(timeout=120)


HELD = _FirstFitHeld()


class _HeldScaler(StandardScaler):
    def fit(self, X, y=None, sample_weight=None):
        HELD()
        return super().fit(X, y, sample_weight=sample_weight)


def _fitted_names(model):
    return {name for name in vars(model) if name.endswith("_") and not name.startswith("_")}


def _frame(X):
    import pandas as pd

    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


@pytest.mark.parametrize("second", ["three_features", "feature_names"])
def test_concurrent_fits_of_one_instance_leave_the_last_fit_whole(second):
    """A fit on a 2-D array validates first and finishes last; in between, another fit of
    the same instance runs to the end on other data: 3 features, or the same rows with
    feature names (which the last fit, on an array, must not keep)."""
    global HELD
    HELD = _FirstFitHeld()
    X, y, _ = make_gaussian_bridge(60, 2, random_state=3)
    X3, y3, _ = make_gaussian_bridge(60, 3, random_state=4)
    other = (X3, y3) if second == "three_features" else (_frame(X), y)
    model, failures = TransformedBridge(SinkhornBridge(), _HeldScaler()), []

    def last_fit():
        try:
            model.fit(X, y)
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    thread = threading.Thread(target=last_fit)
    thread.start()
    assert HELD.inside.wait(timeout=120)
    model.fit(*other)
    HELD.release.set()
    thread.join(timeout=120)
    alone = TransformedBridge(SinkhornBridge(), StandardScaler()).fit(X, y)
    assert not failures
    assert model.n_features_in_ == 2
    assert _fitted_names(model) == _fitted_names(alone)
    assert model.bridge_.n_features_in_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "fitted with feature names" warning
        np.testing.assert_array_equal(model.transform(X), alone.transform(X))


def test_a_refit_keeps_no_attribute_of_an_earlier_configuration():
    X, y, _ = make_gaussian_bridge(60, 2, random_state=5)
    fresh = TransformedBridge(SinkhornBridge(), StandardScaler()).fit(X, y)
    named = TransformedBridge(SinkhornBridge(), StandardScaler()).fit(_frame(X), y).fit(X, y)
    generative = TransformedBridge(SinkhornBridge(), StandardScaler()).fit(X[y == 1]).fit(X, y)
    assert _fitted_names(named) == _fitted_names(generative) == _fitted_names(fresh)
    assert "feature_names_in_" not in _fitted_names(fresh)
    np.testing.assert_array_equal(named.transform(X), fresh.transform(X))

# ------------------------------------------------- 7. scikit-learn's common checks
def expected_failures(estimator):
    """PCA.fit takes no sample_weight: the transformer is then fitted on the rows unweighted,
    so integer weights and repeated rows give different coordinates (the bridge itself,
    and a StandardScaler, which takes the weights, pass the check)."""
    if isinstance(estimator.transformer, PCA):
        return {"check_sample_weight_equivalence_on_dense_data": (
            "PCA.fit takes no sample_weight, so the transformer is fitted unweighted.")}
    return {}


@parametrize_with_checks([
    TransformedBridge(LightSBTransport(n_components=1, max_iter=20, random_state=0)),
    TransformedBridge(SinkhornBridge(), StandardScaler()),
    TransformedBridge(LightSBTransport(n_components=1, max_iter=20, random_state=0), PCA()),
], expected_failed_checks=expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_a_particle_flow_keeps_its_own_score_in_transformed_units():
    from skschrodinger import IteratedBridgeFlow

    X = np.random.RandomState(0).standard_normal((60, 2)) * [10.0, 0.1]
    model = TransformedBridge(IteratedBridgeFlow(epsilon=0.1), StandardScaler()).fit(X)
    assert model.score(X) == model.bridge_.score(model.transformer_.transform(X))
