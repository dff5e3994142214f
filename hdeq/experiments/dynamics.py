"""Issue-4 experiments: gradient-flow dynamics, theory beside simulation.

* ``gd_epochwise_double_descent``  excess risk of gradient flow over time on a two-scale
                                   spectrum (epoch-wise double descent, theory note §7a),
                                   with the ridge risk at ``ridge = 1/t`` and the two-class
                                   Gaussian-mixture misclassification over time (§7b).

Simulation tolerance: a point agrees when ``|mean - theory| <= K_SE * stderr + C_FS *
theory / sqrt(p)`` with ``K_SE = 4``, ``C_FS = 0.5`` (the bias is a bilinear form with
O(p^{-1/2}) finite-size corrections, theory note §3.1; the note measured the two-scale bias
1.5% low at p = 1000). The statistic is the largest ratio ``|mean - theory| / tolerance``.
"""

from __future__ import annotations

import numpy as np

from ..models import GaussianMixtureGradientFlow, GradientFlow, RidgeRegression
from ._registry import Agreement, ExperimentResult, FigureSpec, make_table, register

K_SE = 4.0
C_FS = 0.5
AREA = "dynamics"


def _ratio(emp, theory, se, p):
    tol = K_SE * np.asarray(se) + C_FS * np.abs(theory) / np.sqrt(p)
    return np.abs(np.asarray(emp) - np.asarray(theory)) / tol


def two_scale_model(p: int, fast_fraction: float = 0.211796) -> GradientFlow:
    """The epoch-wise double-descent example of theory note §7a scaled to ``p`` features:
    ``n = 0.8 p``, 20% eigenvalues 1.0 and 80% eigenvalues 0.01, ``beta^T Sigma beta = 1``
    with the fraction ``fast_fraction`` of it on the fast block (the note's draw), noise
    variance 0.3."""
    n_fast = p // 5
    pop = np.r_[np.ones(n_fast), np.full(p - n_fast, 0.01)]
    beta = np.where(pop == 1.0, np.sqrt(fast_fraction / n_fast),
                    np.sqrt((1 - fast_fraction) / 0.01 / (p - n_fast)))
    return GradientFlow(pop, beta, noise_var=0.3, n_samples=int(round(0.8 * p)))


@register("gd_epochwise_double_descent",
          "Gradient flow: epoch-wise double descent and classification dynamics", AREA)
