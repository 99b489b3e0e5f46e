"""Cell-level outputs: push, pull, transition matrices and SinkhornBridge's plan.

Oracles: the dense plan (``entropic_plan``) and its products, composed along a
chain with each link's rows divided by their weights; a synthetic lineage
with known transitions (make_lineage: A splits 70/30 into A1 and A2, B becomes
B1); the exact plan against the sampling estimate, within Monte Carlo error.
"""

import numpy as np
import pytest
from sklearn import config_context

from skschrodinger import LightSBTransport, SinkhornBridge
from skschrodinger.datasets import make_gaussian_bridge, make_lineage
from skschrodinger.entropic_ot import entropic_plan


def dense_plan(link):
    return entropic_plan(link.source, link.target, link.source_potential, link.potential,
                         link.epsilon, a=link.source_weights, b=link.target_weights)


@pytest.fixture(scope="module")
def chain():
    X, y, _ = make_gaussian_bridge(60, 2, epsilon=1.0, times=[0, 1, 3], random_state=0)
    weights = np.random.RandomState(0).rand(X.shape[0]) + 0.2
    return X, y, SinkhornBridge(epsilon=1.0, tau_a=2.0, tau_b=4.0, tol=1e-13,
                                max_iter=10_000).fit(X, y, sample_weight=weights)


def test_plan_is_the_dense_plan(chain):
    X, y, model = chain
    for time, link in zip(model.times_[:-1], model.links_):
        np.testing.assert_allclose(model.plan(source_time=time), dense_plan(link), atol=1e-15)
    np.testing.assert_allclose(model.plan(rows=[3, 5]), dense_plan(model.links_[0])[[3, 5]])
    blocks = list(model.plan_blocks(block_rows=7))
    assert [rows.start for rows, _ in blocks] == list(range(0, 60, 7))
    np.testing.assert_allclose(np.vstack([block for _, block in blocks]), model.plan())


def test_dense_plan_beyond_working_memory_asks_for_rows(chain):
    _, _, model = chain
    with config_context(working_memory=1e-3):
        with pytest.raises(ValueError, match="pass rows="):
            model.plan()
        assert model.plan(rows=slice(0, 2)).shape == (2, 60)
    with pytest.raises(ValueError, match="rows must be"):
        model.plan(rows=[100])
    with pytest.raises(ValueError, match="before the last"):
        model.plan(source_time=3)


def test_push_and_pull_compose_the_plans_of_a_chain(chain):
    """Through two links: the first plan's mass, per unit of the middle cells' weight,
    times the second plan (the growth of each link included)."""
    X, y, model = chain
    first, second = (dense_plan(link) for link in model.links_)
    middle = model.links_[1].source_weights
    r = np.random.RandomState(1).rand(60)
    v = np.random.RandomState(2).rand(60)
    expected_push = ((r @ first) / middle) @ second
    expected_pull = first @ ((second @ v) / middle)
    np.testing.assert_allclose(model.push(r, target_time=3, normalize=False), expected_push,
                               rtol=1e-10)
    np.testing.assert_allclose(model.pull(v, target_time=3, normalize=False), expected_pull,
                               rtol=1e-10)
    np.testing.assert_allclose(model.push(r), (r @ first) / (r @ first).sum(), rtol=1e-10)
    mask = np.zeros(60, dtype=bool)
    mask[:10] = True
    np.testing.assert_allclose(model.pull(mask, source_time=1, target_time=3),
                               second[:, :10].sum(axis=1) / second[:, :10].sum(), rtol=1e-10)


def test_unbalanced_push_carries_the_growth(chain):
    _, _, model = chain
    link = model.links_[0]
    pushed = model.push(np.ones(60), normalize=False)
    assert pushed.sum() == pytest.approx(link.source_weights @ model.growth_rates_[0],
                                         rel=1e-10)


