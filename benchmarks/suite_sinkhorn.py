"""Sinkhorn: skschrodinger's solver vs POT and OTT-JAX, time to the same L1 marginal error.

Problems: X ~ N(0, I_d), Y ~ N(1, diag(0.5 .. 1.5)), n = m points, uniform
weights, cost ||x - y||^2 / 2 and epsilon in {0.01, 0.1, 1} x d (the mean cost
is about d); the 2-D Gaussian -> moons pair at epsilon = 0.02; the MSCI
single-cell days of the LightSB paper. POT solves the same problem with
``reg = 2 eps`` and OTT-JAX with SqEuclidean ``epsilon = 2 eps``.

Tables:

* ``configurations`` -- the accelerations of our solver, iterations and time
  to L1 1e-6 (how the default was chosen);
* ``peers`` -- time to L1 targets 1e-4 and 1e-6. Each peer runs to its own
  stopping rule set to reach the target (POT: ``stopThr`` = target / sqrt(n)
  on the L2 column error; OTT: ``threshold`` = target with ``norm_error=1``,
  the L1 error of one marginal, the other being exact); the L1 error of its
  plan is measured, and ours is run to the smallest error any peer reached in
  that cell (so ours is never held to a looser target). Medians of interleaved
  rounds; a peer whose first round exceeds ``PEER_CAP`` seconds is stopped at
  the iteration count that fits and reported as "> cap". OTT's compile time is
  excluded (ahead-of-time ``jit(...).lower(...).compile()``) and reported;
* ``tolerance`` -- what tol means for the map: MSCI 50-D days 2 -> 4, the
  entropic map and the interpolated day 3 at each tol vs a 1e-10 solution;
* ``msci`` -- the full-data Sinkhorn of the LightSB paper (both setups,
  50-D and 100-D, epsilon = 0.1) with fit time and energy distance;
* ``memory`` -- peak resident memory of a child process;
* ``unbalanced`` -- unbalanced Sinkhorn (penalties tau KL on both marginals,
  tau in {0.1, 1} x d) vs POT's ``sinkhorn_unbalanced`` (``reg = 2 eps``,
  ``reg_m = 2 tau``, ``reg_type="kl"``) with the stabilised, kernel and (where
  installed) translation-invariant methods: time to L1 targets 1e-4 and 1e-6
  of the optimality conditions, sum_i |pi_i. - a_i exp(-f_i / tau)| +
  sum_j |pi_.j - b_j exp(-g_j / tau)|, measured on each solver's own plan and
  potentials (our ``tol``). POT's ``stopThr`` (relative change of its scalings)
  starts at the target and is divided by 10 while the plan misses it; ours runs
  to the smallest error POT reached, as in ``peers``, and the plan mass is
  reported.

OTT-JAX is optional (``pip install ott-jax jax``): without it its columns are
"not installed".
"""

import os
import subprocess
import sys
import time
import warnings

from _report import Table
import numpy as np
import ot

from skschrodinger import SinkhornBridge
from skschrodinger.datasets import load_msci, make_toy_pair
from skschrodinger.entropic_ot import empirical_sinkhorn, entropic_plan
from skschrodinger.metrics import half_energy_distance

PEER_CAP = 20.0
"""Seconds a peer's run may take; slower ones are stopped and reported as a lower bound."""
REPEAT_BELOW = 2.0
"""A peer whose first run took longer than this many seconds is timed once."""
TARGETS = (1e-4, 1e-6)
CONFIGURATION_MAX_ITER = 5000
MSCI_PAPER = {50: 2.34, 100: 2.24}
MSCI_SETUPS = [(2, 4, 3), (3, 7, 4)]


def gaussian_problem(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d) + 1.0


def moons_problem(n):
    X, y = make_toy_pair("gaussian", "moons", n_samples=n, random_state=0)
    return X[y == 0], X[y == 1]


def load_note():
    return f"Load average (1, 5, 15 min) at the end: {os.getloadavg()[0]:.2f}, " \
           f"{os.getloadavg()[1]:.2f}, {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores."


def l1_error(plan, a, b):
    return float(np.abs(plan.sum(axis=1) - a).sum() + np.abs(plan.sum(axis=0) - b).sum())


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


