import numpy as np
import pytest

from skschrodinger.datasets import (
    TOY_SHAPES,
    load_msci,
    make_gaussian_bridge,
    make_toy_pair,
    sample_toy,
)
from skschrodinger.gaussian import GaussianBridge, GaussianMixtureLaw


def test_one_dimensional_correlation_is_the_golden_ratio_conjugate():
    bridge = GaussianBridge([0.0], [[1.0]], [0.0], [[1.0]], epsilon=1.0)
    assert bridge.coupling_covariance[0, 0] == pytest.approx(0.618034, abs=1e-6)


def test_marginals_interpolate_the_end_laws():
    X, y, bridge = make_gaussian_bridge(10, 3, epsilon=0.7, random_state=0)
    for t, (mean, cov) in [(0.0, (bridge.mean0, bridge.cov0)), (1.0, (bridge.mean1, bridge.cov1))]:
        m, c = bridge.marginal(t)
        np.testing.assert_allclose(m, mean)
        np.testing.assert_allclose(c, cov)
    assert X.shape == (20, 3) and set(y) == {0.0, 1.0}


def test_conditional_law_reproduces_the_coupling_by_monte_carlo():
    """Sampling (X0, X1 | X0) must reproduce C and B; tolerance 5 standard errors."""
    _, _, bridge = make_gaussian_bridge(10, 2, epsilon=1.0, random_state=3)
    n = 100_000
    x0 = bridge.sample_source(n, random_state=0)
    x1 = bridge.sample_conditional(x0, random_state=1)
    joint = np.cov(np.hstack([x0, x1]).T)
    scale = np.sqrt(np.diag(joint))
    # sd of a covariance entry is at most sqrt(2) s_i s_j / sqrt(n): allow 5 of them
    tol = 5 * np.sqrt(2) * np.outer(scale, scale) / np.sqrt(n)
    assert np.all(np.abs(joint[:2, 2:] - bridge.coupling_covariance) < tol[:2, 2:])
    assert np.all(np.abs(joint[2:, 2:] - bridge.cov1) < tol[2:, 2:])


def test_load_msci(msci_dir):
    X, y = load_msci(msci_dir, dim=50, days=(2, 4))
    assert X.dtype == np.float64 and X.shape[1] == 50
    assert set(np.unique(y)) == {2.0, 4.0}


def test_load_msci_names_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="full_cite_pcas_50_day_2"):
        load_msci(tmp_path, days=(2,))


@pytest.mark.parametrize("shape", sorted(TOY_SHAPES))
def test_toy_shapes_are_seeded_two_dimensional_and_bounded(shape):
    Z = sample_toy(shape, 2000, random_state=0)
    assert Z.shape == (2000, 2) and np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z, sample_toy(shape, 2000, random_state=0))
    assert np.all(np.abs(Z) < 5.0)
    assert np.all(Z.std(axis=0) > 0.5)


def test_toy_pair_convention_and_errors():
    X, y = make_toy_pair("swiss_roll", "s_curve", n_samples=30, n_samples_target=20,
                         random_state=0)
    assert X.shape == (50, 2) and np.array_equal(y, np.repeat([0.0, 1.0], [30, 20]))
    with pytest.raises(ValueError, match="'target' parameter of make_toy_pair"):
        make_toy_pair("gaussian", "donut")
    with pytest.raises(ValueError, match="noise"):
        sample_toy("moons", 10, noise=-1.0)


# ------------------------------------------------------------- gradient flows
from skschrodinger.datasets import (  # noqa: E402
    GradientFlow,
    iterated_bridge_gaussian,
    make_gradient_flow,
)


def test_heat_flow_marginal_is_the_convolution_with_n_0_t():
    _, flow = make_gradient_flow(10, n_features=2, random_state=0)
    law = flow.marginal(1.5)
    np.testing.assert_allclose(law.covariances, flow.initial.covariances + 1.5 * np.eye(2))
    np.testing.assert_allclose(law.means, [[-2.0, 0.0], [2.0, 0.0]])
    # Monte Carlo: rho_0 + sqrt(t) noise has the marginal's covariance (5 standard errors).
    rng = np.random.RandomState(1)
    draws = flow.initial.sample(200_000, rng) + np.sqrt(1.5) * rng.standard_normal((200_000, 2))
    np.testing.assert_allclose(np.cov(draws.T), law.covariance(), atol=5 * 5.5 * np.sqrt(2 / 2e5))


