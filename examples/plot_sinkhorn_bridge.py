"""
SinkhornBridge: the entropic map and its bridges, Gaussian → two moons
======================================================================

The discrete entropic OT plan between 2 000 Gaussian points and 2 000 points
on two moons, solved by the numba Sinkhorn, is extended to new points by the
entropic map. Left: the deterministic ``transform`` (the conditional mean)
of a grid of new source points, coloured by their position, lands inside the
moons for small ε and shrinks towards the target's mean as ε grows. Right:
sampled bridge trajectories, ending on target sample points.
"""

import matplotlib.pyplot as plt
import numpy as np

from skschrodinger import SinkhornBridge
from skschrodinger.datasets import make_toy_pair

X, y = make_toy_pair("gaussian", "moons", n_samples=2000, random_state=0)
source, target = X[y == 0], X[y == 1]
grid = np.stack(np.meshgrid(np.linspace(-2, 2, 25), np.linspace(-2, 2, 25)), -1).reshape(-1, 2)
colours = np.arctan2(grid[:, 1], grid[:, 0])

epsilons = [0.01, 0.1, 1.0]
fig, axes = plt.subplots(2, 3, figsize=(13, 8.5), sharex=True, sharey=True)
for column, epsilon in enumerate(epsilons):
    model = SinkhornBridge(epsilon=epsilon, max_iter=5000).fit(X, y)
    top, bottom = axes[0, column], axes[1, column]
    top.scatter(*target.T, s=2, alpha=0.15, color="tab:orange")
    top.scatter(*model.transform(grid).T, s=8, c=colours, cmap="twilight")
    top.set_title(f"ε = {epsilon}: transform(grid)\n{model.link_n_iter_[0]} Sinkhorn iterations")
    paths = model.sample_trajectory(source[:80], n_steps=60, random_state=0)
    bottom.scatter(*source.T, s=2, alpha=0.15, color="tab:blue")
    bottom.scatter(*target.T, s=2, alpha=0.15, color="tab:orange")
    for path in paths:
        bottom.plot(*path.T, color="0.15", lw=0.6, alpha=0.7)
    bottom.scatter(*paths[:, -1].T, s=10, color="tab:red", zorder=3)
    bottom.set_title("sample_trajectory")
for ax in axes.ravel():
    ax.set_aspect("equal")
fig.suptitle("SinkhornBridge: Gaussian → two moons")
fig.tight_layout()
plt.show()
