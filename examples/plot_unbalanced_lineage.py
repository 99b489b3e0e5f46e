"""
Unbalanced SinkhornBridge: growth keeps lineages apart
======================================================

Two progenitor populations, A and B, are measured at day 0 in equal numbers
(:func:`~skschrodinger.datasets.make_lineage`). By day 1, 70 % of A's
descendants have become A1 and 30 % A2, while B (now B1) has tripled its
mass because its cells divide: B1 makes up 75 % of the day-1 cells. A
balanced bridge must carry each day's mass exactly onto the other's, so it
sends about half of A to B1, a lineage A never enters. An unbalanced bridge
with a penalty ``tau_a`` on the day-0 marginal lets day-0 cells gain or
lose mass (divide or die) while every day-1 cell is still accounted for
(``tau_b=None``), so it lets B's cells grow instead and keeps the lineages
apart.

Top row: sampled day-0 → day-1 trajectories (``sample_trajectory``) of the
balanced bridge (left) and the unbalanced one (middle), blue from A and
orange from B; the titles give the share of A's descendants that lands in
B1 (``push``). Top right: the unbalanced bridge's growth rates
(``growth_rates_[0]``, the mass each day-0 cell sends to day 1 per unit of
its own): B's cells grow three times as much as A's on average, the true
ratio; within a class the growth varies with the cell's position (cells
nearer the day-1 clusters are credited more). Bottom row: the transition
matrices (``transition_matrix``, the fraction of each day-0 class's
descendants in each day-1 class) of both bridges and the true one,
``lineage.transitions``. The unbalanced bridge recovers the 70/30 split and
sends nothing across. (With a penalty on the day-1 side as well,
``tau_b=1``, it also keeps the lineages apart, but may shrink B1 as well as
grow B: the growth ratio drops to about 2.) A penalty ``tau`` is POT's
``reg_m = 2 tau`` and moscot's or OTT-JAX's ``tau / (tau + epsilon)``.
"""

import matplotlib.pyplot as plt
import numpy as np

from skschrodinger import SinkhornBridge
from skschrodinger.datasets import make_lineage

X, y, labels, lineage = make_lineage(1000, growth=(1.0, 3.0), random_state=0)
day0, day1 = X[y == 0], X[y == 1]
labels0, labels1 = labels[y == 0], labels[y == 1]
is_a = labels0 == "A"

models = {
    "balanced": SinkhornBridge(epsilon=0.1).fit(X, y),
    "unbalanced, τ_a = 1": SinkhornBridge(epsilon=0.1, tau_a=1.0).fit(X, y),
}

class_colours = {"A": "tab:blue", "B": "tab:orange",
                 "A1": "#08519c", "A2": "#6baed6", "B1": "#d94801"}
centres = {"A": (-2.0, -0.95), "B": (2.0, -0.95),
           "A1": (-3.0, 2.95), "A2": (-1.0, 2.95), "B1": (2.0, 2.95)}
rng = np.random.default_rng(0)
starts = np.concatenate([rng.choice(np.flatnonzero(is_a), 40, replace=False),
                         rng.choice(np.flatnonzero(~is_a), 40, replace=False)])


def draw_cells(ax):
    """Both snapshots, faint, coloured by class, with the class names."""
    for cells, names in ((day0, labels0), (day1, labels1)):
        for name in np.unique(names):
            ax.scatter(*cells[names == name].T, s=3, alpha=0.25, color=class_colours[name])
    for name, (x, z) in centres.items():
        ax.text(x, z, name, ha="center", va="center", fontsize=11, fontweight="bold",
                color=class_colours[name])
    ax.set_ylim(-1.3, 3.3)
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2 (day 0 below, day 1 above)")
    ax.set_aspect("equal")


def draw_matrix(ax, matrix, title):
    """A transition matrix as a heatmap, rows A, B and columns A1, A2, B1, annotated."""
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    for (row, column), value in np.ndenumerate(matrix):
        ax.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=13,
                color="white" if value > 0.6 else "black")
    if matrix[0, 2] > 0.01:  # A's mass sent to B1: the wrong lineage
        ax.add_patch(plt.Rectangle((1.5, -0.5), 1, 1, fill=False, ec="tab:red", lw=3))
        ax.text(2, -0.3, "wrong lineage", ha="center", va="center", color="tab:red",
                fontsize=9)
    ax.set_xticks(range(3), lineage.target_classes)
    ax.set_yticks(range(2), lineage.source_classes)
    ax.set_xlabel("day-1 class")
    ax.set_ylabel("day-0 class")
    ax.set_title(title)


fig, axes = plt.subplots(2, 3, figsize=(13, 7.6))
for column, (name, model) in enumerate(models.items()):
    ax = axes[0, column]
    draw_cells(ax)
    paths = model.sample_trajectory(day0[starts], n_steps=40, random_state=0)
    for path, start in zip(paths, starts):
        ax.plot(*path.T, lw=0.7, alpha=0.6, color="tab:blue" if is_a[start] else "tab:orange")
    into_b1 = model.push(is_a)[labels1 == "B1"].sum()
    ax.set_title(f"{name}: trajectories\n{into_b1:.0%} of A's descendants land in B1")
    matrix = model.transition_matrix(labels0, labels1)
    draw_matrix(axes[1, column], matrix, f"{name}: transition_matrix")
draw_matrix(axes[1, 2], lineage.transitions, "true transitions (lineage.transitions)")

ax = axes[0, 2]
growth = models["unbalanced, τ_a = 1"].growth_rates_[0]
bins = np.geomspace(growth.min(), growth.max(), 30)
for name in lineage.source_classes:
    rates = growth[labels0 == name]
    colour = class_colours[name]
    ax.hist(rates, bins=bins, histtype="stepfilled", alpha=0.35, color=colour)
    ax.hist(rates, bins=bins, histtype="step", lw=1.5, color=colour)
    ax.axvline(rates.mean(), color=colour, ls="--", lw=2)
    side = "left" if name == "B" else "right"  # each label on the outer side of its line
    ax.text(rates.mean(), 0.97, f" {name}: mean {rates.mean():.2f} ", color=colour, fontsize=10,
            transform=ax.get_xaxis_transform(), va="top", ha=side)
ax.set_xscale("log")
ax.set_ylim(top=1.2 * ax.get_ylim()[1])
ax.set_box_aspect(0.62)
ax.set_xlabel("growth rate: mass a cell sends to day 1 (log scale)")
ax.set_ylabel("day-0 cells")
ratio = growth[~is_a].mean() / growth[is_a].mean()
ax.set_title(f"unbalanced: growth_rates_[0]\nmean B / mean A = {ratio:.1f} "
             f"(true growth ratio {lineage.growth[1] / lineage.growth[0]:.0f})")

fig.suptitle("Two progenitors, one splitting 70/30, the other tripling: "
             "balanced vs unbalanced SinkhornBridge")
fig.tight_layout()
plt.show()