# ---------------------------------------------------------------- configurations
CONFIGURATIONS = {
    "plain": dict(acceleration=None, dense_kernel_memory=0),
    "overrelaxation (old default)": dict(acceleration="overrelaxation", dense_kernel_memory=0),
    "fixed w = 1.5": dict(acceleration=1.5, dense_kernel_memory=0),
    "annealing 0.7 + overrelaxation": dict(acceleration="overrelaxation", epsilon_scaling=0.7,
                                           dense_kernel_memory=0),
    "anderson": dict(dense_kernel_memory=0),
    "annealing 0.7 + anderson": dict(epsilon_scaling=0.7, dense_kernel_memory=0),
    "anderson + dense kernel (default)": dict(),
}


def configuration_cases(data, quick):
    yield "moons n=1000, eps=0.02", *moons_problem(1000), 0.02
    for d in ((2, 10) if quick else (2, 10, 50)):
        yield f"n=1000, d={d}, eps={0.01 * d:g}", *gaussian_problem(1000, d), 0.01 * d
    if (data / "full_cite_pcas_50_day_2.npy").is_file() and not quick:
        X, y = load_msci(data, dim=50, days=(2, 3, 4))
        S, T = X[y == 2] / X.std(axis=0).mean(), X[y == 4] / X.std(axis=0).mean()
        rng = np.random.default_rng(0)
        yield ("MSCI 50-D 2->4, 1500 cells/day, eps=0.1",
               S[rng.choice(len(S), 1500, replace=False)],
               T[rng.choice(len(T), 1500, replace=False)], 0.1)


def configuration_table(args):
    table = Table("Sinkhorn accelerations: iterations and seconds to L1 marginal error 1e-6",
                  ["problem", *CONFIGURATIONS, "default vs old default"])
    empirical_sinkhorn(np.ones((4, 2)), np.zeros((4, 2)), 1.0)
    for name, X, Y, epsilon in configuration_cases(args.data, args.quick):
        cells, seconds = [], {}
        for label, options in CONFIGURATIONS.items():
            seconds[label], result = timed(lambda o=options: empirical_sinkhorn(
                X, Y, epsilon, tol=1e-6, max_iter=CONFIGURATION_MAX_ITER, **o))
            cells.append(f"{result.n_iter} it, {seconds[label]:.2f} s"
                         + ("" if result.converged else " (not converged)"))
        ratio = (seconds["overrelaxation (old default)"]
                 / seconds["anderson + dense kernel (default)"])
        table.add(name, *cells, f"{ratio:.1f}x")
    table.notes += ["One run per cell (iteration counts are deterministic); "
                    f"max_iter={CONFIGURATION_MAX_ITER}.",
                    load_note()]
    return table


# ------------------------------------------------------------------------ peers
def pot_solver(method):
    def solve(X, Y, epsilon, target, max_iter):
        n = len(X)
        a = np.full(n, 1.0 / n)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            plan, log = ot.sinkhorn(a, a, ot.dist(X, Y), reg=2 * epsilon, method=method,
                                    stopThr=target / np.sqrt(n), numItermax=max_iter, log=True)
        return plan, int(log.get("niter", max_iter)) + 1, 0.0
    return solve


def ott_solvers():
    try:
        import jax
        from ott.geometry import epsilon_scheduler, pointcloud
        from ott.problems.linear import linear_problem
        from ott.solvers.linear import acceleration
        from ott.solvers.linear import sinkhorn as ott_sinkhorn
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)

    def variant(solver_options, scheduler=False):
        def solve(X, Y, epsilon, target, max_iter):
            eps = (epsilon_scheduler.Epsilon(2 * epsilon, init=100.0, decay=0.9) if scheduler
                   else 2 * epsilon)
            geometry = pointcloud.PointCloud(jax.numpy.asarray(X), jax.numpy.asarray(Y),
                                             epsilon=eps)
            problem = linear_problem.LinearProblem(geometry)
            solver = ott_sinkhorn.Sinkhorn(threshold=target, norm_error=1,
                                           max_iterations=max_iter, **solver_options)
            key = (X.shape, Y.shape, epsilon, target, max_iter)
            compile_seconds = 0.0
            if solve.compiled.get("key") != key:
                start = time.perf_counter()
                solve.compiled.update(key=key, function=jax.jit(solver).lower(problem).compile())
                compile_seconds = solve.compile_seconds = time.perf_counter() - start
            output = solve.compiled["function"](problem)
            plan = np.asarray(output.matrix)
            return plan, int(output.n_iters), compile_seconds
        solve.compiled, solve.compile_seconds = {}, 0.0
        return solve

    return {"OTT default": variant({}),
            "OTT momentum 1.5": variant(dict(momentum=acceleration.Momentum(value=1.5))),
            "OTT Anderson 5": variant(dict(anderson=acceleration.AndersonAcceleration(memory=5))),
            "OTT eps scheduler": variant({}, scheduler=True)}


