"""Command line: ``python -m skschrodinger demo`` (or ``skschrodinger demo``).

The demo is the package's main job on real cells: the MSCI CITE-seq time
course shipped with the package (days 2, 3, 4 and 7, 1 500 cells each, 50
principal components). It chooses ε (and K) by leaving out day 4 of the days
2, 4 and 7, never looking at day 3; fits the bridge between days 2 and 4;
predicts the unmeasured day 3; and prints how close the prediction is to the
real day-3 cells, beside the day-2 and day-4 cells as baselines and the other
estimator, with fit times. It writes a picture of the cells, the predicted day
and a few paths, and the cross-validation curve. ``demo --synthetic`` is the
quick self-test on a Gaussian bridge with a closed-form answer.
"""

import argparse
import os
from pathlib import Path
import time

import numpy as np

TRAIN_DAYS = (2, 4, 7)
"""The days the choice of epsilon sees (day 4 held out); day 3 is never used before the end."""
TRAIN_SPAN = TRAIN_DAYS[-1] - TRAIN_DAYS[0]
START, END, PREDICTED = 2, 4, 3
RATES = (0.016, 0.05, 0.16, 0.5, 1.6)
"""Candidate reference variances per day, in units of the data's mean per-feature variance."""
COMPONENTS = (5, 10)
ESTIMATORS = ("lightsb", "sinkhorn")
PICTURE = "skschrodinger_demo.png"
"""The picture's file name, in the current folder or in the folder that ``--output`` names."""
LARGEST_SEED = 2**32 - 1
"""NumPy's legacy seeds, which ``random_state`` takes, run from 0 to 2**32 - 1."""


def picture_path(output):
    """The file the picture is written to; a ValueError, before any work, if it cannot be.

    ``output`` names a PNG file (``.png`` is appended to a name without a
    suffix) or an existing folder, in which the picture is ``PICTURE``. Its
    folder must exist and be writable.

    Returns
    -------
    pathlib.Path
        The absolute path of the file to write.
    """
    if not str(output).strip():
        raise ValueError("output is empty; name a PNG file or a folder for the picture.")
    path = Path(output).expanduser()
    if path.is_dir():
        path = path / PICTURE
    elif not path.suffix:
        path = path.with_name(path.name + ".png")
    elif path.suffix.lower() != ".png":
        raise ValueError(f"output {str(output)!r} is not a PNG file name; the picture is a PNG: "
                         "give a name ending in .png, or a folder.")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"the folder {str(folder)!r} of output does not exist; create it, or "
                         "give a file in an existing folder.")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"the folder {str(folder)!r} of output is not writable; give another.")
    return path.resolve()


def _estimators(seed):
    from . import LightSBTransport, SinkhornBridge

    return {"lightsb": (LightSBTransport(random_state=seed), {"n_components": COMPONENTS}),
            "sinkhorn": (SinkhornBridge(), {})}


