"""The unbalanced LightSB model: the light parameterisation of unbalanced entropic OT.

Gazdieva, Asadulaev, Burnaev, Korotin, "Light Unbalanced Optimal Transport"
(NeurIPS 2024). Unbalanced entropic OT between mu and nu relaxes the marginal
constraints into penalties::

    min_{gamma >= 0}  int C dgamma + eps KL(gamma | R)
                      + tau_a KL(gamma_x | mu) + tau_b KL(gamma_y | nu)

with C = ||x - y||^2 / 2 and generalised KL divergences. Its dual is a
maximum over potentials (F, G) of
``-eps (m - 1) - tau_a int (e^{-F / tau_a} - 1) dmu - tau_b int (e^{-G / tau_b} - 1) dnu``,
m the plan's mass; the plan is gamma = exp((F + G - C) / eps) R and its
marginals at the optimum are gamma_x = e^{-F / tau_a} mu and
gamma_y = e^{-G / tau_b} nu. The light parameterisation writes the plan
in Lebesgue form, gamma(x, y) = exp((f(x) + g(y) - C(x, y)) / eps), with
LightSB's adjusted potential v (so the conditional law gamma(y | x) is
LightSB's Gaussian mixture) and a Gaussian mixture m u for the first marginal::

    g(y) = eps log v(y) + ||y||^2 / 2
    f(x) = eps (log m u(x) - log c(x)) + ||x||^2 / 2       (so int gamma dy = m u(x))

and the loss to minimise is minus the dual, an expectation over the samples
alone (no inner maximisation), with analytic gradients; divided by eps, so
that its balanced limit is on LightSB's scale (the solvers' tolerances are
relative to max(|L|, 1))::

    L = m + sum_i a_i (tau_a / eps) expm1(-F_i / tau_a)
          + sum_j b_j (tau_b / eps) expm1(-G_j / tau_b)

Reference measure. The paper's R is the Lebesgue measure, for which the
problem changes when the data's units do (the entropy of a density is not
scale-free). Here R = N_0 (x) N_1, the diagonal Gaussian fits of the two
snapshots: then KL(gamma | R) is invariant to any affine change of each
coordinate, the problem to translating the data and to scaling it with eps
and tau by s^2, and for Gaussian snapshots it is exactly the problem of
``empirical_sinkhorn`` with tau_a, tau_b (entropy relative to mu (x) nu). In
the fit's coordinates (each snapshot centred at its mean, both divided by
their pooled scale, a shift delta between the two means in scaled units)
the potentials of the problem are the Lebesgue-form ones plus fixed
per-point terms::

    F(x) = f(x) + <x, delta> + ||delta||^2 / 2 - eps log N_0(x)
    G(y) = g(y) - <y, delta> - eps log N_1(y)

As tau_a, tau_b -> inf, e^{-F / tau} -> 1 and the loss becomes LightSB's
loss plus the negative log-likelihood of u, with m = 1, up to constants: the
balanced LightSB bridge.

Levels. A common shift of log alpha and one of log beta (the scales of the
two mixtures' weights) move F and G by constants, which the loss sees
exponentially; its minimum over them is closed form
(:meth:`UnbalancedParameterisation.level_shifts`). Full-batch fits minimise
the loss with the levels there (:meth:`UnbalancedParameterisation.loss_and_gradient`):
a sum of soft minima of F and G, which grows linearly where the loss grows as
exp(-F / tau), so that at small tau the line search meets no exponential
cliff. Minibatch Adam follows the loss itself, an unbiased average over rows.
"""

from typing import NamedTuple

import numpy as np

from ._base import weighted_moments
from ._lightsb_model import LOG_2PI, LightSBPotential, finite_or_infinite

EXP_LIMIT = 50.0
"""Beyond -F / tau = 50 (a growth of e^50) the penalty continues linearly, so it cannot overflow."""
REFERENCE_RIDGE = 1e-6
"""Variances of the Gaussian reference are floored at this fraction of the two snapshots' pooled
per-feature variance (1 in the fit's coordinates), so a snapshot of one point has a density."""