def peer_table(args):
    sizes = (1000,) if args.quick else (1000, 4000)
    peers = {"POT log": pot_solver("sinkhorn_log"), "POT kernel": pot_solver("sinkhorn")}
    ott = ott_solvers()
    peers.update(ott)
    columns = ["problem", "target", "ours s", "ours it", "ours kernel"]
    for name in peers:
        columns += [f"{name} s", f"{name} / ours"]
    columns += ["best peer / ours", "OTT compile s"]
    table = Table("Sinkhorn time to the same L1 marginal error: ours vs POT and OTT-JAX "
                  "(medians of interleaved rounds; ratio = peer time / ours)", columns)
    cases = [("moons n=1000, eps=0.02", *moons_problem(1000), 0.02)]
    for n in sizes:
        for d in (2, 10, 50):
            X, Y = gaussian_problem(n, d)
            for rel in (0.01, 0.1, 1.0):
                cases.append((f"n={n}, d={d}, eps={rel * d:g}", X, Y, rel * d))
    empirical_sinkhorn(np.ones((4, 2)), np.zeros((4, 2)), 1.0)
    rounds = 3
    for name, X, Y, epsilon in cases:
        n = len(X)
        a = np.full(n, 1.0 / n)
        for target in TARGETS:
            times = {peer: [] for peer in peers}
            reached, capped, limits = {}, {}, {}
            ours_times, ours = [], None
            for round_ in range(rounds):
                for peer, solve in peers.items():
                    if peer in capped or (round_ and (peer not in reached
                                                      or times[peer][0] > REPEAT_BELOW)):
                        continue
                    if round_ == 0:  # probe: seconds per iteration, to respect the cap
                        probe, (_, _, compile_s) = timed(lambda s=solve: s(X, Y, epsilon, 1e-300,
                                                                           20))
                        limits[peer] = max(20, int(20 * PEER_CAP / max(probe - compile_s, 1e-9)))
                    seconds, (plan, _, compile_s) = timed(
                        lambda s=solve, k=limits[peer]: s(X, Y, epsilon, target, k))
                    seconds -= compile_s
                    error = l1_error(plan, a, a) if np.all(np.isfinite(plan)) else np.inf
                    if not error <= target:
                        capped[peer] = (f"> {seconds:.0f} (error {error:.0e})"
                                        if np.isfinite(error) else "fails")
                        continue
                    times[peer].append(seconds)
                    reached[peer] = error
                goal = min([target, *reached.values()])
                seconds, ours = timed(lambda g=goal: empirical_sinkhorn(X, Y, epsilon, tol=g,
                                                              max_iter=100_000))
                ours_times.append(seconds)
            ours_s = float(np.median(ours_times))
            cells, ratios = [], []
            for peer in peers:
                if peer in capped:
                    text = capped[peer]
                    cells += [text, f"> {PEER_CAP / ours_s:.0f}" if text != "fails" else "-"]
                    continue
                peer_s = float(np.median(times[peer]))
                ratios.append(peer_s / ours_s)
                cells += [peer_s, f"{peer_s / ours_s:.1f}"]
            compile_s = max([getattr(s, "compile_seconds", 0.0) for s in ott.values()] or [0])
            table.add(name, f"{target:.0e}", ours_s, ours.n_iter,
                      "dense" if ours.dense else "online", *cells,
                      f"{min(ratios):.1f}" if ratios else "-",
                      compile_s if ott else "not installed")
    table.notes += [
        "Ours runs to the smallest L1 error a peer reached in the cell (at most the target). "
        f"'> s (error e)': the peer did not reach the target within its {PEER_CAP:.0f} s cap; "
        "'fails': it under/overflowed. OTT: PointCloud (dense), lse_mode, 64-bit; scheduler "
        "init=100, decay=0.9. Medians of 3 rounds, or 1 for a peer slower than 2 s.",
        load_note()]
    return table


def large_table(args):
    table = Table("Sinkhorn at n = m = 20 000 (ours only; the dense peers need 3.2 GB per "
                  "matrix and minutes per solve)",
                  ["problem", "seconds", "iterations", "L1 error", "kernel"])
    for d in ((2,) if args.quick else (2, 10, 50)):
        X, Y = gaussian_problem(20_000, d)
        for rel in (1.0,) if d == 50 else (0.01, 0.1, 1.0):
            seconds, result = timed(lambda e=rel * d: empirical_sinkhorn(X, Y, e, tol=1e-6,
                                                               max_iter=100_000))
            table.add(f"n=20000, d={d}, eps={rel * d:g}", seconds, result.n_iter,
                      f"{result.marginal_error:.1e}", "dense" if result.dense else "online")
    table.notes += ["One run each; n m = 4e8 entries exceed the default 1 GiB budget, so "
                    "these run online with memory O((n + m) d).", load_note()]
    return table