def test_lineage_transitions_are_recovered():
    """With equal growths the balanced plan at small epsilon sends A to A1 and A2 as
    70 : 30 (the counts carry the proportions exactly; the clusters are 0.25 wide and 2
    apart, so the entropic blur is far below 1e-3), and B to B1."""
    X, y, labels, lineage = make_lineage(600, random_state=0)
    model = SinkhornBridge(epsilon=0.1).fit(X, y)
    matrix = model.transition_matrix(labels[y == 0], labels[y == 1])
    np.testing.assert_allclose(matrix, lineage.transitions, atol=2e-3)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    descendants = model.push(labels[y == 0] == "A")
    assert descendants[labels[y == 1] == "B1"].sum() < 1e-6
    ancestors = model.pull(labels[y == 1] == "A2")
    assert ancestors[labels[y == 0] == "A"].sum() == pytest.approx(1.0, abs=1e-5)


def test_sampling_estimate_agrees_with_the_plan_and_lightsb_with_the_truth():
    """Sampling 10 endpoints of each of the 300 A cells estimates a transition fraction p
    with standard error sqrt(p (1 - p) / 3000) < 0.01; 0.04 is four of them."""
    X, y, labels, lineage = make_lineage(600, random_state=1)
    source, target = labels[y == 0], labels[y == 1]
    cells = {"X_source": X[y == 0], "X_target": X[y == 1], "random_state": 0}
    exact = SinkhornBridge(epsilon=0.1).fit(X, y)
    sampled = exact.transition_matrix(source, target, **cells)
    np.testing.assert_allclose(sampled, exact.transition_matrix(source, target), atol=0.04)
    light = LightSBTransport(epsilon=0.1, n_components=4, random_state=0).fit(X, y)
    np.testing.assert_allclose(light.transition_matrix(source, target, **cells),
                               lineage.transitions, atol=0.04)
    pushed = light.push(source == "A", **cells)
    assert pushed.shape == (600,) and pushed.sum() == pytest.approx(1.0)
    assert pushed[target == "B1"].sum() < 0.01


def test_unbalanced_bridge_keeps_the_lineages_apart_when_growth_differs():
    """B triples while A does not: the balanced plan must send half of A's mass to B1;
    the unbalanced one keeps A's descendants in A1 and A2 and gives B the larger growth."""
    X, y, labels, _ = make_lineage(1000, growth=(1.0, 3.0), random_state=0)
    source, target = labels[y == 0], labels[y == 1]
    balanced = SinkhornBridge(epsilon=0.1).fit(X, y).transition_matrix(source, target)
    assert balanced[0, 2] > 0.4
    model = SinkhornBridge(epsilon=0.1, tau_a=1.0, tau_b=1.0).fit(X, y)
    matrix = model.transition_matrix(source, target)
    assert matrix[0, 2] < 0.01 and matrix[1, 2] > 0.99
    assert matrix[0, 0] == pytest.approx(0.7, abs=0.05)
    growth = model.growth_rates_[0]
    assert growth[source == "B"].mean() > 1.5 * growth[source == "A"].mean()


