"""Iterated bridge flows: the experiments of Agarwal, Harchaoui, Mulcahy, Pal.

Problems (:func:`skschrodinger.datasets.make_gradient_flow`): the heat flow
from 1/2 N(-2, 1) + 1/2 N(2, 1), and the Ornstein–Uhlenbeck flow toward N(0, 1)
from N(0, 4); n in {500, 2000} particles, epsilon = 0.01, T = 5 (500 steps).

Accuracy: the exact W2 between the particles and the exact marginal rho_t
(:func:`skschrodinger.metrics.wasserstein2_gaussian_mixture_1d`) at
t = 0 .. 5. The value at t = 0 is the sampling error of the initial sample,
the yardstick: the issue's target is W2(t) <= 1.5 W2(0) at every t for the
heat flow at n = 2000, and the whole run under 30 s.

Speed, as ratios against two references run in this process, both dense
(n x n matrices) and both of the *same scheme*:

* "NumPy dense": the same algorithm as ours (averaged symmetric Sinkhorn
  update f <- (f + T f) / 2, the same extrapolated warm start and the same
  stopping rule, L1 marginal error < 1e-6), with scipy's ``logsumexp`` on the
  dense cost matrix. It runs every step, so its W2 columns check that both
  implementations produce the same flow. It isolates the kernels' speed.
* "POT": ``ot.sinkhorn(a, a, ot.dist(X, X), reg=2 eps,
  method="sinkhorn_log", stopThr=1e-6)`` per step, warm-started from the
  previous step's dual potentials: the library a user would reach for. Its
  plain (not averaged) update oscillates on a same-marginal problem and
  needs hundreds of iterations per step even warm-started, so it runs only
  the first ``POT_STEPS`` warm steps (after one cold step, not timed), with
  POT's default cap of 1000 iterations. Its stopping rule is its own (L2
  norm of the column-marginal error, checked every 10 iterations), so this
  ratio mixes the algorithm (the averaged update), the stopping rule and
  the implementation; the NumPy ratio is the implementation alone.

Time per step is a mean over steps everywhere: ours is the whole run (the
median over repeats) divided by the number of steps, after a warm-up fit so
that no compilation is timed; the references time each step. Our kernels
run on all cores (2 here) while NumPy's element-wise ``logsumexp`` runs on
one, so ours is also timed on one kernel thread (``n_jobs=1``, "1 thread"), and the
NumPy ratio is given for both. At n = 2000 the NumPy reference runs its
first 50 steps only and POT is not run (its hundreds of dense iterations
per step take minutes).
The explicit Euler scheme with a kernel density score (Scott's bandwidth),
the paper's comparison, is reported for accuracy.
"""

import time
import warnings

from _report import Table
import numpy as np
import ot
from scipy.special import logsumexp

from skschrodinger import IteratedBridgeFlow
from skschrodinger.datasets import make_gradient_flow

EPSILON = 0.01
T_MAX = 5.0
POT_STOP = 1e-6
TOL = 1e-6
MAX_ITER = 1000
POT_STEPS = 6
FULL_REFERENCE_SIZE = 500
"""Above this n the NumPy reference runs CUT_REFERENCE_STEPS steps and POT none."""
CUT_REFERENCE_STEPS = 50
POT_MAX_ITER = 1000
"""POT's default cap; a step that reaches it stops short of stopThr (shown as 1000)."""
INITIAL = {"heat": "bimodal", "fokker_planck": "wide"}


def w2_at_integer_times(flow, particles, times):
    rows = [int(np.argmin(np.abs(times - t))) for t in range(int(T_MAX) + 1)]
    return [flow.wasserstein2(particles[k], times[k]) for k in rows]


def _target_term(X, functional):
    return -0.5 * EPSILON * X if functional == "fokker_planck" else 0.0  # grad log N(0, 1)


def numpy_reference(X, functional, n_steps):
    """Our algorithm on dense matrices with scipy's logsumexp; (particles, mean s/step)."""
    n = X.shape[0]
    log_a = np.full(n, -np.log(n))
    potential = previous = None
    particles, seconds = [X], []
    for _ in range(n_steps):
        start = time.perf_counter()
        cost = 0.5 * ot.dist(X, X)
        f = np.zeros(n) if potential is None else (
            potential if previous is None else 2 * potential - previous)
        for _ in range(MAX_ITER):
            transformed = -EPSILON * logsumexp(log_a + (f[None, :] - cost) / EPSILON, axis=1)
            if 2 * np.exp(log_a) @ np.abs(np.expm1((f - transformed) / EPSILON)) < TOL:
                break
            f = 0.5 * (f + transformed)
        previous, potential = potential, f
        logits = log_a + (f[None, :] - cost) / EPSILON
        weights = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        X = 2 * X - weights @ X + _target_term(X, functional)
        seconds.append(time.perf_counter() - start)
        particles.append(X)
    return np.array(particles), float(np.mean(seconds))


