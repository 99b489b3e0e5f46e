"""Sinkhorn: skschrodinger's numba solver vs POT, time to the same marginal error.

Problem: X ~ N(0, I_d), Y ~ N(1, diag(0.5 .. 1.5)), n = m points, uniform
weights, cost ||x - y||^2 / 2 and epsilon = rel * d (rel in {0.1, 1}; the
mean cost is about d). POT solves the same problem with ``reg = 2 epsilon``.

Method, per (n, d, epsilon): POT's ``sinkhorn_log`` runs to its own stopping
rule (``stopThr`` on the L2 column error, checked every 10 iterations); the
L1 marginal error ||pi 1 - a||_1 + ||pi^T 1 - b||_1 of its plan is measured,
and our solver is run to that same L1 error. POT's kernel-domain ``sinkhorn``
is run the same way when it converges (it underflows at small epsilon).
POT's times include building the cost matrix (``ot.dist``), which its user
must do; ours include centring. Medians over repeats, all in this process.

Memory: the peak resident memory of a child process that solves one problem
(our solver never forms the n x m matrix; POT needs at least n m 8 bytes for
the cost matrix and as much again per temporary).
"""

import subprocess
import sys
import time
import warnings

import numpy as np
import ot

from skschrodinger.entropic_ot import sinkhorn

from _report import Table

POT_STOP = 1e-6
"""POT's stopThr: L2 norm of the column-marginal error."""


def problem(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d) + 1.0


def l1_marginal_error(plan, a, b):
    return np.abs(plan.sum(axis=1) - a).sum() + np.abs(plan.sum(axis=0) - b).sum()


def median_time(function, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def run_pot(X, Y, epsilon, method, repeats):
    n = X.shape[0]
    a = np.full(n, 1.0 / n)

    def solve():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan, log = ot.sinkhorn(a, a, ot.dist(X, Y), reg=2 * epsilon, method=method,
                                    stopThr=POT_STOP, numItermax=10_000, log=True)
        return plan, log

    seconds, (plan, log) = median_time(solve, repeats)
    error = l1_marginal_error(plan, a, a)
    ok = np.isfinite(error) and error < 1e-2
    del plan
    return seconds, error if ok else np.nan, int(log.get("niter", 0)) + 1


def run_ours(X, Y, epsilon, tol, repeats):
    sinkhorn(X[:50], Y[:50], epsilon, max_iter=2)  # compile outside the timing
    seconds, result = median_time(
        lambda: sinkhorn(X, Y, epsilon, tol=tol, max_iter=100_000), repeats)
    return seconds, result


def timing_table(quick):
    sizes = (1000, 4000) if quick else (1000, 4000, 10_000)
    table = Table(
        "Sinkhorn time to the same L1 marginal error: skschrodinger (numba) vs POT "
        "(medians; ratio = POT time / ours)",
        ["n", "d", "eps", "L1 error", "ours s", "ours it", "POT log s", "POT log it",
         "vs log", "POT kernel s", "vs kernel"])
    for n in sizes:
        for d in (2, 10, 50):
            X, Y = problem(n, d)
            for rel in (0.1, 1.0):
                epsilon = rel * d
                repeats = 3 if n <= 1000 else 1
                if n <= 4000:
                    log_s, log_err, log_it = run_pot(X, Y, epsilon, "sinkhorn_log", repeats)
                else:
                    log_s, log_err, log_it = np.nan, np.nan, 0
                kernel_s, kernel_err, _ = run_pot(X, Y, epsilon, "sinkhorn", repeats)
                target = np.nanmin([log_err, kernel_err, 1e-6])
                ours_s, result = run_ours(X, Y, epsilon, target, 3)
                table.add(n, d, epsilon, f"{target:.1e}", ours_s, result.n_iter,
                          log_s if n <= 4000 else "skipped", log_it or "-",
                          log_s / ours_s if n <= 4000 else "-",
                          kernel_s if np.isfinite(kernel_err) else "fails",
                          kernel_s / ours_s if np.isfinite(kernel_err) else "-")
    table.notes.append(
        "POT sinkhorn_log is skipped at n = 10 000 (several seconds per iteration and "
        "3+ GB of temporaries). 'fails': POT's kernel solver underflowed or did not "
        "converge; the L1 target is then POT log's.")
    return table


MEMORY_SCRIPT = """
import sys, time
import numpy as np
from skschrodinger.entropic_ot import sinkhorn
n, d, eps = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(0)
X = rng.normal(size=(n, d)); Y = rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d) + 1.0
start = time.perf_counter()
result = sinkhorn(X, Y, eps, tol=1e-6, max_iter=10_000)
seconds = time.perf_counter() - start
# VmHWM is this process's own peak (ru_maxrss would inherit the parent's across exec).
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(seconds, result.n_iter, result.marginal_error, result.converged,
      int(peak.split()[1]) / 1024)
"""


def memory_table(quick):
    table = Table(
        "Sinkhorn peak memory (resident set of a child process) and the large run",
        ["n = m", "d", "eps", "seconds", "iterations", "L1 error", "converged",
         "peak RSS MiB", "POT cost matrix alone MiB"])
    cases = [(10, 10, 10.0), (10_000, 10, 10.0)]
    cases.append((20_000, 10, 10.0) if quick else (50_000, 10, 10.0))
    for n, d, epsilon in cases:
        out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(n), str(d), str(epsilon)],
                             capture_output=True, text=True, check=True).stdout.split()
        seconds, iterations, error, converged, rss = out
        table.add(n, d, epsilon, float(seconds), int(iterations), f"{float(error):.1e}",
                  converged, float(rss), n * n * 8 / 2 ** 20)
    table.notes.append(
        "The n = 10 row is the interpreter with numpy, scipy, numba and the compiled "
        "kernels loaded: the baseline to subtract.")
    return table


def run(args):
    return [timing_table(args.quick), memory_table(args.quick)]