def test_cell_outputs_reject_bad_input():
    X, y, labels, _ = make_lineage(100, random_state=2)
    sinkhorn = SinkhornBridge().fit(X, y)
    light = LightSBTransport(n_components=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X_source is required"):
        light.push(np.ones(100))
    with pytest.raises(ValueError, match="X_target is required"):
        light.pull(np.ones(100), X_source=X[y == 0])
    with pytest.raises(ValueError, match=r"weights must have one entry per source cell \(100\)"):
        sinkhorn.push(np.ones(99))
    with pytest.raises(ValueError, match="weights must be a mask or non-negative"):
        sinkhorn.push(-np.ones(100))
    with pytest.raises(ValueError, match="selecting at least one"):
        sinkhorn.pull(np.zeros(100, dtype=bool))
    with pytest.raises(ValueError, match="target_time must be a fitted snapshot time after"):
        sinkhorn.push(np.ones(100), source_time=1)
    with pytest.raises(ValueError, match="source_time must be one of"):
        sinkhorn.push(np.ones(100), source_time=0.5)
    with pytest.raises(ValueError, match="source_labels must have one entry per cell"):
        sinkhorn.transition_matrix(labels[:10], labels[y == 1])
    with pytest.raises(ValueError, match="n_draws"):
        light.push(np.ones(100), X_source=X[y == 0], X_target=X[y == 1], n_draws=0)


def test_transformed_bridge_passes_cells_through_its_transformer():
    """A StandardScaler changes the cost's units, not which cells a plan couples: the
    coupling of the scaled bridge, with the fitted cells or with cells given in the original
    units, is the bridge's on the scaled cells."""
    from sklearn.preprocessing import StandardScaler

    from skschrodinger.compose import TransformedBridge

    X, y, labels, _ = make_lineage(200, random_state=3)
    model = TransformedBridge(SinkhornBridge(epsilon=0.05, tau_a=1.0), StandardScaler()).fit(X, y)
    inner, Z = model.bridge_, model.transformer_.transform(X)
    source, target = labels[y == 0], labels[y == 1]
    np.testing.assert_allclose(model.transition_matrix(source, target),
                               inner.transition_matrix(source, target))
    np.testing.assert_allclose(model.push(source == "A"), inner.push(source == "A"))
    np.testing.assert_allclose(
        model.pull(target == "B1", X_source=X[y == 0], X_target=X[y == 1], random_state=0),
        inner.pull(target == "B1", X_source=Z[y == 0], X_target=Z[y == 1], random_state=0))
    np.testing.assert_allclose(model.growth_rate(X[y == 0]), inner.growth_rates_[0])


# ------------------------------------------------- the sampling estimate carries the growth
def sampled_moments(model, first, last, endpoint_values):
    """Per source cell i, E[G u(Y)] and E[G^2 u(Y)^2] over the sampled paths of the fitted
    cells from link ``first`` to link ``last``: G the product of the links' growths along the
    path, u(Y) the value of its end (a fitted cell of the last snapshot). From the dense
    plans, by recursion from the end: these are the mean and second moment of one draw of
    the sampling estimate, whose n_draws draws per cell are independent."""
    mean, second = endpoint_values, endpoint_values**2
    for index in reversed(range(first, last)):
        plan = dense_plan(model.links_[index])
        conditional = plan / plan.sum(axis=1, keepdims=True)
        growth = model.growth_rates_[index]
        mean, second = growth * (conditional @ mean), growth**2 * (conditional @ second)
    return mean, second


def sampled_standard_error(moments, source_values, n_draws):
    """Standard error of (1 / n) sum_i r_i mean_k(draw ik), the estimate of sum_i r_i mean_i / n."""
    mean, second = moments
    n = mean.shape[0]
    return np.sqrt(np.sum(source_values**2 * (second - mean**2)) / n_draws) / n


def three_snapshot_lineage(n=200, random_state=0):
    """make_lineage's two snapshots, then a third at time 2 where each time-1 class has moved
    up by 2 and grown again, A1 and A2 by 1 and B1 by 3: the share of A's descendants falls
    from 1/4 at time 1 to 1/10 at time 2."""
    X, y, labels, lineage = make_lineage(n, growth=(1.0, 3.0), random_state=random_state)
    rng = np.random.RandomState(random_state)
    shares = lineage.target_proportions * np.array([1.0, 1.0, 3.0])
    counts = np.round(n * shares / shares.sum()).astype(int)
    centres = np.array([X[labels == name].mean(axis=0) for name in ("A1", "A2", "B1")])
    classes = np.repeat(np.arange(3), counts)
    X2 = centres[classes] + [0.0, 2.0] + 0.25 * rng.standard_normal((classes.size, 2))
    return (np.vstack([X, X2]), np.r_[y, np.full(classes.size, 2.0)],
            np.r_[labels, np.array(["A1", "A2", "B1"])[classes]])


@pytest.mark.parametrize("n_snapshots", [2, 3])
def test_sampled_push_pull_and_transitions_carry_the_growth(n_snapshots):
    """On the fitted cells of an unbalanced SinkhornBridge the sampling estimate (cells given)
    is unbiased for the exact coupling, growth included: B triples at each step while A does
    not, so A's descendants carry 1/4 of the mass after one link (1/10 after two), not the
    1/2 of A's cells. Tolerances: four standard errors of the estimate, from the plans'
    moments (sampled_moments), plus the plans' L1 marginal errors (by which their row sums
    differ from the growths that weight the paths)."""
    if n_snapshots == 2:
        X, y, labels, _ = make_lineage(300, growth=(1.0, 3.0), random_state=0)
    else:
        X, y, labels = three_snapshot_lineage()
    times = np.unique(y)
    model = SinkhornBridge(epsilon=0.1, tau_a=1.0, tol=1e-10).fit(X, y)
    slack = model.marginal_errors_.sum()
    first, last = y == times[0], y == times[-1]
    source, target = labels[first], labels[last]
    cells = {"target_time": times[-1], "X_source": X[first], "X_target": X[last],
             "random_state": 0}
    draws = 10
    is_a = (source == "A").astype(float)
    lineage_b = np.char.startswith(target.astype(str), "B")

    def check(estimate, exact, moments, source_values):
        error = sampled_standard_error(moments, source_values, draws)
        assert abs(estimate - exact) <= 4 * error + slack, (estimate, exact, error)

    # push: the mass A's cells send to each lineage, and the share of all the mass in B.
    for mask in (lineage_b, ~lineage_b):
        moments = sampled_moments(model, 0, n_snapshots - 1, mask.astype(float))
        exact = model.push(is_a, target_time=times[-1], normalize=False)[mask].sum()
        check(model.push(is_a, normalize=False, **cells)[mask].sum(), exact, moments, is_a)
    expected_share = 0.25 if n_snapshots == 2 else 0.1
    assert model.push(is_a, target_time=times[-1], normalize=False).sum() == pytest.approx(
        expected_share, abs=0.01)
    # pull: the mass of B's lineage that comes from A's cells and from B's.
    moments = sampled_moments(model, 0, n_snapshots - 1, lineage_b.astype(float))
    sampled_pull = model.pull(lineage_b, normalize=False, **cells)
    exact_pull = model.pull(lineage_b, target_time=times[-1], normalize=False)
    for cells_of in (source == "A", source == "B"):
        check(sampled_pull[cells_of].sum(), exact_pull[cells_of].sum(), moments,
              cells_of.astype(float))
    # transition_matrix of the whole population (one source class) to the two lineages:
    # T = M_B / M, whose error is that of M_B - T M, the estimate of sum_i E[G (1_B - T)].
    whole = np.zeros(source.size)
    exact_matrix = model.transition_matrix(whole, lineage_b, target_time=times[-1])
    sampled_matrix = model.transition_matrix(whole, lineage_b, **cells)
    share = exact_matrix[0, 1]
    total = sampled_moments(model, 0, n_snapshots - 1, np.ones(target.size))[0].mean()
    moments = sampled_moments(model, 0, n_snapshots - 1, lineage_b - share)
    error = sampled_standard_error(moments, np.ones(source.size), draws) / total
    assert abs(sampled_matrix[0, 1] - share) <= 4 * error + slack
    assert share == pytest.approx(1 - expected_share, abs=0.01)


def test_sampled_outputs_of_unbalanced_lightsb_carry_its_growth():
    """LightSB has no plan on the cells: its sampled push, pull and transition matrix must
    match the exact plan of SinkhornBridge (the same problem) on the same cells. A path of a
    cell ends in its own lineage, so the estimate has no sampling error here; 0.02 covers
    the model's fit (its growths are within 0.5 % of the plan's on three seeds)."""
    X, y, labels, _ = make_lineage(300, growth=(1.0, 3.0), random_state=0)
    source, target = labels[y == 0], labels[y == 1]
    cells = {"X_source": X[y == 0], "X_target": X[y == 1], "random_state": 0}
    exact = SinkhornBridge(epsilon=0.1, tau_a=1.0).fit(X, y)
    light = LightSBTransport(epsilon=0.1, n_components=3, tau_a=1.0, random_state=0).fit(X, y)
    is_a, is_b1 = source == "A", target == "B1"
    assert light.push(is_a, normalize=False, **cells).sum() == pytest.approx(
        exact.push(is_a, normalize=False).sum(), abs=0.02)
    assert light.push(np.ones(300), **cells)[is_b1].sum() == pytest.approx(
        exact.push(np.ones(300))[is_b1].sum(), abs=0.02)
    np.testing.assert_allclose(light.pull(is_b1, normalize=False, **cells)[~is_a].sum(),
                               exact.pull(is_b1, normalize=False)[~is_a].sum(), atol=0.02)
    whole = np.zeros(300)
    np.testing.assert_allclose(light.transition_matrix(whole, is_b1, **cells),
                               exact.transition_matrix(whole, is_b1), atol=0.02)


@pytest.mark.parametrize("bad", ["none", "nan_in_strings", "nan", "mixed"])
def test_transition_matrix_names_the_labels_with_missing_or_mixed_annotations(bad):
    X, y, labels, _ = make_lineage(40, random_state=2)
    model = SinkhornBridge().fit(X, y)
    source, target = list(labels[y == 0]), labels[y == 1]
    source[-1] = {"none": None, "nan_in_strings": np.nan, "nan": np.nan, "mixed": 1}[bad]
    if bad == "nan":
        source = np.r_[np.zeros(39), np.nan]
    message = "mixes annotations of types" if bad == "mixed" else "has missing values"
    with pytest.raises(ValueError, match=f"source_labels {message}"):
        model.transition_matrix(source, target)
    with pytest.raises(ValueError, match=f"target_labels {message}"):
        model.transition_matrix(labels[y == 0], source)
    # Annotations of one type, in a list or an array, still work.
    matrix = model.transition_matrix(list(labels[y == 0]), target)
    np.testing.assert_array_equal(matrix, model.transition_matrix(labels[y == 0], target))


@pytest.mark.parametrize("rows", [np.array([[0, 1]]), [0.5], [True, False], "a"],
                         ids=["2-D", "float", "short-mask", "string"])
def test_plan_rejects_rows_that_are_not_1d_indices(chain, rows):
    _, _, model = chain
    with pytest.raises(ValueError, match="rows must be a slice"):
        model.plan(rows=rows)


def test_plan_errors_name_source_time(chain):
    _, _, model = chain
    for call in (lambda: model.plan(source_time=5),
                 lambda: next(model.plan_blocks(source_time=5))):
        with pytest.raises(ValueError, match="source_time must be one of the fitted"):
            call()


def test_sampling_estimate_with_named_features_warns_nothing():
    """A bridge fitted on a DataFrame takes the cells as DataFrames: the paths it draws
    internally are not re-validated as unnamed arrays (no feature-name warning)."""
    import warnings

    pd = pytest.importorskip("pandas")
    X, y, _, _ = make_lineage(60, growth=(1.0, 3.0), random_state=4)
    frame = pd.DataFrame(X, columns=["gene_a", "gene_b"])
    model = SinkhornBridge(epsilon=0.1, tau_a=1.0).fit(frame, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pushed = model.push(np.ones(60), normalize=False, X_source=frame[y == 0],
                            X_target=frame[y == 1], random_state=0)
    assert pushed.sum() == pytest.approx(model.growth_rates_[0].mean(), rel=1e-9)
