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
