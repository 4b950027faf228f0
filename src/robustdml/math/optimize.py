"""Solvers for triplet objectives over Mahalanobis metrics.

``projected_subgradient`` is the authors' solver (:doc:`/user_guide/method`, section 4) step
for step; ``lbfgs`` minimizes the same objective in L with SciPy's L-BFGS-B.
Both report each iterate to ``callback(L, iteration, value)``; both return
``(L, n_iter, converged, values, message)``, the message saying why they stopped.
"""

import numpy as np
from scipy.optimize import minimize


def _finite(value, gradient):
    """Stop with a clear message rather than let NaN or inf into the metric."""
    if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
        raise FloatingPointError(
            "The objective or its gradient is not finite (overflow): rescale X (e.g. "
            "StandardScaler) or lower the loss weights.")
    return value, gradient

#: A gradient this small relative to the objective (see ``lbfgs``) counts as zero.
STATIONARY = 1e-12

#: Eigenvalues below this are set to 0 by the PSD projection, as in the reference.
PSD_FLOOR = 1e-10

#: SciPy's L-BFGS-B status when its line search fails (0: converged, 1: iteration limit).
ABNORMAL = 2


def psd_factor(M):
    """Project symmetric M on the PSD cone and return ``(M_psd, L)`` with ``M_psd = L^T L``.

    Eigenvalues below :data:`PSD_FLOOR` become 0. ``L = sqrt(D) V^T`` keeps all p rows, largest
    eigenvalue first.
    """
    eigenvalues, vectors = np.linalg.eigh(0.5 * (M + M.T))
    eigenvalues = np.where(eigenvalues < PSD_FLOOR, 0.0, eigenvalues)[::-1]
    vectors = vectors[:, ::-1]
    M_psd = (vectors * eigenvalues) @ vectors.T
    return 0.5 * (M_psd + M_psd.T), np.sqrt(eigenvalues)[:, None] * vectors.T


def projected_subgradient(value_and_gradient_M, L0, *, max_iter=1000, tol=1e-7,
                          min_iter=50, window=5, step=1.0, min_step=1e-4, grow=1.01,
                          callback=None):
    """The reference solver: projected sub-gradient descent on M from ``M = L0^T L0``.

    The reference starts at M = I (``L0`` the identity).
    Every step is taken (none is rejected): ``M <- P_psd(M - step * sym(G))``; the step grows by
    ``grow`` after a decrease of the objective and halves (down to ``min_step``) otherwise. With
    f_1 the value at M = I and f_t after t - 1 steps, it stops once t >= ``min_iter`` and the last
    ``window`` absolute changes are all below ``tol * f_t``, or after ``max_iter`` steps.
    """
    L = np.asarray(L0, dtype=float)
    M = L.T @ L
    value, gradient = _finite(*value_and_gradient_M(L))
    values = [value]
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        M, L = psd_factor(M - step * 0.5 * (gradient + gradient.T))
        value, gradient = _finite(*value_and_gradient_M(L))
        values.append(value)
        n_iter += 1
        if callback is not None:
            callback(L, n_iter, value)
        if (len(values) >= min_iter
                and np.max(np.abs(np.diff(values[-window - 1:]))) < tol * value):
            converged = True
            break
        step = step * grow if values[-1] < values[-2] else max(step / 2.0, min_step)
    message = ("objective changes below tol" if converged
               else f"reached max_iter={max_iter} before the changes fell below tol={tol}")
    return L, n_iter, converged, values, message


def lbfgs(value_and_gradient_L, L0, *, max_iter=1000, tol=1e-7, callback=None):
    """Minimise over L (M = L^T L, PSD by construction) with SciPy's L-BFGS-B from ``L0``.

    ``tol`` is L-BFGS-B's relative tolerance on the decrease of the objective (``ftol``). The
    objective is divided by ``|f(L0)|`` so that losses at extreme scales (a weight of 1e-250)
    do not under- or overflow inside L-BFGS-B; it also stops where that scaled gradient is
    negligible (``max |G| / |f(L0)| <= STATIONARY / max(1, max |L0|)``).
    """
    shape = L0.shape
    start = L0.ravel().copy()
    first = _finite(*value_and_gradient_L(L0))
    scale = abs(first[0]) or 1.0
    values = []
    best = [first[0], start]  # the lowest finite point evaluated, kept if a step overflows

    def fun(flat):
        if not np.all(np.isfinite(flat)):  # a step that overflowed: the line search backs off
            return np.inf, np.zeros_like(flat)
        value, gradient = first if np.array_equal(flat, start) else _finite(
            *value_and_gradient_L(flat.reshape(shape)))
        if value < best[0]:
            best[:] = value, flat.copy()
        return value / scale, gradient.ravel() / scale

    def report(intermediate_result):  # SciPy passes an OptimizeResult to this exact name
        values.append(intermediate_result.fun * scale)
        if callback is not None:
            callback(intermediate_result.x.reshape(shape), len(values), values[-1])

    gtol = STATIONARY / max(1.0, np.abs(start).max(initial=0.0))
    options = {"ftol": tol, "gtol": gtol}
    result = minimize(fun, start, jac=True, method="L-BFGS-B", callback=report,
                      options={**options, "maxiter": max_iter})
    n_iter = result.nit
    # A failed line search follows L-BFGS's direction from its curvature memory; where the
    # objective has a kink, or jumps (followed impostors trade places), that direction can
    # cross it at once. A restart from the point reached (no memory: steepest descent) either
    # goes on, or decreases the objective by no more than L-BFGS-B's own ftol test allows:
    # then no lower objective is within the solver's reach and the point counts as converged.
    while result.status == ABNORMAL and n_iter < max_iter and np.all(np.isfinite(result.x)):
        before = result.fun
        result = minimize(fun, result.x, jac=True, method="L-BFGS-B", callback=report,
                          options={**options, "maxiter": max_iter - n_iter})
        n_iter += result.nit
        if before - result.fun <= tol * max(abs(before), abs(result.fun), 1.0):
            result.status, result.message = 0, (
                "converged: a restart of L-BFGS-B from the point where its line search "
                "failed decreased the objective by less than tol")
            break
    x, converged, message = result.x, result.status == 0, str(result.message)
    if not np.all(np.isfinite(x)):
        x, converged = best[1], False
        message = ("a step overflowed: the gradient is out of all proportion to the objective "
                   "(e.g. coincident points); the lowest point evaluated is kept")
    elif result.status == ABNORMAL:
        message = ("the line search found no lower objective, the metric reached is kept: a kink "
                   "of the hinges stops it, so a larger smoothing helps, or a larger tol "
                   f"accepts the metric as converged; L-BFGS-B says {message!r}")
    return x.reshape(shape), n_iter, converged, values, message