# --------------------------------------------------------------------- MSCI
def msci_days(data, dim, start, end, evaluated):
    X, y = load_msci(data, dim=dim, days=(start, evaluated, end))
    scale = X.std(axis=0).mean()
    return X[y == start] / scale, X[y == end] / scale, X[y == evaluated], scale


def tolerance_table(args):
    table = Table("What tol means on MSCI 50-D, days 2 -> 4, eps = 0.1 (full data): "
                  "the map and the interpolated day 3 vs a tol = 1e-10 solution",
                  ["tol", "iterations", "fit s", "map RMS change / data std",
                   "map max change / data std", "half energy distance, day 3",
                   "change vs 1e-10"])
    S, T, truth, scale = msci_days(args.data, 50, 2, 4, 3)
    X, y = np.vstack([S, T]), np.repeat([2.0, 4.0], [len(S), len(T)])

    def fit(tol):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return timed(lambda: SinkhornBridge(epsilon=0.1, tol=tol, max_iter=5000).fit(X, y))

    _, reference = fit(1e-10)
    reference_map = reference.transform(S)
    energies = [half_energy_distance(reference.sample_at(S, 3.0, random_state=s) * scale, truth)
                for s in range(5)]
    reference_energy = energies[0]
    for tol in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8):
        seconds, model = fit(tol)
        change = np.linalg.norm(model.transform(S) - reference_map, axis=1)  # units of data std
        energy = half_energy_distance(model.sample_at(S, 3.0, random_state=0) * scale, truth)
        table.add(f"{tol:.0e}", int(model.link_n_iter_[0]), seconds,
                  float(np.sqrt(np.mean(change**2))), float(change.max()), energy,
                  f"{energy - reference_energy:+.2g}")
    table.notes += [f"Sampling noise of the energy distance (5 seeds of the 1e-10 model): "
                    f"sd {np.std(energies):.3g} around {np.mean(energies):.3g}. The data are "
                    "divided by their mean per-feature std, so map changes are in units of it.",
                    load_note()]
    return table


def msci_table(args):
    table = Table("MSCI full-data Sinkhorn of the LightSB paper (eps = 0.1, default tol)",
                  ["dim", "setup", "cells", "fit s", "iterations", "L1 error", "converged",
                   "half energy distance", "U-stat.", "paper (mean of setups)"])
    for dim in (50, 100):
        values = []
        for start, end, evaluated in MSCI_SETUPS:
            S, T, truth, scale = msci_days(args.data, dim, start, end, evaluated)
            X, y = np.vstack([S, T]), np.repeat([float(start), float(end)], [len(S), len(T)])
            if args.quick:
                X, y = X[::4], y[::4]
            seconds, model = timed(lambda: SinkhornBridge(epsilon=0.1, max_iter=5000).fit(X, y))
            predicted = model.sample_at(S, float(evaluated), random_state=0) * scale
            v = half_energy_distance(predicted, truth)
            values.append(v)
            table.add(dim, f"{start}->{end}, day {evaluated}", f"{len(S)} x {len(T)}", seconds,
                      int(model.link_n_iter_[0]), f"{model.marginal_errors_[0]:.1e}",
                      bool(model.converged_), v, half_energy_distance(predicted, truth,
                                                                      unbiased=True),
                      f"{MSCI_PAPER[dim]} (ours {np.mean(values):.3g})" if len(values) == 2
                      else "")
    table.notes += ["Data divided by the mean per-feature std of the setup's three days; "
                    "energy distance in PCA units, one path per start cell. The paper's "
                    "Sinkhorn row: 90 s / 2.5 min on a V100.", load_note()]
    return table


# ------------------------------------------------------------------- memory
MEMORY_SCRIPT = """
import sys, time
import numpy as np
from skschrodinger.entropic_ot import empirical_sinkhorn
n, d, eps, budget = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
X = rng.normal(size=(n, d)); Y = rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d) + 1.0
start = time.perf_counter()
result = empirical_sinkhorn(X, Y, eps, tol=1e-6, max_iter=10_000,
                  dense_kernel_memory=None if budget == "default" else float(budget))
seconds = time.perf_counter() - start
# VmHWM is this process's own peak (ru_maxrss would inherit the parent's across exec).
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(seconds, result.n_iter, result.marginal_error, result.dense,
      int(peak.split()[1]) / 1024)
"""