def test_ou_flow_matches_its_closed_form_and_the_sde():
    _, flow = make_gradient_flow(10, functional="fokker_planck", initial="wide")
    for t, value in zip(range(1, 6), [2.103638, 1.406006, 1.149361, 1.054947, 1.020214]):
        assert float(flow.marginal(t).covariance()[0, 0]) == pytest.approx(value, abs=1e-6)
    # A correlated target in 2-D: Euler-Maruyama of dX = -S^{-1}(X - m)/2 dt + dW.
    target = (np.array([1.0, -1.0]), np.array([[1.0, 0.4], [0.4, 0.5]]))
    start = GaussianMixtureLaw([1.0], [[0.0, 0.0]], [np.diag([3.0, 0.2])])
    flow = GradientFlow(start, functional="fokker_planck", target=target)
    rng = np.random.RandomState(2)
    X = start.sample(100_000, rng)
    precision = np.linalg.inv(target[1])
    for _ in range(200):
        X = X - 0.5 * (X - target[0]) @ precision * 0.005 + np.sqrt(0.005) * rng.randn(*X.shape)
    law = flow.marginal(1.0)
    np.testing.assert_allclose(X.mean(axis=0), law.mean(), atol=0.02)  # 5 se + O(dt) bias
    np.testing.assert_allclose(np.cov(X.T), law.covariance(), atol=0.03)


def test_transport_map_pushes_rho_0_to_rho_t():
    X, flow = make_gradient_flow(4000, random_state=3)
    moved = flow.transport_map(X, 2.0)
    assert np.all(np.diff(moved[np.argsort(X[:, 0]), 0]) >= 0)  # monotone
    # The pushed sample is as close to rho_2 as a fresh sample of that size would be.
    fresh = flow.marginal(2.0).sample(4000, np.random.RandomState(4))
    assert flow.wasserstein2(moved, 2.0) < 2 * flow.wasserstein2(fresh, 2.0)
    with pytest.raises(ValueError, match="1-D"):
        make_gradient_flow(5, n_features=2)[1].transport_map(np.zeros((2, 2)), 1.0)


