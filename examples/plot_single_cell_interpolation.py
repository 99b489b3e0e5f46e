"""
Single-cell time course: choose ε by leaving a day out, then follow the cells
=============================================================================

Cells are measured at days 2, 3, 4 and 7. Which ε (the variance of the
reference Brownian motion) and how many mixture components K should the
bridge have? Matching the measured days does not tell: every ε matches
them. A day the model did not see does:
:class:`~skschrodinger.LeaveOneSnapshotOut` holds out day 3 (fitting the
chain 2 → 4 → 7) and then day 4 (2 → 3 → 7), and the default score
predicts the held-out day from the cells of the day before it
(``sample_trajectory(..., start_time=...)``) and compares by energy distance.
``GridSearchCV`` over ε and K with that splitter is the whole recipe.

The left panel is the cross-validation curve: the energy distance of the
interpolated days against ε, one line per K. The middle panel is the refitted
chain through all four days: paths of day-2 cells, drawn through the
measured days. The right panel checks the chosen model on each held-out day
against two baselines, the cells of the days before and after it.

The data are the MSCI CITE-seq principal components of the LightSB benchmark,
as the package ships them (:func:`~skschrodinger.datasets.load_msci` with no
argument: 1 500 cells per day, 50 components), divided by their mean
per-feature standard deviation. Set ``SKSCHRODINGER_DATA`` to the folder of
the full arrays to run it on 1 500 cells drawn from all of them instead.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skschrodinger import LeaveOneSnapshotOut, LightSBTransport
from skschrodinger.datasets import load_msci
from skschrodinger.metrics import energy_distance

DAYS = (2, 3, 4, 7)
CELLS_PER_DAY = 1500
rng = np.random.RandomState(0)
folder = os.environ.get("SKSCHRODINGER_DATA")
if folder:
    X_all, y_all = load_msci(Path(folder), dim=50, days=DAYS)
    keep = np.concatenate([rng.choice(np.flatnonzero(y_all == day), CELLS_PER_DAY, replace=False)
                           for day in DAYS])
    X_all, y_all = X_all[keep], y_all[keep]
    source_name = "MSCI CITE-seq, 50 PCs (cells drawn from the full arrays)"
else:
    X_all, y_all = load_msci()
    source_name = "MSCI CITE-seq, 50 PCs (the package's 1 500 cells per day)"
X, y = X_all / X_all.std(axis=0).mean(), y_all
grid = {"epsilon": [0.08, 0.25, 0.8, 2.5, 8.0], "n_components": [5, 20]}

search = GridSearchCV(LightSBTransport(random_state=0), grid,
                      cv=LeaveOneSnapshotOut()).fit(X, y)
model = search.best_estimator_  # refitted on all four days
print(f"data: {source_name}")
print(f"chosen: {search.best_params_}  (rate {model.epsilon_per_unit_time_:.3g} per day)")

# %%
# The chosen model on each held-out day, beside the neighbouring days as predictions.
checks, predictions = {}, {}
for train, test in LeaveOneSnapshotOut().split(X, y):
    held_out = np.setdiff1d(np.unique(y), np.unique(y[train]))[0]
    before = DAYS[DAYS.index(held_out) - 1]
    after = DAYS[DAYS.index(held_out) + 1]
    fold_model = clone(search.best_estimator_).fit(X[train], y[train])
    predictions[held_out] = fold_model.sample_at(X[y == before], held_out, start_time=before,
                                                 random_state=1)
    checks[held_out] = [energy_distance(predictions[held_out], X[y == held_out]),
                        energy_distance(X[y == before], X[y == held_out]),
                        energy_distance(X[y == after], X[y == held_out])]
    print(f"day {held_out:g} held out: bridge {checks[held_out][0]:.3f}, day {before} cells "
          f"{checks[held_out][1]:.3f}, day {after} cells {checks[held_out][2]:.3f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
ax = axes[0]
results = search.cv_results_
for K in grid["n_components"]:
    rows = np.flatnonzero(np.array(results["param_n_components"]) == K)
    epsilons = np.array(results["param_epsilon"])[rows].astype(float)
    order = np.argsort(epsilons)
    line, = ax.plot(epsilons[order], -results["mean_test_score"][rows][order], marker="o",
                    label=f"K = {K}")
    for split, style in ((0, ":"), (1, "--")):
        ax.plot(epsilons[order], -results[f"split{split}_test_score"][rows][order], style,
                color=line.get_color(), linewidth=0.8, alpha=0.6)
best = search.best_params_
ax.scatter([best["epsilon"]], [-search.best_score_], s=200, facecolor="none",
           edgecolor="black", linewidth=2, zorder=5, label="chosen")
ax.set_xscale("log")
ax.set_xlabel("epsilon (total over days 2 to 7)")
ax.set_ylabel("energy distance to the held-out day")
ax.set_title("CV curve: mean (solid), day 3 (:), day 4 (--)")
ax.legend(fontsize=8)

ax = axes[1]
centre = X.mean(axis=0)
basis = np.linalg.svd(X - centre, full_matrices=False)[2][:2].T
project = lambda Z: (Z - centre) @ basis  # noqa: E731
colours = dict(zip(DAYS, ["tab:blue", "tab:green", "tab:orange", "tab:red"]))
for day in DAYS:
    ax.scatter(*project(X[y == day]).T, s=2, alpha=0.12, color=colours[day])
starts = X[y == 2][rng.choice(np.sum(y == 2), 12, replace=False)]
for path in model.sample_trajectory(starts, times=np.linspace(2, 7, 51), random_state=2):
    ax.plot(*project(path).T, color="black", linewidth=0.6, alpha=0.5)
means = np.array([project(X[y == day]).mean(axis=0) for day in DAYS])
ax.plot(*means.T, color="black", linewidth=2.5)
for day, mean in zip(DAYS, means):
    ax.scatter(*mean, s=120, color=colours[day], edgecolor="black", zorder=5,
               label=f"day {day} (mean)")
ax.set_title("paths of day-2 cells through the refitted chain")
ax.set_xlabel("principal axis 1")
ax.set_ylabel("principal axis 2")
ax.legend(fontsize=8, loc="best")

ax = axes[2]
width = 0.27
labels = ["bridge (chosen model, day not seen)", "cells of the day before",
          "cells of the day after"]
for j, (label, colour) in enumerate(zip(labels, ["tab:purple", "tab:gray", "silver"])):
    ax.bar(np.arange(len(checks)) + width * (j - 1), [values[j] for values in checks.values()],
           width, color=colour, label=label)
ax.set_xticks(range(len(checks)), [f"day {day:g} held out" for day in checks])
ax.set_ylabel("energy distance to the real day (lower is better)")
ax.set_title(f"epsilon = {best['epsilon']:g}, K = {best['n_components']}")
ax.legend(fontsize=8)
fig.suptitle(f"Choosing epsilon and K from a time course: {source_name}")
fig.tight_layout()
plt.show()