def _choose(estimator, grid, X, y):
    """GridSearchCV with LeaveOneSnapshotOut on the days of TRAIN_DAYS; the search and its rate."""
    import warnings

    from sklearn.model_selection import GridSearchCV

    from .model_selection import LeaveOneSnapshotOut

    grid = {"epsilon": [rate * TRAIN_SPAN for rate in RATES], **grid}
    search = GridSearchCV(estimator, grid, cv=LeaveOneSnapshotOut(), refit=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits on a coarse grid need not converge
        search.fit(X, y)
    return search, search.best_params_["epsilon"] / TRAIN_SPAN


def demo(output=PICTURE, estimator="lightsb", seed=0):
    """Predict the unmeasured day 3 of the embedded MSCI time course; print a table, plot.

    Parameters
    ----------
    output : str or Path, default="skschrodinger_demo.png"
        Where the picture goes (:func:`picture_path`), checked before any fit.
    estimator : {"lightsb", "sinkhorn"}, default="lightsb"
        The bridge whose epsilon is chosen and whose paths are drawn.
    seed : int, default=0
        Seeds the fits and the draws.

    Returns
    -------
    dict
        ``{"chosen": ..., "rows": [(name, half energy distance, fit seconds), ...]}``.
    """
    from sklearn.base import clone

    from .datasets import load_msci
    from .metrics import half_energy_distance

    output = picture_path(output)
    started = time.perf_counter()
    X_all, y_all = load_msci()
    days = {day: X_all[y_all == day] for day in (2, 3, 4, 7)}
    seen = np.isin(y_all, TRAIN_DAYS)
    scale = X_all[seen].std(axis=0).mean()  # day 3 takes no part, not even in the units
    X, y = X_all[seen] / scale, y_all[seen]
    models = _estimators(seed)
    chosen_model, grid = models[estimator]
    search, rate = _choose(chosen_model, grid, X, y)
    params = {key: value for key, value in search.best_params_.items() if key != "epsilon"}
    pair = np.isin(y, (START, END))
    truth = days[PREDICTED]
    rows, fitted = [], {}
    for name in ((estimator,) + tuple(e for e in ESTIMATORS if e != estimator)):
        model = clone(models[name][0]).set_params(epsilon=rate * (END - START),
                                                  **(params if name == estimator else {}))
        start = time.perf_counter()
        model.fit(X[pair], y[pair])
        seconds = time.perf_counter() - start
        predicted = model.sample_at(days[START] / scale, float(PREDICTED), random_state=seed)
        rows.append((f"{type(model).__name__}, predicted day {PREDICTED}",
                     half_energy_distance(predicted * scale, truth, unbiased=True), seconds))
        fitted[name] = (model, predicted * scale)
    for day in (START, END):
        rows.append((f"day-{day} cells as they are (baseline)",
                     half_energy_distance(days[day], truth, unbiased=True), 0.0))
    chosen = {"rate per day": rate, **params}
    _print_table(chosen, rows, len(truth), time.perf_counter() - started)
    result = {"chosen": chosen, "rows": rows}
    try:
        import matplotlib
    except ImportError:
        print('no plot: matplotlib is not installed (pip install "skschrodinger[examples]")')
        return result
    matplotlib.use("Agg")
    _plot(output, days, fitted[estimator], search, rate, scale, seed)
    print(f"picture written to {output}")
    return result


def _print_table(chosen, rows, cells_per_day, seconds):
    print(f"MSCI CITE-seq, 50 PCs, {cells_per_day} cells per day (embedded subsample).")
    print(f"Chosen by LeaveOneSnapshotOut on days {', '.join(map(str, TRAIN_DAYS))} "
          f"(day {PREDICTED} unseen): " + ", ".join(
              f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}"
              for key, value in chosen.items()))
    print(f"Day {PREDICTED} predicted from day {START} by the bridge {START} -> {END}; "
          "distance to the real day-3 cells (half energy distance, U-statistic, PCA units; "
          "lower is better):")
    width = max(len(name) for name, _, _ in rows)
    print(f"  {'':<{width}}  distance  fit s")
    for name, distance, fit_seconds in rows:
        print(f"  {name:<{width}}  {distance:8.3f}  {fit_seconds:5.1f}"
              if fit_seconds else f"  {name:<{width}}  {distance:8.3f}      -")
    print(f"({seconds:.0f} s in all, numba compilation included)")


