"""DSBTransport beside LightSBTransport and SinkhornBridge: accuracy and fit time.

Gaussian closed form (:func:`skschrodinger.datasets.make_gaussian_bridge`,
d = 2, epsilon = 1, 2000 points per side): the coupling error
max |C_hat - C| of Cov(X_0, X_1), estimated from ``sample`` of 20 000 fresh
source points (its Monte Carlo error is about 0.01); the RMS error of
``transform`` against the exact conditional mean on 1000 fresh points; the
energy distance between the 20 000 endpoints and 20 000 exact target draws.

2-D pairs (:func:`skschrodinger.datasets.make_toy_pair`, epsilon = 0.1,
1000 training points per side): energy distance between ``sample`` of 1000
held-out source points and 1000 held-out target points, beside the identity
map's (the held-out source itself) and the noise floor (a second independent
1000-point target sample scored the same way). One data seed: differences
below the floor are noise.

Fit times are medians over repeats, all in this process; "ratio" is the fit
time over SinkhornBridge's on the same problem.

Regressors (the choice of DSBTransport's default): on the Swiss roll →
S-curve and Gaussian → moons pairs (6 IPF iterations, 20 steps), k-nearest
neighbours for several k, per step and with the time as a feature, a random
forest and an MLP; the held-out energy distance as above and the fit time,
with "ratio" the fit time over the default's (k-NN, k = 8, per step).
"""

import time
import warnings

from _report import Table
import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor

from skschrodinger import DSBTransport, LightSBTransport, SinkhornBridge
from skschrodinger.datasets import make_gaussian_bridge, make_toy_pair
from skschrodinger.metrics import energy_distance

PAIRS = (("swiss_roll", "s_curve"), ("gaussian", "moons"), ("gaussian", "8gaussians"))
MONTE_CARLO = 20_000
MODEL_SEED = 7
"""Not the data's seed (0): a DSB chain's noise would otherwise replay the data's draws."""


def methods(epsilon, gaussian):
    listed = {
        "SinkhornBridge": SinkhornBridge(epsilon=epsilon, max_iter=5000,
                                         random_state=MODEL_SEED),
        "LightSB (K=10, diag)": LightSBTransport(epsilon=epsilon, random_state=MODEL_SEED),
        "DSB (k-NN, default)": DSBTransport(epsilon=epsilon, random_state=MODEL_SEED),
    }
    if gaussian:
        listed["DSB (LinearRegression)"] = DSBTransport(epsilon=epsilon,
                                                        regressor=LinearRegression(),
                                                        random_state=MODEL_SEED)
    return listed


def timed_fit(model, X, y, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gaussian_table(repeats):
    X, y, bridge = make_gaussian_bridge(2000, 2, epsilon=1.0, random_state=0)
    source = bridge.sample_source(MONTE_CARLO, 1)
    target = bridge.sample_target(MONTE_CARLO, 2)
    points = bridge.sample_source(1000, 3)
    table = Table("Gaussian closed form, d=2, eps=1, 2000 points per side",
                  ["method", "coupling error", "transform RMS error", "energy distance",
                   "fit s", "ratio"])
    reference = None
    for name, model in methods(1.0, gaussian=True).items():
        seconds = timed_fit(model, X, y, repeats)
        reference = reference or seconds
        end = model.sample(source, random_state=4)
        C = (source - source.mean(axis=0)).T @ (end - end.mean(axis=0)) / MONTE_CARLO
        rms = np.sqrt(np.mean((model.transform(points) - bridge.conditional_mean(points)) ** 2))
        table.add(name, np.abs(C - bridge.coupling_covariance).max(), rms,
                  energy_distance(end[:5000], target[:5000]), seconds, seconds / reference)
    exact = bridge.sample_conditional(source, 5)
    table.add("exact sampler", 0.0, 0.0, energy_distance(exact[:5000], target[:5000]), "", "")
    table.notes.append("Energy distances on 5000 of the draws; the exact sampler's is the "
                       "noise floor.")
    return table


def pair_data(pair):
    """Training pair, held-out source and target, and the target's own noise floor."""
    X, y = make_toy_pair(*pair, n_samples=1000, random_state=0)
    held, labels = make_toy_pair(*pair, n_samples=1000, random_state=1)
    again, again_labels = make_toy_pair(*pair, n_samples=1000, random_state=2)
    target = held[labels == 1]
    return X, y, held[labels == 0], target, energy_distance(again[again_labels == 1], target)


def pairs_table(repeats):
    table = Table("2-D pairs, eps=0.1, 1000 training points per side: energy distance of "
                  "held-out endpoints to the held-out target",
                  ["pair", "identity", "floor", "method", "energy distance", "fit s", "ratio"])
    for pair in PAIRS:
        X, y, source, target, floor = pair_data(pair)
        identity = energy_distance(source, target)
        reference = None
        for name, model in methods(0.1, gaussian=False).items():
            seconds = timed_fit(model, X, y, repeats)
            reference = reference or seconds
            table.add(" → ".join(pair), identity, floor, name,
                      energy_distance(model.sample(source, random_state=0), target), seconds,
                      seconds / reference)
    return table


def regressors(quick):
    listed = {f"k-NN k={k}": (KNeighborsRegressor(k), "per_step") for k in (4, 8, 16, 32)}
    listed["k-NN k=8, time feature"] = (KNeighborsRegressor(8), "feature")
    if not quick:
        listed["random forest (50, leaf 10)"] = (
            RandomForestRegressor(50, min_samples_leaf=10, random_state=0), "per_step")
        listed["MLP (64, 64), time feature"] = (
            MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=300, random_state=0), "feature")
    return listed


def regressor_table(quick):
    table = Table("DSB regressors on the 2-D pairs (eps=0.1, 1000 points, 6 IPF iterations, "
                  "20 steps): held-out energy distance and fit time",
                  ["pair", "floor", "regressor", "time encoding", "energy distance", "fit s",
                   "ratio"])
    for pair in PAIRS[:2]:
        X, y, source, target, floor = pair_data(pair)
        rows = []
        for name, (regressor, encoding) in regressors(quick).items():
            model = DSBTransport(epsilon=0.1, n_ipf=6, regressor=regressor,
                                 time_encoding=encoding, random_state=MODEL_SEED)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the MLP's convergence warnings
                seconds = timed_fit(model, X, y, 1)
            rows.append((name, encoding,
                         energy_distance(model.sample(source, random_state=0), target), seconds))
        default = dict((row[0], row[3]) for row in rows)["k-NN k=8"]
        for name, encoding, distance, seconds in rows:
            table.add(" → ".join(pair), floor, name, encoding, distance, seconds,
                      seconds / default)
    return table


def run(args):
    repeats = 1 if args.quick else 3
    return [gaussian_table(repeats), pairs_table(repeats), regressor_table(args.quick)]
