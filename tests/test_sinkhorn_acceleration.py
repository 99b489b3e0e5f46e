"""The Sinkhorn solver's paths: Anderson, over-relaxation, annealing, the dense kernel.

Each is checked against POT's ``sinkhorn_log`` (the oracle: ``reg = 2 eps``)
on the potentials themselves, to 1e-9, and on how it fails: a kernel out of
range, an extrapolation that diverges.
"""

import numpy as np
import ot
import pytest

from skschrodinger import SinkhornBridge
from skschrodinger._kernels import bilinear_exp_matrix, matrix_vector, vector_matrix
from skschrodinger._kernels._logsumexp import MATRIX_FLOOR, TILE_COLUMNS, TILE_ROWS
from skschrodinger._kernels._matvec import COLUMNS_PER_BLOCK, ROWS_PER_BLOCK
import skschrodinger._sinkhorn_iterations as iterations
from skschrodinger.entropic_ot import empirical_sinkhorn


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 3))
    Y = rng.normal(size=(110, 3)) * [0.5, 1.0, 1.5] + [2.0, 0.0, -1.0]
    a, b = rng.uniform(0.5, 1.5, size=150), rng.uniform(0.5, 1.5, size=110)
    return X, Y, a / a.sum(), b / b.sum()


_POT_CACHE = {}


def pot_potentials(X, Y, a, b, epsilon):
    """POT's potentials in our units and gauge (<a, f> = <b, g>), once per epsilon."""
    if epsilon not in _POT_CACHE:
        _POT_CACHE[epsilon] = _pot_potentials(X, Y, a, b, epsilon)
    return _POT_CACHE[epsilon]


def _pot_potentials(X, Y, a, b, epsilon):
    _, log = ot.sinkhorn(a, b, ot.dist(X, Y), reg=2 * epsilon, method="sinkhorn_log",
                         stopThr=1e-15, numItermax=200_000, log=True)
    f, g = epsilon * (log["log_u"] - np.log(a)), epsilon * (log["log_v"] - np.log(b))
    gauge = 0.5 * (a @ f - b @ g)
    return f - gauge, g + gauge


# --------------------------------------------------------------------- kernels
def test_exp_matrix_matches_numpy_with_its_floor_and_ceiling():
    rng = np.random.default_rng(0)
    n, m, d = TILE_ROWS + 3, TILE_COLUMNS + 9, 4
    U, V = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    c, r = rng.normal(size=m), rng.normal(size=n)
    r[0] = -600.0  # every entry of row 0 below the floor: stored as zero
    r[1] = 800.0  # beyond the exponential's range: the row is infinite
    matrix = bilinear_exp_matrix(U, V, np.ascontiguousarray(V.T), c, r, 0.9)
    logits = r[:, None] + c[None, :] + 0.9 * U @ V.T
    np.testing.assert_allclose(matrix[2:], np.exp(logits[2:]), rtol=1e-13)
    assert np.all(matrix[0] == 0.0) and np.all(np.isinf(matrix[1]))
    assert MATRIX_FLOOR == pytest.approx(np.exp(-500.0))


