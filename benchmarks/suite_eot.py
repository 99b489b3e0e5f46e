"""LightSB on the entropic OT benchmark grid (Gushchin et al. 2023 construction).

For every dimension d in {2, 16, 64, 128} and epsilon in {0.1, 1, 10}:
draw a benchmark pair with :func:`skschrodinger.datasets.make_eot_benchmark`
(seed 0), fit :class:`~skschrodinger.LightSBTransport` with K = 5 full
covariances (the family of the truth: the benchmark's potential has 5
full-covariance components) on ``n_train`` source and ``n_train`` target
samples, and score its conditional law by cBW2^2-UVP in two ways:

* **sampled** -- as the benchmark's code computes it (Gushchin et al. 2023, and
  the LightSB paper's Table 2): 1000 test points from P0, 1000 draws of the
  model at each, their mean and covariance against the exact moments of the
  true conditional, over tr Cov(P1) / 2. The exact conditional sampler scores
  the metric's noise floor, which grows with d (the covariance of 1000 draws
  in 128 dimensions is far from exact);
* **exact moments** -- the model's own conditional moments
  (``conditional_moments``, closed form) instead of draws: no floor, the
  exact plan scores 0.

The target (issue 19): the sampled score at or below the paper's, or, the
problem instance being a different draw of the construction, within twice the
floor. Where the fixed sample limits the fit (small epsilon), the rows
"streaming" fit by ``partial_fit`` on fresh samples at every call, the
paper's own protocol (10 000 Adam steps of 128 fresh samples).
"""

import time

from _report import Table
import numpy as np

from skschrodinger import LightSBTransport
from skschrodinger.datasets import make_eot_benchmark

DIMENSIONS = (2, 16, 64, 128)
EPSILONS = (0.1, 1.0, 10.0)
N_TRAIN = 20_000
STREAMING = {(2, 0.1), (16, 0.1), (64, 0.1), (128, 0.1)}
"""Cells also fitted on fresh samples: at small epsilon the fixed sample limits the fit."""
STREAM_CALLS = 150
STREAM_RATES = (3e-4, 1e-4)
"""Adam's learning rate for the first two thirds of the calls, then for the rest."""
PAPER = "0.03-0.62 % over the grid (LightSB paper, Table 2; its own draw of the benchmark)"


def model_for(epsilon, **options):
    return LightSBTransport(epsilon=epsilon, n_components=5, covariance_type="full",
                            random_state=0, **options)


def streamed(bench, epsilon, n_train, calls):
    """partial_fit on ``calls`` batches of ``n_train`` fresh samples per side."""
    model = model_for(epsilon)
    rng = np.random.RandomState(1)
    y = np.repeat([0.0, 1.0], n_train)
    for call in range(calls):
        rate = STREAM_RATES[0] if call < 2 * calls // 3 else STREAM_RATES[1]
        X = np.vstack([bench.sample_source(n_train, rng), bench.sample_target(n_train, rng)])
        model.set_params(learning_rate=rate).partial_fit(X, y)
    return model


def run(args):
    dims = (2, 16) if args.quick else DIMENSIONS
    n_train = 5_000 if args.quick else N_TRAIN
    n_points = 200 if args.quick else 1000
    calls = 9 if args.quick else STREAM_CALLS
    table = Table(
        f"EOT benchmark: LightSB K=5 full, cBW2^2-UVP (%) sampled as the benchmark does and from "
        f"exact moments, vs the exact sampler's noise floor ({n_points} test points x 1000 "
        "draws)",
        ["d", "eps", "fit", "samples seen", "sampled %", "floor %", "sampled / floor",
         "exact moments %", "within 2 x floor", "fit s", "iters"])
    model_for(1.0, max_iter=3, tol=None).fit(*make_eot_benchmark(2, 1.0, n_samples=50)[:2])
    for d in dims:
        for epsilon in EPSILONS:
            X, y, bench = make_eot_benchmark(d, epsilon, n_samples=n_train, random_state=0)
            floor = bench.noise_floor(n_points=n_points)
            fits = [("L-BFGS, fixed sample", 2 * n_train, lambda: model_for(epsilon).fit(X, y))]
            if (d, epsilon) in STREAMING:
                fits.append(("Adam, fresh samples", 2 * n_train * calls,
                             lambda: streamed(bench, epsilon, n_train, calls)))
            for name, seen, fit in fits:
                start = time.perf_counter()
                model = fit()
                seconds = time.perf_counter() - start
                sampled = bench.conditional_bw_uvp(model.sample, n_points=n_points)
                exact = bench.conditional_bw_uvp_from_moments(model.conditional_moments,
                                                              n_points=n_points)
                table.add(d, epsilon, name, seen, sampled, floor, sampled / floor, exact,
                          "yes" if sampled <= 2 * floor else "no", seconds,
                          int(model.n_iter_))
                print("  " + "  ".join(table.rows[-1]), flush=True)
    table.notes = [
        f"Fixed sample: {n_train} samples per side, L-BFGS from the annealed start (the "
        "default); 'iters' counts every stage. Fresh samples: partial_fit with "
        f"{n_train} new samples per side per call, learning rate {STREAM_RATES[0]:g} for "
        f"two thirds of the {calls} calls, then {STREAM_RATES[1]:g}; 'iters' is Adam's steps.",
        f"Paper: {PAPER}.",
    ]
    return [table]
