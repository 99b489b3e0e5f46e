"""LightSB on the entropic OT benchmark grid (Gushchin et al. 2023 construction).

For every dimension d in {2, 16, 64, 128} and epsilon in {0.1, 1, 10}:
draw a benchmark pair with :func:`skschrodinger.datasets.make_eot_benchmark`
(seed 0), fit :class:`~skschrodinger.LightSBTransport` on ``n_train`` source
and ``n_train`` target samples, and score its conditional law by cBW2^2-UVP
(1000 test points, 1000 draws each, as in Gushchin et al. 2023) beside the noise
floor: the same metric for the exact conditional sampler. The benchmark's
potential has 5 full-covariance components, so the model is K = 5 "full"
(which can represent the truth exactly) where the fit is affordable, and
"diag" with K = 10 above that; both with ``init="annealed"``.
The published initialisation ("samples") is run beside it at d = 16.
"""

import time

from _report import Table

from skschrodinger import LightSBTransport
from skschrodinger.datasets import make_eot_benchmark

DIMENSIONS = (2, 16, 64, 128)
EPSILONS = (0.1, 1.0, 10.0)
N_TRAIN = 20_000
FULL_UP_TO = 16
"""Largest dimension fitted with full covariances (the d^2 loss costs ~0.7 s per
evaluation at d = 128 and 20 000 samples on 2 cores)."""


def model_for(d, epsilon, init="annealed"):
    if d <= FULL_UP_TO:
        options = dict(n_components=5, covariance_type="full")
    else:
        options = dict(n_components=10, covariance_type="diag")
    return LightSBTransport(epsilon=epsilon, init=init, random_state=0, **options)


def run(args):
    dims = (2, 16) if args.quick else DIMENSIONS
    n_train = 5_000 if args.quick else N_TRAIN
    n_points = 200 if args.quick else 1000
    table = Table(
        f"EOT benchmark: LightSB cBW2^2-UVP (%) vs the exact sampler's noise floor "
        f"({n_train} training samples per side, {n_points} test points x 1000 draws)",
        ["d", "eps", "model", "init", "cBW2-UVP %", "floor %", "ratio", "target met",
         "fit s", "iters"])
    for d in dims:
        for epsilon in EPSILONS:
            X, y, bench = make_eot_benchmark(d, epsilon, n_samples=n_train, random_state=0)
            floor = bench.noise_floor(n_points=n_points)
            inits = ("annealed", "samples") if d == 16 else ("annealed",)
            for init in inits:
                model = model_for(d, epsilon, init)
                start = time.perf_counter()
                model.fit(X, y)
                seconds = time.perf_counter() - start
                score = bench.conditional_bw_uvp(model.sample, n_points=n_points)
                met = score <= max(2 * floor, floor + 0.1)
                table.add(d, epsilon, f"K={model.n_components} {model.covariance_type}", init,
                          score, floor, score / floor, "yes" if met else "no", seconds,
                          int(model.link_n_iter_[0]))
                print("  " + "  ".join(table.rows[-1]), flush=True)
    table.notes = [
        "Target (issue 3): cBW2^2-UVP <= max(2 x floor, floor + 0.1 %); fit time at d = 128 "
        "under 20 s. 'iters' counts the final stage only (annealing adds stages).",
        "LightSB paper (Adam, K=50 diag, fresh samples every step): 0.03-0.62 % on the "
        "original benchmark files (a different draw of the same construction).",
    ]
    return [table]