def test_gradient_flow_errors():
    law = GaussianMixtureLaw([1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="functional"):
        GradientFlow(law, functional="porous")
    with pytest.raises(ValueError, match="functional='fokker_planck' only"):
        GradientFlow(law, target=(0.0, 1.0))
    with pytest.raises(ValueError, match="initial"):
        make_gradient_flow(5, initial="uniform")


def test_iterated_bridge_gaussian_is_second_order_for_heat_and_first_order_for_ou():
    # Heat from N(0, 1): Sigma_{k+1} = (2 - C/Sigma)^2 Sigma with C = sqrt(4 Sigma^2 + eps^2)/2
    # - eps/2; after one step of 0.5: (2 - 0.780776)^2 = 1.486506.
    _, covs = iterated_bridge_gaussian([0.0], [[1.0]], 0.5, 1)
    assert covs[1, 0, 0] == pytest.approx(1.486506, abs=1e-6)
    heat_errors = [abs(iterated_bridge_gaussian([0.0], [[1.0]], 1.0 / k, k)[1][-1, 0, 0] - 2.0)
                   for k in (4, 8)]
    assert 3.5 < heat_errors[0] / heat_errors[1] < 4.5  # O(eps^2) over a fixed time
    ou_errors = [abs(iterated_bridge_gaussian([0.0], [[4.0]], 1.0 / k, k,
                                              target="standard_normal")[1][-1, 0, 0] - 2.103638)
                 for k in (20, 40)]
    assert 1.8 < ou_errors[0] / ou_errors[1] < 2.2  # O(eps)
    means, _ = iterated_bridge_gaussian([2.0, 0.0], np.eye(2), 0.1, 3,
                                        target=([0.0, 1.0], 2 * np.eye(2)))
    # m -> m - (eps / 2) S^{-1} (m - m_nu): the mean relaxes by (1 - 0.025) per step.
    np.testing.assert_allclose(means[-1], [0.0, 1.0] + 0.975**3 * np.array([2.0, -1.0]))


# ------------------------------------------------------ extreme but finite arguments
from decimal import Decimal, localcontext  # noqa: E402

from skschrodinger.datasets import make_eot_benchmark, make_lineage  # noqa: E402


def exact_coupling_1d(variance, epsilon):
    """C = (sqrt(4 A B + eps^2) - eps) / 2 for A = B = variance, in 1 000-digit arithmetic."""
    with localcontext() as context:
        context.prec = 1000
        A, eps = Decimal(variance), Decimal(epsilon)
        return float(((4 * A * A + eps * eps).sqrt() - eps) / 2)


@pytest.mark.parametrize("variance, epsilon", [
    (1.0, 1e-300), (1.0, 1.0), (1.0, 1e8), (1.0, 1e200), (1.0, 1.7e308), (1e300, 1.0),
    (1e300, 1e300)])
def test_gaussian_bridge_coupling_is_exact_for_any_epsilon(variance, epsilon):
    """Evaluated as written, the closed form's two square roots cancel all digits of
    C ~ A B / eps for a large eps (25 % off at eps = 1e8, 0 beyond 1e9), and eps**2 overflows
    beyond 1e154."""
    bridge = GaussianBridge([0.0], [[variance]], [0.0], [[variance]], epsilon)
    assert bridge.coupling_covariance[0, 0] == pytest.approx(
        exact_coupling_1d(variance, epsilon), rel=1e-14)


def test_gaussian_bridge_generator_takes_a_huge_epsilon():
    X, y, bridge = make_gaussian_bridge(50, 2, epsilon=1e200, times=[0, 0.5, 1], random_state=0)
    assert np.all(np.isfinite(X)) and X.shape == (150, 2)
    # C = A B / eps - (A B)^2 / eps^3 + ...: the first term is exact to double precision.
    np.testing.assert_allclose(bridge.coupling_covariance * 1e200, bridge.cov0 @ bridge.cov1,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bridge.conditional_covariance, bridge.cov1, rtol=1e-12)


@pytest.mark.parametrize("times", [["a", "b"], [[0.0, 1.0]], [-1e308, 0.0, 1e308], [1.0, 1.0]])
def test_gaussian_bridge_times_must_be_increasing_numbers(times):
    with pytest.raises(ValueError, match="times"):
        make_gaussian_bridge(10, 2, times=times)


def test_lineage_growth_is_checked_and_only_its_ratio_matters():
    with pytest.raises(ValueError, match="growth"):
        make_lineage(20, growth=("a", 1.0))
    # By hand: shares 0.5 g_A split, 0.5 g_A (1 - split), 0.5 g_B over their sum.
    for growth in [(1.0, 1.0), (5e-324, 5e-324), (1.79e308, 1.79e308)]:
        lineage = make_lineage(20, growth=growth, random_state=0)[3]
        np.testing.assert_allclose(lineage.target_proportions, [0.35, 0.15, 0.5], rtol=1e-15)
    lineage = make_lineage(20, growth=(1e-300, 1e300), random_state=0)[3]
    np.testing.assert_allclose(lineage.target_proportions, [0.0, 0.0, 1.0], atol=1e-300)


def test_a_spread_or_noise_whose_points_overflow_is_refused():
    with pytest.raises(ValueError, match="spread"):
        make_lineage(20, spread=1e308, random_state=0)
    for shape in sorted(set(TOY_SHAPES) - {"gaussian"}):  # the Gaussian ignores noise
        with pytest.raises(ValueError, match="noise"):
            sample_toy(shape, 50, noise=1e308, random_state=0)
    assert np.all(np.isfinite(sample_toy("moons", 50, noise=1e300, random_state=0)))


@pytest.mark.parametrize("mean, cov, target, match", [
    (["a"], [[1.0]], None, "mean"),
    ([0.0], [["a"]], None, "cov"),
    ([0.0, 1.0], [[1.0]], None, "cov"),
    ([0.0], [[-1.0]], None, "cov"),
    ([0.0], [[1.0]], (["a"], 1.0), "target"),
])
def test_iterated_bridge_gaussian_names_a_bad_argument(mean, cov, target, match):
    with pytest.raises(ValueError, match=match):
        iterated_bridge_gaussian(mean, cov, 0.5, 2, target=target)


def test_iterated_bridge_gaussian_with_a_huge_step():
    # One heat step from N(0, 1): (2 - C)^2 with C = 1e-200 (exact_coupling_1d): 4.
    _, covs = iterated_bridge_gaussian([0.0], [[1.0]], 1e200, 1)
    assert covs[1, 0, 0] == pytest.approx(4.0, rel=1e-15)


def test_gradient_flow_target_must_be_numbers():
    with pytest.raises(ValueError, match="target"):
        make_gradient_flow(5, functional="fokker_planck", target=(["a"], 1.0))


def test_eot_benchmark_at_a_tiny_epsilon():
    """pi*(. | x) tends to the point x: its covariance is eps (I + eps Sigma_n^{-1})^{-1} plus
    the spread of the component means, O(eps^2), so eps I to relative O(eps). Means formed as
    mu_n + gain (x - mu_n) would carry a rounding error (1e-16 |x|) that swamps their spread of
    order eps, and make the covariance asymmetric garbage."""
    epsilon = 1e-50
    _, _, benchmark = make_eot_benchmark(2, epsilon, n_samples=5, random_state=0)
    covariances = benchmark.conditional_covariance(benchmark.test_points(100))
    np.testing.assert_allclose(covariances / epsilon, np.broadcast_to(np.eye(2), (100, 2, 2)),
                               rtol=1e-12, atol=1e-12)
    assert np.isfinite(benchmark.noise_floor(n_points=10, n_samples=20))
    with pytest.raises(ValueError, match="epsilon"):
        make_eot_benchmark(2, 1e-310)