def pot_reference(X, functional, n_steps):
    """The scheme with POT's dense sinkhorn_log; mean seconds and median iterations of the
    warm steps (one cold step first, not counted)."""
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    warm = (np.zeros(n), np.zeros(n))
    seconds, iterations = [], []
    for _ in range(n_steps + 1):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan, log = ot.sinkhorn(a, a, ot.dist(X, X), reg=2 * EPSILON, method="sinkhorn_log",
                                    stopThr=POT_STOP, numItermax=POT_MAX_ITER, warmstart=warm,
                                    log=True)
        warm = (log["log_u"], log["log_v"])
        X = 2 * X - n * plan @ X + _target_term(X, functional)
        seconds.append(time.perf_counter() - start)
        iterations.append(log["niter"])
    return float(np.mean(seconds[1:])), int(np.median(iterations[1:]))


def run_ours(X, functional, scheme, repeats, threads=None):
    """Fit ``repeats`` times (on ``threads`` kernel threads); the model and the median time."""
    times, model = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        model = IteratedBridgeFlow(epsilon=EPSILON, t_max=T_MAX, functional=functional,
                                   scheme=scheme, n_jobs=threads).fit(X)
        times.append(time.perf_counter() - start)
    return model, float(np.median(times))


def flow_table(quick):
    sizes = (500,) if quick else (500, 2000)
    warm_up, _ = make_gradient_flow(50, random_state=0)
    for scheme in ("sb", "euler"):  # compile the kernels outside the timings
        IteratedBridgeFlow(epsilon=0.1, t_max=0.3, scheme=scheme).fit(warm_up)
    table = Table(
        f"Iterated bridge flows, eps={EPSILON}, T={T_MAX:g} ({int(T_MAX / EPSILON)} steps): "
        "exact W2 to rho_t, and time per step",
        ["flow", "n", "method", "W2 t=0", "t=1", "t=2", "t=3", "t=4", "t=5", "max W2(t)/W2(0)",
         "run s", "ms/step", "1 thread", "NumPy ms/step", "ratio", "ratio 1 thread",
         "POT ms/step", "ratio", "POT iter/step"],
    )
    for functional in ("heat", "fokker_planck"):
        for n in sizes:
            X, flow = make_gradient_flow(n, functional=functional, initial=INITIAL[functional],
                                         random_state=0)
            model, seconds = run_ours(X, functional, "sb", repeats=1 if quick else 3)
            _, single = run_ours(X, functional, "sb", repeats=1, threads=1)
            ours = w2_at_integer_times(flow, model.particles_, model.times_)
            steps = len(model.step_sizes_)
            full = n <= FULL_REFERENCE_SIZE
            particles, numpy_step = numpy_reference(X, functional,
                                                    steps if full else CUT_REFERENCE_STEPS)
            ms, ms_single = 1000 * seconds / steps, 1000 * single / steps
            pot = ["", "", ""]
            if full:
                pot_step, pot_iterations = pot_reference(X, functional,
                                                         POT_STEPS // 2 if quick else POT_STEPS)
                pot = [1000 * pot_step, 1000 * pot_step / ms, pot_iterations]
            table.add(functional, n, "SB (ours, numba)", *ours, max(ours[1:]) / ours[0],
                      seconds, ms, ms_single, 1000 * numpy_step, 1000 * numpy_step / ms,
                      1000 * numpy_step / ms_single, *pot)
            if full:
                reference = w2_at_integer_times(flow, particles, model.times_)
                table.add(functional, n, "SB (NumPy dense)", *reference,
                          max(reference[1:]) / reference[0], numpy_step * steps,
                          1000 * numpy_step, "", "", "", "", "", "", "")
            euler, euler_seconds = run_ours(X, functional, "euler", repeats=1)
            errors = w2_at_integer_times(flow, euler.particles_, euler.times_)
            table.add(functional, n, "Euler + KDE (ours)", *errors, max(errors[1:]) / errors[0],
                      euler_seconds, 1000 * euler_seconds / steps, "", "", "", "", "", "", "")
    table.notes.append(
        "W2: exact 1-D W2 of the particles to rho_t; t=0 is the initial sample's own error. "
        "Times are means per step; ratio = reference time per step / ours (same process, same "
        f"scheme), on all kernel threads and on one. The NumPy reference runs every step at "
        f"n={FULL_REFERENCE_SIZE} (its W2 row) and the first {CUT_REFERENCE_STEPS} above; POT "
        f"runs {POT_STEPS} warm steps at n={FULL_REFERENCE_SIZE} only (median iterations per "
        f"step, capped at {POT_MAX_ITER}; its own stopping rule)."
    )
    return table


def run(args):
    return [flow_table(args.quick)]
