"""The "adding an estimator" page's example is a working estimator of the bridge API."""

from pathlib import Path
import re
import sys
import types

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from skschrodinger.datasets import make_gaussian_bridge

PAGE = Path(__file__).resolve().parents[1] / "doc" / "adding_an_estimator.rst"


def example_module(monkeypatch):
    """The page's code block run as a module (registered, so its estimator pickles)."""
    text = PAGE.read_text(encoding="utf-8")
    block = re.search(r"\.\. code-block:: python\n\n(.*?)\n(?=\S)", text, flags=re.S).group(1)
    module = types.ModuleType("adding_an_estimator_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile("\n".join(line[4:] for line in block.splitlines()), str(PAGE), "exec"),
         module.__dict__)
    return module


@pytest.mark.skipif(not PAGE.is_file(), reason="the documentation is not installed")
def test_the_example_estimator_passes_check_estimator_and_finds_the_exact_bridge(monkeypatch):
    estimator = example_module(monkeypatch).GaussianFitBridge
    check_estimator(estimator())
    n = 20_000
    X, y, truth = make_gaussian_bridge(n, 2, epsilon=1.0, random_state=0)
    source = X[y == 0]
    model = estimator(epsilon=1.0).fit(X, y)
    # The fitted slope and intercept come from sample moments of n points: errors O(1/sqrt(n)).
    error = model.transform(source[:200]) - truth.conditional_mean(source[:200])
    assert np.sqrt(np.mean(error**2)) < 10 / np.sqrt(n)
    paths = model.sample_trajectory(source[:5], n_steps=10, random_state=0)
    assert paths.shape == (5, 11, 2) and np.all(np.isfinite(paths))