def _plot(output, days, fitted, search, rate, scale, seed):
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    model, predicted = fitted
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    colours = {2: "tab:blue", 3: "tab:green", 4: "tab:orange"}
    low, high = np.percentile(np.vstack([days[d][:, :2] for d in (2, 3, 4)]), [1, 99], axis=0)
    grid = np.meshgrid(np.linspace(low[0], high[0], 80), np.linspace(low[1], high[1], 80))
    points = np.vstack([grid[0].ravel(), grid[1].ravel()])

    ax = axes[0]
    for day in (2, 4):
        ax.scatter(*days[day][:, :2].T, s=2, alpha=0.15, color=colours[day], label=f"day {day}")
    for cells, style in ((days[3], dict(colors=colours[3], linewidths=1.8)),
                         (predicted, dict(colors="black", linestyles="dashed", linewidths=1.2))):
        density = gaussian_kde(cells[:, :2].T)(points).reshape(grid[0].shape)
        ax.contour(*grid, density, levels=np.linspace(0.15, 0.9, 4) * density.max(), **style)
    ax.plot([], [], color=colours[3], lw=1.8, label="day 3, real (density)")
    ax.plot([], [], color="black", ls="--", lw=1.2, label="day 3, predicted")
    ax.set(title="The unmeasured day: real and predicted day 3", xlabel="PC 1", ylabel="PC 2",
           xlim=(low[0], high[0]), ylim=(low[1], high[1]))
    ax.legend(markerscale=5, fontsize=8, loc="upper right")

    ax = axes[1]
    for day in (2, 3, 4):
        ax.scatter(*days[day][:, :2].T, s=2, alpha=0.1, color=colours[day])
    times = np.linspace(START, END, 21)
    paths = model.sample_trajectory(days[START][:30] / scale, times=times,
                                    random_state=seed) * scale
    predicted_step = int(np.argmin(np.abs(times - PREDICTED)))
    for path in paths:
        ax.plot(*path[:, :2].T, color="0.25", lw=0.7, alpha=0.7)
    ax.scatter(*paths[:, 0, :2].T, s=14, color=colours[2], edgecolor="k", lw=0.3, zorder=3,
               label="start (day 2)")
    ax.scatter(*paths[:, predicted_step, :2].T, s=14, color=colours[3], edgecolor="k", lw=0.3,
               zorder=3, label="day 3")
    ax.scatter(*paths[:, -1, :2].T, s=14, color=colours[4], edgecolor="k", lw=0.3, zorder=3,
               label="day 4")
    ax.set(title=f"Paths of day-2 cells ({type(model).__name__})", xlabel="PC 1",
           ylabel="PC 2", xlim=(low[0], high[0]), ylim=(low[1], high[1]))
    ax.legend(fontsize=8, loc="upper right")

    ax = axes[2]
    results = search.cv_results_
    rates = np.array(results["param_epsilon"], dtype=float) / TRAIN_SPAN
    # one curve per value of the other parameter (LightSB's n_components), if any
    other = next((key for key in results if key.startswith("param_") and key != "param_epsilon"),
                 None)
    labels = np.asarray(results[other]) if other else np.zeros(len(rates), int)
    for value in np.unique(labels):
        rows = labels == value
        order = np.argsort(rates[rows])
        ax.plot(rates[rows][order], -results["mean_test_score"][rows][order], marker="o",
                label=f"K = {value}" if other else "")
    ax.axvline(rate, color="0.6", ls=":")
    ax.set(xscale="log", xlabel="reference variance per day (rate)",
           ylabel="energy distance to the held-out day 4",
           title="Choosing epsilon without day 3:\npredict day 4 from day 2 (chain 2 -> 7)")
    if other:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)