def marginal_penalty(potential, tau):
    """tau expm1(-F / tau) and its derivative's magnitude exp(-F / tau), row by row.

    For tau = inf the limit: -F and 1. Beyond -F / tau = ``EXP_LIMIT`` the
    exponential continues by its tangent (convex, finite).
    """
    if np.isinf(tau):
        return -potential, np.ones_like(potential)
    z = -potential / tau
    capped = np.minimum(z, EXP_LIMIT)
    slope = np.exp(capped)
    value = tau * (np.expm1(capped) + slope * (z - capped))
    return value, slope


class GaussianReference:
    """The reference N_0 (x) N_1 and the offsets of the potentials in the fit's coordinates.

    Parameters
    ----------
    source, target : ndarray of shape (n, d) and (m, d)
        The snapshots in the fit's coordinates (centred, scaled).
    source_weights, target_weights : ndarray
        Their row weights, summing to one.
    shift : ndarray of shape (d,)
        delta, the source mean minus the target mean, in scaled units.
    epsilon : float
        The link's epsilon in the fit's coordinates.
    """

    def __init__(self, source, target, source_weights, target_weights, shift, epsilon):
        source_variances = weighted_moments(source, source_weights)[1]
        target_variances = weighted_moments(target, target_weights)[1]
        pooled = 0.5 * (source_variances.mean() + target_variances.mean())
        self.source_variances = _floored(source_variances, pooled)
        self.target_variances = _floored(target_variances, pooled)
        self.shift = np.asarray(shift, dtype=np.float64)
        self.epsilon = float(epsilon)

    def source_offsets(self, X):
        """<x, delta> + ||delta||^2 / 2 - eps log N_0(x), for each row."""
        return (X @ self.shift + 0.5 * self.shift @ self.shift
                - self.epsilon * _log_gaussian(X, self.source_variances))

    def target_offsets(self, Y):
        """-<y, delta> - eps log N_1(y), for each row."""
        return -(Y @ self.shift) - self.epsilon * _log_gaussian(Y, self.target_variances)


class LevelProfile(NamedTuple):
    """Phi of :meth:`UnbalancedParameterisation.loss_and_gradient` and its parts."""

    phi: float
    log_mass: float
    source: float
    target: float
    source_shares: np.ndarray
    target_shares: np.ndarray


def soft_minimum(potential, weights, tau):
    """tau log sum_i w_i exp(-F_i / tau) and the shares w_i exp(-F_i / tau) / sum (softmax).

    For tau = inf the limit, -sum_i w_i F_i, with shares w. Centred at that
    weighted mean, so that a large tau keeps its digits (through expm1 and
    log1p) and a small one cannot overflow (through the largest exponent).
    """
    if np.isinf(tau):
        return -float(weights @ potential), weights
    centre = weights @ potential
    exponents = -(potential - centre) / tau
    largest = exponents[weights > 0].max()
    if largest < 1.0:
        relative = np.exp(exponents)
        log_sum = np.log1p(weights @ np.expm1(exponents))
    else:
        relative = np.exp(exponents - largest)
        log_sum = largest + np.log(weights @ relative)
    shares = weights * relative
    return float(tau * log_sum - centre), shares / shares.sum()


def _floored(variances, pooled):
    """The variances, at least REFERENCE_RIDGE times ``pooled`` (1 where that is 0)."""
    return np.maximum(variances, REFERENCE_RIDGE * (pooled if pooled > 0 else 1.0))


def _log_gaussian(X, variances):
    """log N(x | 0, diag(variances)) for each row."""
    return -0.5 * ((X * X) @ (1.0 / variances) + np.log(variances).sum()
                   + X.shape[1] * LOG_2PI)