def memory_table(args):
    table = Table("Sinkhorn peak memory (resident set of a child process)",
                  ["n = m", "d", "eps", "dense_kernel_memory", "kernel", "seconds", "iterations",
                   "L1 error", "peak RSS MiB", "n m 8 bytes MiB"])
    cases = [(10, 10, 10.0, "default"), (10_000, 10, 10.0, "default"),
             (10_000, 10, 10.0, "0")]
    cases.append((20_000, 10, 10.0, "default") if args.quick else (50_000, 10, 10.0, "default"))
    for n, d, epsilon, budget in cases:
        out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(n), str(d), str(epsilon),
                              budget], capture_output=True, text=True, check=True).stdout.split()
        seconds, iterations, error, dense, rss = out
        table.add(n, d, epsilon, budget, "dense" if dense == "True" else "online",
                  float(seconds), int(iterations), f"{float(error):.1e}", float(rss),
                  n * n * 8 / 2 ** 20)
    table.notes.append(
        "The n = 10 row is the interpreter with numpy, scipy, numba and the compiled "
        "kernels loaded: the baseline to subtract. 'default' is scikit-learn's working_memory "
        "(1024 MiB).")
    return table


# --------------------------------------------------------------- unbalanced
UNBALANCED_METHODS = {"POT stabilised": "sinkhorn_stabilized", "POT kernel": "sinkhorn",
                      "POT transl.-inv.": "sinkhorn_translation_invariant"}
STOP_DIVISIONS = 3
"""Times POT's stopThr may be divided by 10 after a plan that misses the target."""


def optimality_error(plan, a, b, f, g, tau):
    """L1 error of the unbalanced optimality conditions: pi 1 = a exp(-f / tau), likewise b, g."""
    with np.errstate(all="ignore"):
        return float(np.abs(plan.sum(axis=1) - a * np.exp(-f / tau)).sum()
                     + np.abs(plan.sum(axis=0) - b * np.exp(-g / tau)).sum())


def pot_unbalanced_solver(method):
    def solve(X, Y, epsilon, tau, stop, max_iter):
        a, b = np.full(len(X), 1.0 / len(X)), np.full(len(Y), 1.0 / len(Y))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            plan, log = ot.sinkhorn_unbalanced(a, b, ot.dist(X, Y), reg=2 * epsilon,
                                               reg_m=(2 * tau, 2 * tau), method=method,
                                               reg_type="kl", numItermax=max_iter,
                                               stopThr=stop, log=True)
        # With reg_type="kl", plan_ij = a_i b_j exp(log u_i + log v_j - C_ij / eps).
        stopped = bool(log["err"]) and log["err"][-1] <= stop
        return plan, epsilon * log["logu"], epsilon * log["logv"], stopped
    return solve