def synthetic_demo(output=PICTURE, n_samples=2000, epsilon=0.5, seed=0):
    """Fit a Gaussian bridge with a closed-form answer, print the errors, plot; return them.

    ``output`` is checked first, as in :func:`demo`.
    """
    from . import LightSBTransport
    from .datasets import make_gaussian_bridge
    from .metrics import energy_distance

    output = picture_path(output)
    X, y, bridge = make_gaussian_bridge(n_samples, 2, epsilon=epsilon, random_state=seed)
    model = LightSBTransport(epsilon=epsilon, n_components=1, covariance_type="full",
                             random_state=seed)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start

    source = X[y == 0]
    fresh_source = bridge.sample_source(n_samples, random_state=seed + 1)
    link = model.potentials_[0]
    mid = model.sample_trajectory(fresh_source, times=[0.5], random_state=seed)[:, 0]
    mid_mean, mid_cov = bridge.marginal(0.5)
    exact_end = bridge.sample_conditional(fresh_source, random_state=seed + 2)
    metrics = {
        "fit seconds (incl. first-call numba load)": seconds,
        "max |slope - exact|": np.abs(link.covariances[0] - bridge.slope).max(),
        "max |cond. cov - exact|": np.abs(epsilon * link.covariances[0]
                                          - bridge.conditional_covariance).max(),
        "max |mean at t=1/2 - exact|": np.abs(mid.mean(axis=0) - mid_mean).max(),
        "max |cov at t=1/2 - exact|": np.abs(np.cov(mid.T) - mid_cov).max(),
        "energy distance (model vs exact endpoints)": energy_distance(
            model.sample(fresh_source, random_state=seed), exact_end),
        "energy distance (identity vs exact endpoints)": energy_distance(
            fresh_source, exact_end),
    }
    print(f"LightSB on a 2-D Gaussian bridge with known answer "
          f"(n={n_samples} per snapshot, epsilon={epsilon}):")
    for name, value in metrics.items():
        print(f"  {name:<48} {value:10.4f}")
    try:
        import matplotlib
    except ImportError:
        print('no plot: matplotlib is not installed (pip install "skschrodinger[examples]")')
        return metrics
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = model.sample_trajectory(source[:40], n_steps=60, random_state=seed)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.scatter(*X[y == 0].T, s=3, alpha=0.25, color="tab:blue", label="source (t=0)")
    ax.scatter(*X[y == 1].T, s=3, alpha=0.25, color="tab:orange", label="target (t=1)")
    for path in paths:
        ax.plot(*path.T, color="0.2", lw=0.6, alpha=0.6)
    ax.scatter(*paths[:, -1].T, s=14, color="tab:red", zorder=3, label="sampled endpoints")
    ax.set_title(f"LightSB bridge trajectories (epsilon={epsilon})")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)
    print(f"trajectory plot written to {output}")
    return metrics


def _argument(check):
    """An argparse ``type`` from a check that raises ValueError: an argparse error instead."""
    def convert(value):
        try:
            return check(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    convert.__name__ = check.__name__
    return convert


def _seed(value):
    """An integer seed from 0 to LARGEST_SEED, or a ValueError saying so."""
    try:
        seed = int(value)
    except ValueError:
        seed = None
    if seed is None or not 0 <= seed <= LARGEST_SEED:
        raise ValueError(f"the seed must be an integer from 0 to {LARGEST_SEED}, got {value!r}.")
    return seed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skschrodinger", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "demo", help="predict an unmeasured day of a single-cell time course (the main job)",
        description="Choose epsilon by leaving a day out, predict the unmeasured day 3 of the "
                    "embedded MSCI time course, print the distances, write a picture. The "
                    "options are checked before any work starts.")
    run.add_argument("--output", type=_argument(picture_path), default=PICTURE,
                     help=f"the PNG picture to write (default: {PICTURE} in the current "
                          "folder): a file name (.png is added to a name without a suffix), "
                          f"or an existing folder, to write {PICTURE} in it; its folder must "
                          "exist. The path written is printed")
    run.add_argument("--estimator", choices=ESTIMATORS, default="lightsb",
                     help="the bridge whose epsilon is chosen and whose paths are drawn")
    run.add_argument("--seed", type=_argument(_seed), default=0,
                     help=f"seeds the fits and the draws: an integer from 0 to {LARGEST_SEED}")
    run.add_argument("--synthetic", action="store_true",
                     help="instead, the quick self-test on a Gaussian bridge with a known answer")
    args = parser.parse_args(argv)
    if args.synthetic:
        synthetic_demo(args.output, seed=args.seed)
    else:
        demo(args.output, args.estimator, args.seed)


if __name__ == "__main__":
    main()