class UnbalancedParameterisation:
    """Parameters, loss and gradient of the unbalanced LightSB model of one link.

    theta = [theta of the plan mixture v, theta of the marginal mixture m u].
    The plan's mixture is LightSB's (:class:`MixtureParameterisation` at
    epsilon); the marginal's is the same class at epsilon 1, so its
    ``density_rows`` are log m u(x), m the sum of its (unnormalised) weights.

    Parameters
    ----------
    plan : MixtureParameterisation
    marginal : MixtureParameterisation
        With ``epsilon=1``.
    tau_a, tau_b : float
        The penalties in the fit's coordinates (inf: a constraint).
    reference : GaussianReference
        The reference measure of the link, kept in its fitted potential.
    """

    def __init__(self, plan, marginal, tau_a, tau_b, reference):
        self.plan, self.marginal = plan, marginal
        self.tau_a, self.tau_b = float(tau_a), float(tau_b)
        self.reference = reference
        self.epsilon, self.covariance_type = plan.epsilon, plan.covariance_type
        self._split = plan.bounds()[0].size

    def split(self, theta):
        return theta[:self._split], theta[self._split:]

    def bounds(self):
        (plan_lower, plan_upper), (lower, upper) = self.plan.bounds(), self.marginal.bounds()
        return np.concatenate([plan_lower, lower]), np.concatenate([plan_upper, upper])

    def potentials(self, theta, batch):
        """F at the source rows and G at the target rows of the batch (offsets included)."""
        plan_theta, marginal_theta = self.split(theta)
        eps = self.epsilon
        F = (eps * (self.marginal.density_rows(marginal_theta, batch.X)
                    - self.plan.normaliser_rows(plan_theta, batch.X))
             + 0.5 * (batch.X**2).sum(axis=1) + batch.x_offsets)
        G = (eps * self.plan.density_rows(plan_theta, batch.Y)
             + 0.5 * (batch.Y**2).sum(axis=1) + batch.y_offsets)
        return F, G

    def mass(self, theta):
        """m, the plan's total mass: the sum of the marginal mixture's weights."""
        log_weights = self.marginal.unpack(self.split(theta)[1])[0]
        return float(np.exp(np.logaddexp.reduce(log_weights)))

    def minibatch_loss_and_gradient(self, theta, batch):
        """L = m + sum_i a_i (tau_a / eps) expm1(-F_i / tau_a) + (the same for G, b, tau_b).

        An average over the rows, so its value and gradient on a minibatch
        are unbiased estimates of those on the whole sample: the loss that
        Adam follows. With p_i = a_i exp(-F_i / tau_a) and
        q_j = b_j exp(-G_j / tau_b) (the plan's marginal masses at the rows),
        the gradient is that of LightSB with row weights p and q for the
        plan's mixture, and ``d m - d sum_i p_i log m u(x_i)`` for the
        marginal's.

        Parameters
        ----------
        theta : ndarray
        batch : SampleBatch
            With the rows' weights and offsets.

        Returns
        -------
        loss : float
        gradient : ndarray of the shape of theta
        """
        eps = self.epsilon
        with np.errstate(over="ignore", invalid="ignore"):
            F, G = self.potentials(theta, batch)
            penalty_a, slope_a = marginal_penalty(F, self.tau_a)
            penalty_b, slope_b = marginal_penalty(G, self.tau_b)
            loss = self.mass(theta) + (batch.x_weights @ penalty_a
                                       + batch.y_weights @ penalty_b) / eps
            # d m / d log beta_l = beta_l (the marginal's weights are stored as log beta).
            gradient = self._gradient(theta, batch, batch.x_weights * slope_a,
                                      batch.y_weights * slope_b,
                                      np.exp(self.marginal.unpack(self.split(theta)[1])[0]))
        return finite_or_infinite(loss, gradient)

    def loss_and_gradient(self, theta, batch):
        """The loss L of theta with its levels at their optimum on the batch, and its gradient.

        Minimising L over the two levels (:meth:`level_shifts`) leaves
        ``L* = 1 + ((eps + T) / eps) expm1(Phi / (eps + T))``, T = tau_a + tau_b
        (``1 + Phi / eps`` when a marginal is a constraint), with::

            Phi = eps log m + tau_a log sum_i a_i e^{-F_i / tau_a}
                            + tau_b log sum_j b_j e^{-G_j / tau_b}

        (``-sum_i a_i F_i`` for tau_a = inf, likewise for b). Phi is invariant
        to the levels, as LightSB's loss is, and a soft minimum of the
        potentials: its gradient is that of :meth:`minibatch_loss_and_gradient`
        with the marginal masses p, q replaced by their shares (softmax
        weights, summing to one) and m by log m, times the levelled mass
        ``M = exp(Phi / (eps + T))``. So it grows at most linearly along any
        line, where L grows exponentially: at a small tau the line search of
        L-BFGS meets no cliff of exp(-F / tau) to collapse on. It is the
        loss of full-batch fits; a minibatch would bias its logarithms.

        Parameters
        ----------
        theta : ndarray
        batch : SampleBatch

        Returns
        -------
        loss : float
        gradient : ndarray of the shape of theta
        """
        profile = self._profile(theta, batch)
        eps, total = self.epsilon, self.tau_a + self.tau_b
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isinf(total):
                loss, level = 1.0 + profile.phi / eps, 1.0
            else:
                log_level = profile.phi / (eps + total)
                loss, level = 1.0 + (eps + total) / eps * np.expm1(log_level), np.exp(log_level)
            log_weights = self.marginal.unpack(self.split(theta)[1])[0]
            # d log m / d log beta_l = beta_l / m.
            gradient = level * self._gradient(
                theta, batch, profile.source_shares, profile.target_shares,
                np.exp(log_weights - np.logaddexp.reduce(log_weights)))
        return finite_or_infinite(loss, gradient)

    def _gradient(self, theta, batch, p, q, mass_gradient):
        """d [mass term] - sum_i p_i dF_i / eps - sum_j q_j dG_j / eps in theta.

        ``mass_gradient`` is the derivative of the mass term in each log beta_l.
        """
        plan_theta, marginal_theta = self.split(theta)
        g_normaliser = self.plan.normaliser_gradient(plan_theta, batch.X, p)[1]
        g_density = self.plan.density_gradient(plan_theta, batch.Y, q)[1]
        g_marginal = -self.marginal.density_gradient(marginal_theta, batch.X, p)[1]
        g_marginal[:mass_gradient.size] += mass_gradient
        return np.concatenate([g_normaliser - g_density, g_marginal])

    def _profile(self, theta, batch):
        """Phi and its parts: the soft minima of F and G (tau log sum w e^{-F / tau}) and shares."""
        F, G = self.potentials(theta, batch)
        log_mass = float(np.logaddexp.reduce(self.marginal.unpack(self.split(theta)[1])[0]))
        source, source_shares = soft_minimum(F, batch.x_weights, self.tau_a)
        target, target_shares = soft_minimum(G, batch.y_weights, self.tau_b)
        return LevelProfile(self.epsilon * log_mass + source + target, log_mass, source,
                            target, source_shares, target_shares)

    def level_shifts(self, theta, batch):
        """The common shifts (kappa, lambda) of log alpha and log beta that minimise the loss.

        Adding kappa to every log alpha_k adds eps kappa to G and subtracts it
        from F; adding lambda to every log beta_l multiplies m by e^lambda
        and adds eps lambda to F. LightSB's loss does not see these levels,
        the unbalanced one does, exponentially. Over them alone it is convex,
        with stationarity ``m e^lambda = P = Q`` (the plan's mass, its first
        marginal's and its second's), and P and Q are exponentials in the
        shifts: ``P = P_0 exp(-eps (lambda - kappa) / tau_a)``,
        ``Q = Q_0 exp(-eps kappa / tau_b)``. So the levelled mass M is closed
        form, ``log M = Phi / (eps + tau_a + tau_b)`` (0 when a marginal is a
        constraint, tau = inf; Phi as in :meth:`loss_and_gradient`), and so
        are the shifts. Exact for the loss without the linear continuation of
        :func:`marginal_penalty`, which is reached only at rows whose growth
        is beyond e^50.

        Parameters
        ----------
        theta : ndarray
        batch : SampleBatch

        Returns
        -------
        kappa, lam : float
        """
        eps, tau_a, tau_b = self.epsilon, self.tau_a, self.tau_b
        profile = self._profile(theta, batch)
        total = tau_a + tau_b
        log_level = 0.0 if np.isinf(total) else profile.phi / (eps + total)
        lam = log_level - profile.log_mass
        if np.isinf(tau_b):  # P = M: eps (lam - kappa) = tau_a (log P_0 - log M)
            kappa = lam - (profile.source - tau_a * log_level) / eps
        else:  # Q = M: eps kappa = tau_b (log Q_0 - log M)
            kappa = (profile.target - tau_b * log_level) / eps
        return kappa, lam

    def levelled(self, theta, batch):
        """theta with its levels at their optimum (:meth:`level_shifts`), the rest unchanged."""
        kappa, lam = self.level_shifts(theta, batch)
        plan_theta, marginal_theta = self.split(np.array(theta, dtype=np.float64))
        plan_theta[:self.plan.n_components] += self.epsilon * kappa
        marginal_theta[:self.marginal.n_components] += lam
        return np.concatenate([plan_theta, marginal_theta])

    def pack(self, plan_parameters, marginal_parameters):
        """theta from (log alpha, r, S) of the plan and (log beta, mu, Sigma) of the marginal."""
        return np.concatenate([self.plan.pack(*plan_parameters),
                               self.marginal.pack(*marginal_parameters)])

    def potential(self, theta):
        """The fitted :class:`UnbalancedPotential` for theta."""
        plan_theta, marginal_theta = self.split(theta)
        plan = self.plan.potential(plan_theta)
        return UnbalancedPotential(plan.log_weights, plan.means, plan.covariances,
                                   plan.covariance_type, plan.epsilon,
                                   self.marginal.potential(marginal_theta), self.tau_a,
                                   self.tau_b, self.reference)