def test_matrix_vector_products_match_numpy():
    rng = np.random.default_rng(1)
    n, m = 2 * ROWS_PER_BLOCK + 7, 2 * COLUMNS_PER_BLOCK + 11  # partial last blocks
    matrix, v, u = rng.random((n, m)), rng.normal(size=m), rng.normal(size=n)
    np.testing.assert_allclose(matrix_vector(matrix, v), matrix @ v, rtol=1e-12)
    np.testing.assert_allclose(vector_matrix(u, matrix), u @ matrix, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------ every path vs POT
@pytest.mark.parametrize("epsilon", [0.05, 1.0])
@pytest.mark.parametrize("acceleration", ["anderson", "overrelaxation", 1.5, None])
@pytest.mark.parametrize("dense_kernel_memory", [0, None])
def test_every_path_matches_pot_potentials(problem, epsilon, acceleration,
                                           dense_kernel_memory):
    X, Y, a, b = problem
    result = empirical_sinkhorn(X, Y, epsilon, a=a, b=b, tol=1e-13, max_iter=100_000,
                      acceleration=acceleration, dense_kernel_memory=dense_kernel_memory)
    assert result.converged
    assert result.dense == (dense_kernel_memory is None)
    f, g = pot_potentials(X, Y, a, b, epsilon)
    np.testing.assert_allclose(result.f, f, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.g, g, rtol=0, atol=1e-9)


@pytest.mark.parametrize("scaling", [0.5, 0.9])
def test_annealing_reaches_the_same_solution(problem, scaling):
    X, Y, a, b = problem
    result = empirical_sinkhorn(X, Y, 0.05, a=a, b=b, tol=1e-13, max_iter=100_000,
                      epsilon_scaling=scaling)
    assert result.converged
    f, g = pot_potentials(X, Y, a, b, 0.05)
    np.testing.assert_allclose(result.f, f, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.g, g, rtol=0, atol=1e-9)


def test_anderson_needs_far_fewer_iterations_at_small_epsilon():
    # The case of the issue: n = 1000, d = 2, eps = 0.02; plain Sinkhorn needs ~2000.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    Y = rng.normal(size=(400, 2)) * [0.5, 1.5] + 1.0
    plain = empirical_sinkhorn(X, Y, 0.02, acceleration=None, max_iter=20_000)
    fast = empirical_sinkhorn(X, Y, 0.02, max_iter=20_000)
    assert plain.converged and fast.converged
    assert fast.n_iter * 5 < plain.n_iter


def test_the_dense_kernel_follows_the_memory_budget(problem):
    X, Y, a, b = problem
    needed = 8 * len(X) * len(Y) / 2 ** 20
    assert empirical_sinkhorn(X, Y, 0.1, dense_kernel_memory=needed).dense
    assert not empirical_sinkhorn(X, Y, 0.1, dense_kernel_memory=0.99 * needed).dense
    import sklearn

    with sklearn.config_context(working_memory=0.99 * needed):
        assert not empirical_sinkhorn(X, Y, 0.1).dense


# ------------------------------------------------------------------- failures
def test_a_dense_kernel_out_of_range_is_replaced_after_an_online_half_step(problem):
    X, Y, a, b = problem
    online = iterations.OnlineHalfSteps(X - a @ X, Y - b @ Y, np.log(a), np.log(b))
    f = np.zeros(len(X))
    # Reference potentials 800 eps above the solution: the kernel would overflow.
    dense = iterations.DenseHalfSteps(online, 0.1, f + 80.0, np.zeros(len(Y)) + 80.0)
    assert not dense.usable
    g = dense.g_update(f, 0.1)
    np.testing.assert_array_equal(g, online.g_update(f, 0.1))  # done online
    assert dense.usable  # rebuilt around (f, G(f)), which is in range
    np.testing.assert_allclose(dense.f_update(g, 0.1), online.f_update(g, 0.1),
                               rtol=1e-12, atol=1e-11)


def test_dense_half_steps_are_exact_far_from_their_reference(problem):
    X, Y, a, b = problem
    online = iterations.OnlineHalfSteps(X - a @ X, Y - b @ Y, np.log(a), np.log(b))
    g = online.g_update(np.zeros(len(X)), 0.1)
    f = online.f_update(g, 0.1)
    dense = iterations.DenseHalfSteps(online, 0.1, f, g)
    rng = np.random.default_rng(0)
    for size in (0.5, 5.0, 50.0):  # |shift| / eps up to 500: rebuilt around the new pair
        f_far = f + size * rng.normal(size=len(X))
        np.testing.assert_allclose(dense.g_update(f_far, 0.1), online.g_update(f_far, 0.1),
                                   rtol=1e-12, atol=1e-11)
    assert dense.rebuilds >= 1 and dense.usable


def test_potentials_always_out_of_range_cost_online_steps_not_a_rebuild_each(problem,
                                                                            monkeypatch):
    X, Y, a, b = problem
    monkeypatch.setattr(iterations, "ABSORB_LIMIT", 0.0)  # no product is ever in range
    builds = []
    build = iterations.OnlineHalfSteps.stabilised_kernel
    monkeypatch.setattr(iterations.OnlineHalfSteps, "stabilised_kernel",
                        lambda self, *args: builds.append(1) or build(self, *args))
    result = empirical_sinkhorn(X, Y, 0.05, a=a, b=b, tol=1e-13, max_iter=100_000)
    f, g = pot_potentials(X, Y, a, b, 0.05)
    assert result.converged and result.dense
    assert len(builds) < result.n_iter / 4  # the fallbacks before a rebuild double
    np.testing.assert_allclose(result.f, f, rtol=0, atol=1e-9)


def test_a_diverging_extrapolation_restarts_and_still_converges(problem, monkeypatch):
    X, Y, a, b = problem
    calls = {"bad": 0}

    def diverging(images, residuals):
        calls["bad"] += 1
        return images[-1] + 1e3  # far off: its error is infinite
    monkeypatch.setattr(iterations, "_anderson_extrapolation", diverging)
    result = empirical_sinkhorn(X, Y, 0.1, a=a, b=b, tol=1e-12, max_iter=100_000)
    assert result.converged and calls["bad"] > 0
    f, g = pot_potentials(X, Y, a, b, 0.1)
    np.testing.assert_allclose(result.f, f, rtol=0, atol=1e-9)


def test_acceleration_is_refused_with_the_pot_backend(problem):
    X, Y, _, _ = problem
    with pytest.raises(ValueError, match="acceleration"):
        empirical_sinkhorn(X, Y, 0.5, backend="pot", acceleration=None)
    with pytest.raises(ValueError, match="epsilon_scaling"):
        empirical_sinkhorn(X, Y, 0.5, backend="pot", epsilon_scaling=0.5)  # was silently ignored
    with pytest.raises(ValueError, match="acceleration"):
        empirical_sinkhorn(X, Y, 0.5, acceleration="fast")
    with pytest.raises(ValueError, match="dense_kernel_memory"):
        empirical_sinkhorn(X, Y, 0.5, dense_kernel_memory=-1)


# --------------------------------------------------------------- user-facing
def test_verbose_prints_progress_during_the_solve(problem, capsys):
    X, Y, _, _ = problem
    result = empirical_sinkhorn(X, Y, 0.01, tol=1e-12, max_iter=100_000, acceleration=None,
                                verbose=10)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == result.n_iter // 10 + 1  # every 10 iterations, and the end
    assert lines[0].startswith("[sinkhorn] iteration 10, epsilon=0.01: marginal error ")
    assert lines[0].endswith(" s") and lines[-1].endswith("(done)")


def test_sinkhorn_bridge_is_the_same_model_on_either_kernel():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(180, 2)) + 1.0])
    y = np.repeat([0.0, 1.0], [200, 180])
    dense = SinkhornBridge(epsilon=0.05, tol=1e-12, max_iter=10_000).fit(X, y)
    online = SinkhornBridge(epsilon=0.05, tol=1e-12, max_iter=10_000,
                            dense_kernel_memory=0, acceleration=None).fit(X, y)
    np.testing.assert_allclose(dense.links_[0].potential, online.links_[0].potential,
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(dense.transform(X[:50]), online.transform(X[:50]),
                               rtol=0, atol=1e-9)