def unbalanced_table(args):
    sizes = (1000,) if args.quick else (1000, 4000)
    installed = {name: method for name, method in UNBALANCED_METHODS.items()
                 if method != "sinkhorn_translation_invariant"
                 or hasattr(ot.unbalanced, "sinkhorn_unbalanced_translation_invariant")}
    peers = {name: pot_unbalanced_solver(method) for name, method in installed.items()}
    columns = ["problem", "target", "plan mass", "ours s", "ours it", "ours tol"]
    for name in peers:
        columns += [f"{name} s", f"{name} / ours"]
    columns += ["best POT / ours"]
    table = Table("Unbalanced Sinkhorn time to the same L1 error of the optimality conditions: "
                  "ours vs POT sinkhorn_unbalanced (medians of interleaved rounds; "
                  "ratio = POT time / ours)", columns)
    tiny = np.random.default_rng(0).normal(size=(50, 2))
    empirical_sinkhorn(tiny, tiny + 1.0, 0.5, tau_a=1.0, tau_b=1.0)  # JIT warm-up
    rounds = 3
    for n in sizes:
        for d in (2, 10):
            X, Y = gaussian_problem(n, d)
            a = np.full(n, 1.0 / n)
            limits = {}
            for peer, solve in peers.items():  # probe: seconds per iteration, for the cap
                probe, _ = timed(lambda s=solve: s(X, Y, 0.1 * d, 0.1 * d, -1.0, 20))
                limits[peer] = max(20, int(20 * PEER_CAP / probe))
            for rel_epsilon in (0.1, 1.0):
                for rel_tau in (0.1, 1.0):
                    epsilon, tau = rel_epsilon * d, rel_tau * d
                    name = f"n={n}, d={d}, eps={epsilon:g}, tau={tau:g}"
                    missed, capped_s = {}, {}
                    for target in TARGETS:
                        times = {peer: [] for peer in peers}
                        reached, stops, ours_times, ours = {}, {}, [], None
                        for round_ in range(rounds):
                            for peer, solve in peers.items():
                                if peer in missed or (round_ and times[peer][0] > REPEAT_BELOW):
                                    continue
                                if round_:
                                    seconds, _ = timed(lambda s=solve, p=peer: s(
                                        X, Y, epsilon, tau, stops[p], limits[p]))
                                    times[peer].append(seconds)
                                    continue
                                previous = np.inf
                                for division in range(STOP_DIVISIONS + 1):
                                    stop = target / 10 ** division
                                    seconds, (plan, f, g, stopped) = timed(
                                        lambda s=solve, p=peer, t=stop: s(X, Y, epsilon, tau, t,
                                                                          limits[p]))
                                    error = optimality_error(plan, a, a, f, g, tau)
                                    if error <= target:
                                        times[peer].append(seconds)
                                        reached[peer], stops[peer] = error, stop
                                        break
                                    if not np.isfinite(error) or error >= previous:
                                        missed[peer] = (f"fails (error {error:.0e} at stopThr "
                                                        f"{stop:.0e})")
                                        break
                                    if not stopped:
                                        missed[peer] = f"> {seconds:.0f} (error {error:.0e})"
                                        capped_s[peer] = seconds
                                        break
                                    previous = error
                                else:
                                    missed[peer] = f"error {error:.0e} at stopThr {stop:.0e}"
                            goal = min([target, *reached.values()])
                            seconds, ours = timed(lambda g=goal: empirical_sinkhorn(
                                X, Y, epsilon, tau_a=tau, tau_b=tau, tol=g, max_iter=100_000))
                            ours_times.append(seconds)
                        ours_s = float(np.median(ours_times))
                        plan = entropic_plan(X, Y, ours.f, ours.g, epsilon)
                        error = optimality_error(plan, a, a, ours.f, ours.g, tau)
                        cells, ratios = [], []
                        for peer in peers:
                            if peer in missed:
                                cells += [missed[peer], f"> {capped_s[peer] / ours_s:.0f}"
                                          if peer in capped_s else "-"]
                                continue
                            peer_s = float(np.median(times[peer]))
                            ratios.append(peer_s / ours_s)
                            cells += [peer_s, f"{peer_s / ours_s:.1f}"]
                        ours_it = (f"{ours.n_iter}" + ("" if ours.converged else " (not converged)")
                                   + ("" if error <= goal else f" (error {error:.1e})"))
                        table.add(name, f"{target:.0e}", ours.mass, ours_s, ours_it,
                                  f"{goal:.1e}", *cells,
                                  f"{min(ratios):.1f}" if ratios else "-")
    table.notes += [
        "POT's time includes building the dense cost matrix ot.dist(X, Y) (ours computes the "
        "cost itself, in its time) and the returned plan; only the run with the accepted "
        "stopThr is timed, not the search for it. 'ours tol': the smallest error POT reached "
        "in the cell (at most the target); ours' error is recomputed from its plan "
        "(entropic_plan), and flagged if above it. "
        f"'> s (error e)': POT stopped at the iteration count of its {PEER_CAP:.0f} s cap "
        "(estimated from 20 iterations per method and point cloud, at eps = tau = 0.1 d) "
        "without meeting its stopThr; 'fails': its error did not fall when stopThr was "
        "divided by 10 (or was not finite). A method that misses 1e-4 is not rerun for 1e-6. "
        f"Medians of {rounds} rounds, or 1 for a run slower than {REPEAT_BELOW:g} s.",
        load_note()]
    return table


PARTS = {"configurations": configuration_table, "peers": peer_table, "large": large_table,
         "tolerance": tolerance_table, "msci": msci_table, "memory": memory_table,
         "unbalanced": unbalanced_table}


def run(args):
    parts = os.environ.get("SINKHORN_PARTS", ",".join(PARTS)).split(",")
    has_msci = (args.data / "full_cite_pcas_50_day_2.npy").is_file()
    return [PARTS[part](args) for part in parts
            if has_msci or part not in ("tolerance", "msci")]