class UnbalancedPotential(LightSBPotential):
    """A fitted unbalanced LightSB link: LightSB's conditional plan, and the plan's marginal.

    Transport, sampling and the drift are LightSB's (the conditional law of
    an unbalanced light plan is LightSB's); ``growth`` is exp(-F(x) / tau_a),
    the mass the plan gives x per unit of the source's.

    Parameters
    ----------
    log_weights, means, covariances, covariance_type, epsilon
        The plan's adjusted potential v, as in :class:`LightSBPotential`.
    marginal : LightSBPotential
        m u, at epsilon 1: ``marginal.log_potential(x)`` is log m u(x).
    tau_a, tau_b : float
    reference : GaussianReference
    """

    def __init__(self, log_weights, means, covariances, covariance_type, epsilon, marginal,
                 tau_a, tau_b, reference):
        super().__init__(log_weights, means, covariances, covariance_type, epsilon)
        self.marginal, self.tau_a, self.tau_b = marginal, tau_a, tau_b
        self.reference = reference

    @property
    def mass(self):
        """m, the total mass of the plan."""
        return float(np.exp(np.logaddexp.reduce(self.marginal.log_weights)))

    def source_potential(self, X):
        """F(x) = eps (log m u(x) - log c(x)) + ||x||^2 / 2 + the reference's offsets."""
        return (self.epsilon * (self.marginal.log_potential(X) - self.log_normaliser(X))
                + 0.5 * (X**2).sum(axis=1) + self.reference.source_offsets(X))

    def loss(self, X, x_weights, Y, y_weights):
        """The fitted loss of :class:`UnbalancedParameterisation` on samples X and Y (fit units).

        Row weights summing to one, or None for uniform.
        """
        G = (self.epsilon * self.log_potential(Y) + 0.5 * (Y**2).sum(axis=1)
             + self.reference.target_offsets(Y))
        with np.errstate(over="ignore"):
            penalty_a = marginal_penalty(self.source_potential(X), self.tau_a)[0]
            penalty_b = marginal_penalty(G, self.tau_b)[0]
        return self.mass + (np.average(penalty_a, weights=x_weights)
                            + np.average(penalty_b, weights=y_weights)) / self.epsilon

    def growth(self, X):
        """exp(-F(x) / tau_a): the plan's first marginal over the source's density at x."""
        if np.isinf(self.tau_a):
            return np.ones(X.shape[0])
        with np.errstate(over="ignore"):
            return np.exp(-self.source_potential(X) / self.tau_a)


def initial_marginal(batch, n_components, covariance_type, rng, draw):
    """(log beta, mu, Sigma) of a first m u: uniform weights summing to 1 at drawn source points.

    Each component's covariance is the source's per-feature variance (or its
    mean, "spherical"), divided by n_components^(2 / d) so that together they
    cover the sample about once.
    """
    d = batch.X.shape[1]
    source_variances = weighted_moments(batch.X, batch.x_weights)[1]
    pooled = 0.5 * (source_variances.mean() + weighted_moments(batch.Y, batch.y_weights)[1].mean())
    variances = _floored(source_variances * n_components ** (-2.0 / d), pooled)
    covariances = {
        "spherical": np.full(n_components, variances.mean()),
        "diag": np.tile(variances, (n_components, 1)),
        "full": np.tile(np.diag(variances), (n_components, 1, 1)),
    }[covariance_type]
    means = draw(batch.X, batch.x_weights, n_components, rng)
    return np.full(n_components, -np.log(n_components)), means, covariances
