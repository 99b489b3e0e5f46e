"""Smooth minimisers for losses with analytic gradients: L-BFGS and Adam."""

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, minimize

ADAM_BETAS = (0.9, 0.999)
ADAM_STABILITY = 1e-8
N_PERIODS_NO_CHANGE = 10
"""Adam stops once the loss of a period has not improved by ``tol`` for this many periods."""
MIN_PERIOD_STEPS = 100
"""Adam's stopping rule compares mean losses over whole epochs of at least this many steps."""


@dataclass
class SolverResult:
    theta: np.ndarray
    n_iter: int
    converged: bool
    loss_curve: list = field(default_factory=list)


def _log(verbose, prefix, n_iter, loss, every):
    if verbose and (verbose > 1 or n_iter % every == 0):
        print(f"{prefix}iteration {n_iter:5d}  loss {loss:.6f}", flush=True)


def minimize_lbfgs(fun, theta0, *, bounds, max_iter, tol, verbose=0, prefix=""):
    """Full-batch L-BFGS (scipy's L-BFGS-B) with an analytic gradient.

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (loss, gradient)``.
    theta0 : ndarray
    bounds : tuple of ndarray
        (lower, upper) of each entry of theta, infinite where it is free.
    max_iter : int
    tol : float or None
        Stops when the relative decrease of the loss over one iteration,
        ``(L_k - L_{k+1}) / max(|L_k|, |L_{k+1}|, 1)``, or the largest
        gradient component falls below ``tol``. None: run until ``max_iter``
        (or until the line search can make no progress).
    """
    curve = []

    def record(intermediate_result):
        curve.append(float(intermediate_result.fun))
        _log(verbose, prefix, len(curve), curve[-1], 10)

    tol = 0.0 if tol is None else tol
    result = minimize(
        fun, np.clip(theta0, *bounds), jac=True, method="L-BFGS-B", callback=record,
        bounds=Bounds(*bounds), options={"maxiter": max_iter, "ftol": tol, "gtol": tol,
                                         "maxcor": 20},
    )
    return SolverResult(result.x, int(result.nit), result.status == 0, curve)


class AdamState:
    """The moments and step count of Adam (Kingma & Ba), beta = (0.9, 0.999), on a box.

    Kept between calls, so that a fit can go on in several calls (``partial_fit``).

    Parameters
    ----------
    theta : ndarray
        The starting point (projected onto the box).
    bounds : tuple of ndarray
        (lower, upper) of each entry of theta.
    """

    def __init__(self, theta, bounds):
        self.bounds = bounds
        self.theta = np.clip(theta, *bounds)
        self.first = np.zeros_like(self.theta)
        self.second = np.zeros_like(self.theta)
        self.steps = 0

    def copy(self):
        """An independent copy (its steps leave this state unchanged)."""
        state = AdamState(self.theta.copy(), self.bounds)
        state.first, state.second, state.steps = self.first.copy(), self.second.copy(), self.steps
        return state

    def step(self, grad, learning_rate):
        """One projected Adam step along ``grad``; returns the new theta."""
        beta1, beta2 = ADAM_BETAS
        self.steps += 1
        self.first = beta1 * self.first + (1.0 - beta1) * grad
        self.second = beta2 * self.second + (1.0 - beta2) * grad * grad
        step_size = (learning_rate * np.sqrt(1.0 - beta2**self.steps)
                     / (1.0 - beta1**self.steps))
        self.theta = np.clip(self.theta - step_size * self.first
                             / (np.sqrt(self.second) + ADAM_STABILITY), *self.bounds)
        return self.theta


def minimize_adam(fun, theta0, draw_batch, *, bounds, max_iter, learning_rate, tol,
                  steps_per_epoch, verbose=0, prefix=""):
    """Minibatch Adam (Kingma & Ba) with the usual defaults beta = (0.9, 0.999).

    Each step is projected onto the box ``bounds``.

    Parameters
    ----------
    fun : callable
        ``fun(theta, batch) -> (loss, gradient)``.
    draw_batch : callable
        ``draw_batch() -> batch``, a fresh minibatch.
    bounds : tuple of ndarray
        (lower, upper) of each entry of theta.
    max_iter : int
        Number of Adam steps.
    tol : float or None
        Stops once the mean minibatch loss of a period (whole epochs of
        ``steps_per_epoch`` steps, at least ``MIN_PERIOD_STEPS`` steps) has
        not improved on the best period by ``tol * max(|best|, 1)`` for 10
        periods. A minibatch loss is noisy: compared over a few steps, a
        lucky batch sets a best that a still-falling loss does not beat for
        10 comparisons, and the fit stops far from its optimum. None runs
        exactly ``max_iter`` steps.

    Returns
    -------
    SolverResult
        ``loss_curve`` holds the mean minibatch loss of each epoch.
    """
    state = AdamState(theta0, bounds)
    period = steps_per_epoch * -(-MIN_PERIOD_STEPS // steps_per_epoch)
    curve, epoch_losses, period_losses = [], [], []
    best, stale = np.inf, 0
    for step in range(1, max_iter + 1):
        loss, grad = fun(state.theta, draw_batch())
        state.step(grad, learning_rate)
        epoch_losses.append(loss)
        period_losses.append(loss)
        if len(epoch_losses) == steps_per_epoch or step == max_iter:
            curve.append(float(np.mean(epoch_losses)))
            epoch_losses = []
            _log(verbose, prefix, step, curve[-1], 10 * steps_per_epoch)
        if tol is not None and len(period_losses) == period:
            mean = float(np.mean(period_losses))
            period_losses = []
            if best == np.inf or mean < best - tol * max(abs(best), 1.0):
                best, stale = mean, 0
            else:
                stale += 1
            if stale >= N_PERIODS_NO_CHANGE:
                return SolverResult(state.theta, step, True, curve)
    return SolverResult(state.theta, max_iter, False, curve)