def gd_epochwise_double_descent(quick: bool, seed: int) -> ExperimentResult:
    p = 250 if quick else 500
    trials = 6 if quick else 8
    p_gmm = 128 if quick else 256
    seeds = np.random.SeedSequence(seed).spawn(2)
    model = two_scale_model(p)
    t_theory = np.geomspace(0.05, 1e4, 200)
    t_sim = np.geomspace(0.1, 3000, 9 if quick else 13)
    excess = model.excess_error(t_theory)
    ridge = RidgeRegression(model.population, model.target, noise_var=0.3,
                            ridge=1.0 / t_theory, n_samples=model.n_samples)
    ridge_excess = ridge.test_error("excess")
    sim = model.simulate(t_sim, trials=trials, seed=np.random.default_rng(seeds[0]))
    panel = f"two-scale regression: excess risk (p = {p}, n = {model.n_samples})"
    rows = [dict(panel=panel, series="gradient flow", x=t, theory=v)
            for t, v in zip(t_theory, excess)]
    rows += [dict(panel=panel, series="ridge, λ = 1/t", x=t, theory=v)
             for t, v in zip(t_theory, ridge_excess)]
    test = sim[sim.quantity == "test_error"]
    # the panel shows the excess risk (test error - noise variance): every statistic and
    # sentence below is about that quantity
    ex_theory, ex_emp = test.theory - 0.3, test.empirical - 0.3
    worst_reg = 0.0
    rel_dev = float(np.max(np.abs(ex_emp - ex_theory) / ex_theory))
    rel_se = float(np.max(test.stderr / ex_theory))
    for r, et, ee in zip(test.itertuples(), ex_theory, ex_emp):
        rows.append(dict(panel=panel, series="gradient flow", x=r.time,
                         theory=et, empirical=ee, stderr=r.stderr))
        worst_reg = max(worst_reg, float(_ratio(ee, et, r.stderr, p)))
    # extrema of the theory curve
    inner = np.arange(1, t_theory.size - 1)
    mins = inner[(excess[inner] < excess[inner - 1]) & (excess[inner] < excess[inner + 1])]
    maxs = inner[(excess[inner] > excess[inner - 1]) & (excess[inner] > excess[inner + 1])]
    # classification dynamics
    gmm = GaussianMixtureGradientFlow(p_gmm, 2 * p_gmm, mean_sq_norm=2.0, init_var=0.5)
    t_g = np.geomspace(0.05, 100, 120)
    # short enough not to wrap in the figure title (60 characters)
    panel_g = f"||μ||² = 2 mixture: misclassification (p = {p_gmm}, n = {2 * p_gmm})"
    rows += [dict(panel=panel_g, series="gradient flow", x=t, theory=v)
             for t, v in zip(t_g, gmm.misclassification(t_g))]
    sim_g = gmm.simulate(np.geomspace(0.1, 50, 8), trials=trials,
                         seed=np.random.default_rng(seeds[1]))
    worst_gmm = 0.0
    for r in sim_g[sim_g.quantity == "misclassification"].itertuples():
        rows.append(dict(panel=panel_g, series="gradient flow", x=r.time,
                         theory=r.theory, empirical=r.empirical, stderr=r.stderr))
        worst_gmm = max(worst_gmm, float(_ratio(r.empirical, r.theory, r.stderr, p_gmm)))
    agreement = (
        Agreement("excess risk over time, two-scale regression", worst_reg, 1.0,
                  f"max over {t_sim.size} times of |mean - theory| / ({K_SE:g} se + "
                  f"{C_FS:g} theory/sqrt(p)) for the excess risk (test error - noise "
                  f"variance), {trials} draws (exact GF via SVD)"),
        Agreement("misclassification over time, Gaussian mixture", worst_gmm, 1.0,
                  f"same statistic, {trials} draws"),
    )
    ext = ", ".join(f"{'min' if i in mins else 'max'} {excess[i]:.3f} at t ≈ {t_theory[i]:.3g}"
                    for i in sorted(np.r_[mins, maxs]))
    ratio = float(np.max(excess / ridge_excess))
    r_min = int(np.sum((ridge_excess[inner] < ridge_excess[inner - 1])
                       & (ridge_excess[inner] < ridge_excess[inner + 1])))
    ridge_shape = ("also has two minima" if r_min >= 2 else
                   f"has {r_min} local minimum{'s' if r_min != 1 else ''} only (the ridge "
                   "filter s/(s + 1/t) separates the two time scales less sharply)")
    summary = (
        "Gradient flow on least squares with two feature scales (theory note §7a: 20% of the "
        "eigenvalues 1.0, 80% 0.01, most of the signal on the slow directions, noise 0.3, "
        f"n = 0.8 p). Theory (contour integral of the deterministic equivalent): {ext}; the "
        "fast directions first fit the signal and then the noise (variance bump), the slow "
        "ones are learned later and give the second descent, before the rise to the "
        f"ridgeless value {model.excess_error(1e7):.3f}. The simulation (exact gradient flow "
        f"through the SVD of {trials} Gaussian designs, excess risk of the realized weights) "
        f"agrees everywhere: the largest relative deviation of the excess risk (the "
        f"plotted quantity) is {100 * rel_dev:.1f}% with relative standard errors up to "
        f"{100 * rel_se:.1f}% (largest at late times, where the slow block dominates), i.e. "
        f"{worst_reg:.2f} of the tolerance. The ridge risk "
        f"at ridge = 1/t {ridge_shape}; the largest ratio GF / ridge is {ratio:.3f} "
        "(Ali, Kolter & Tibshirani 2019 bound this by 1.69).\n\n"
        "Second panel: a linear classifier trained by gradient flow on the MSE for two "
        "Gaussian classes with random initialisation (variance 0.5, theory note §7b). The "
        "misclassification falls, reaches its minimum at t ≈ "
        f"{t_g[np.argmin(gmm.misclassification(t_g))]:.2g} and rises towards the least-"
        f"squares classifier: early stopping helps. Simulation worst deviation {worst_gmm:.2f} "
        "of the tolerance.")
    return ExperimentResult("gd_epochwise_double_descent",
                            "Gradient flow: epoch-wise double descent and classification "
                            "dynamics", make_table(rows), agreement, summary,
                            FigureSpec(xlabel="time t (learning rate × steps)",
                                       ylabel="risk", xscale="log", ncols=2,
                                       panel_axes={
                                           panel: ("time t (learning rate × steps)",
                                                   "excess risk"),
                                           panel_g: ("time t (learning rate × steps)",
                                                     "misclassification rate")}))
