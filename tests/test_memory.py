"""Predictions on a million points allocate no points x components x features temporaries.

Measured in a child process as the rise of its peak resident memory (VmHWM,
reset through /proc/self/clear_refs before each call) above its memory before
the call, minus the output: kernels allocate through numba's own allocator,
which tracemalloc does not see. K = 10 components, d = 50 features, 10^6
points: one (points, K, d) array alone is 3.7 GiB, and the bound, 256 MiB, is
what a prediction may add whatever the number of points (rows are processed
in chunks of a fixed memory budget, and the diagonal model's mean and drift
are fused kernels).
"""

import subprocess
import sys
import textwrap

import pytest

BUDGET_MIB = 256
CHILD = textwrap.dedent("""
    import gc, sys
    import numpy as np
    from skschrodinger import LightSBTransport

    kind, methods = sys.argv[1], sys.argv[2].split(",")
    rng = np.random.default_rng(0)
    d, K, n = 50, 10, 1_000_000
    X = np.vstack([rng.normal(size=(300, d)), rng.normal(size=(300, d)) + 1])
    y = np.repeat([0, 1], 300)
    model = LightSBTransport(n_components=K, covariance_type=kind, max_iter=5, tol=None,
                             random_state=0).fit(X, y)
    calls = {"transform": lambda Z: model.transform(Z),
             "sample": lambda Z: model.sample(Z, random_state=0),
             "drift": lambda Z: model.drift(Z, 0.5)}

    def memory(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    points = rng.normal(size=(n, d))
    for method in methods:
        expected = calls[method](points[:1000])  # compiles; the first rows' answer
        gc.collect()
        with open("/proc/self/clear_refs", "w") as reset:
            reset.write("5")
        before = memory("VmRSS:")
        result = calls[method](points)
        extra = memory("VmHWM:") - before - result.nbytes
        if method != "sample":
            np.testing.assert_allclose(result[:1000], expected, rtol=1e-12, atol=1e-12)
        print(method, extra / 2**20)
        del result
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("covariance_type, methods", [
    ("diag", "transform,sample,drift"),
    ("full", "transform,sample"),
])
def test_prediction_on_a_million_points_stays_within_the_memory_budget(covariance_type,
                                                                       methods):
    done = subprocess.run([sys.executable, "-c", CHILD, covariance_type, methods],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    extra = {line.split()[0]: float(line.split()[1]) for line in done.stdout.splitlines()}
    assert set(extra) == set(methods.split(","))
    for method, mib in extra.items():
        assert mib < BUDGET_MIB, f"{covariance_type} {method}: {mib:.0f} MiB beyond input/output"
