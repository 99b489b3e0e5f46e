"""Command line: ``python -m skschrodinger demo``.

The demo fits a LightSB bridge between two Gaussians whose Schrödinger bridge
is known in closed form, prints the fitted quantities against the exact ones,
and writes a picture of sampled trajectories.
"""

import argparse
from pathlib import Path
import time

import numpy as np


def demo(output="skschrodinger_demo.png", n_samples=2000, epsilon=0.5, seed=0):
    """Fit, compare with the closed form, plot; return the metrics as a dict."""
    from . import LightSBTransport
    from .datasets import make_gaussian_bridge
    from .metrics import energy_distance

    X, y, bridge = make_gaussian_bridge(n_samples, 2, epsilon=epsilon, random_state=seed)
    model = LightSBTransport(epsilon=epsilon, n_components=1, covariance_type="full",
                             random_state=seed)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start

    source = X[y == 0]
    fresh_source = bridge.sample_source(n_samples, random_state=seed + 1)
    link = model.potentials_[0]
    slope_error = np.abs(link.covariances[0] - bridge.slope).max()
    cond_cov_error = np.abs(epsilon * link.covariances[0] - bridge.conditional_covariance).max()
    mid = model.sample_trajectory(fresh_source, times=[0.5], random_state=seed)[:, 0]
    mid_mean, mid_cov = bridge.marginal(0.5)
    exact_end = bridge.sample_conditional(fresh_source, random_state=seed + 2)
    metrics = {
        "fit seconds (incl. first-call numba load)": seconds,
        "max |slope - exact|": slope_error,
        "max |cond. cov - exact|": cond_cov_error,
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
    print(f"trajectory plot written to {Path(output).resolve()}")
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skschrodinger", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="fit a bridge with a known answer and plot it")
    run.add_argument("--output", default="skschrodinger_demo.png")
    run.add_argument("--n-samples", type=int, default=2000)
    run.add_argument("--epsilon", type=float, default=0.5)
    run.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    demo(args.output, args.n_samples, args.epsilon, args.seed)


if __name__ == "__main__":
    main()
