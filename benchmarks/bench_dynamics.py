"""Dynamics and scaling benchmark: time and accuracy of hdeq's theory beside its twins.

One run prints one table: each row is a method on a task, its CPU time, the time as a
ratio to hdeq's theory route on the same task, and its error against a reference.

1. Gradient-flow curves at 200 time points (test, train, bias, variance), two-scale
   population of theory note linear.md §7a (p = 1000, n = 800): first call (solves the
   deterministic equivalent on the contour nodes) and later calls (matrix products only);
   aim < 0.1 s. Against the isotropic Marchenko-Pastur quadrature route (error = max
   difference, both are exact) and against the Monte-Carlo twin (exact GF through the SVD,
   4 draws; error = max |mean - theory| / (4 stderr + 0.5 theory / sqrt(p)) over times
   and quantities, the tolerance of the experiments: <= 1 is agreement).
2. Gradient descent at 200 step counts from 1 to 3000 (learning rate 0.5; test, train,
   bias, variance), same population: contour theory (first call), aim < 0.1 s, vs the true
   GD loop of the twin (4 draws, 3000 steps).
3. Gaussian-mixture classification dynamics (p = 512, n = 1024, 200 times) vs its twin.
4. Scaling law: a 10-point learning curve on the infinite power-law spectrum (exact head +
   tail quadrature) vs the same curve with 2e6 explicit modes (the theory note's setup);
   error = relative difference.
5. Linear random projection: theory on 50 values of N vs the twin (P = 1500, n = 600).

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_dynamics.py`` (under a minute).
Timings on a shared machine are noisy: compare ratios within one run.
"""

from __future__ import annotations


import numpy as np
from _timing import clock, timed

from hdeq.equivalents import ridge_risk
from hdeq.experiments.dynamics import two_scale_model
from hdeq.models import (GaussianMixtureGradientFlow, GradientDescent, GradientFlow,
                         PowerLawRidge, RandomProjectionRegression)


def z_error(table, p):
    """Largest deviation in tolerance units ``|mean - theory| / (4 se + 0.5 theory/sqrt(p))``
    (the statistic of hdeq.experiments.dynamics; <= 1 means agreement)."""
    tol = 4 * table.stderr + 0.5 * np.abs(table.theory) / np.sqrt(p)
    return float(np.max(np.abs(table.empirical - table.theory) / tol))


ROWS = []


def row(task, method, seconds, ref_seconds, error, note=""):
    ROWS.append((task, method, seconds, seconds / ref_seconds if ref_seconds else np.nan,
                 error, note))


def gf_curves(model, t):
    return (model.test_error(t), model.train_error(t), model.bias(t), model.variance(t))


def main():
    t = np.geomspace(1e-2, 1e4, 200)
    # 1. gradient flow
    first, _ = timed(lambda: gf_curves(two_scale_model(1000), t))
    model = two_scale_model(1000)
    gf_curves(model, t)
    later, _ = timed(lambda: gf_curves(model, t), repeat=5)
    row("GF 200 times, 4 curves", "hdeq contour, first call", first, first, np.nan,
        "p = 1000, n = 800")
    row("GF 200 times, 4 curves", "hdeq contour, later calls", later, first, np.nan)
    iso = GradientFlow(np.ones(1000), signal_var=1.0, noise_var=0.5, n_samples=500)
    ti, a = timed(lambda: iso.test_error(t))
    tq, b = timed(lambda: iso.test_error(t, method="quadrature"))
    row("GF isotropic (gamma = 2)", "hdeq contour (first call)", ti, ti, np.nan)
    row("GF isotropic (gamma = 2)", "MP Gauss-Legendre quadrature", tq, ti,
        float(np.max(np.abs(a - b))), "max |contour - quadrature|")
    t_sim = t[::20]
    ts, table = timed(lambda: model.simulate(t_sim, trials=4, seed=0))
    tt, _ = timed(lambda: gf_curves(model, t_sim), repeat=3)
    row("GF 10 times, 4 curves", "hdeq theory (cached nodes)", tt, tt, np.nan)
    row("GF 10 times, 4 curves", "simulation, exact GF via SVD (4 draws)", ts, tt,
        z_error(table, 1000), "max |mean-theory|/(4se+0.5 th/sqrt p)")
    # 2. gradient descent
    gd = GradientDescent(model.population, model.target, noise_var=0.3, n_samples=800,
                         learning_rate=0.5)
    # 200 step counts (integers: the smallest repeat), the same four curves as for GF
    steps = np.round(np.geomspace(1, 3000, 200))
    tg, _ = timed(lambda: gf_curves(gd, steps))
    tl, table = timed(lambda: gd.simulate(steps[::20], trials=4, seed=1))
    row("GD 200 step counts, 4 curves", "hdeq contour (|1 - eta z| <= 1), first call", tg,
        tg, np.nan, f"{steps.size} step counts, eta = 0.5")
    row("GD 200 step counts, 4 curves", "simulation, true GD loop to 3000 steps (4 draws)",
        tl, tg, z_error(table, 1000), "max |mean-theory|/(4se+0.5 th/sqrt p)")
    # 3. classification dynamics
    gmm = GaussianMixtureGradientFlow(512, 1024, mean_sq_norm=2.0, init_var=0.5)
    tc, _ = timed(lambda: gmm.misclassification(t))
    tcs, table = timed(lambda: gmm.simulate(t[::20], trials=4, seed=2))
    row("GMM dynamics, 200 times", "hdeq contour, first call", tc, tc, np.nan)
    row("GMM dynamics, 200 times", "simulation (thin SVD, 4 draws, 10 times)", tcs, tc,
        z_error(table, 512), "max |mean-theory|/(4se+0.5 th/sqrt p)")
    # 4. scaling
    n = np.geomspace(1e3, 3e4, 10)
    pl = PowerLawRidge(2.0, 0.25)
    tp, a = timed(lambda: pl.excess_error(n))
    k = np.arange(1, 2_000_001, dtype=float)
    s, energy = k ** -2.0, k ** (2.0 - 1 - 2 * 2.0 * 0.25)
    tb, b = timed(lambda: ridge_risk(0.0, s, None, n, target_energy=energy,
                                     noise_var=0.0).excess)
    row("power-law learning curve, 10 n", "hdeq infinite spectrum (head + quadrature)", tp,
        tp, np.nan, f"fitted rate {pl.fitted_exponent(n):.4f} (pred. 1.0)")
    row("power-law learning curve, 10 n", "2e6 explicit modes (note's setup)", tb, tp,
        float(np.max(np.abs(a - b) / a)), "max relative difference (truncation)")
    # 5. random projection
    P = 1500
    kk = np.arange(1, P + 1, dtype=float)
    pop, tgt = kk ** -1.5, np.sqrt(kk ** -0.7)
    N = np.unique(np.round(np.geomspace(50, 3000, 50)).astype(int))
    tr, _ = timed(lambda: RandomProjectionRegression(pop, tgt, noise_var=0.1, ridge=1e-2,
                                                     n_samples=600,
                                                     n_random_features=N).test_error())
    rp = RandomProjectionRegression(pop, tgt, noise_var=0.1, ridge=1e-2, n_samples=600,
                                    n_random_features=[300, 1200])
    trs, table = timed(lambda: rp.simulate(trials=3, seed=3))
    row("random projection", f"hdeq theory, {N.size} values of N", tr, tr, np.nan)
    row("random projection", "simulation, 2 values of N x 3 draws", trs, tr,
        z_error(table, 600), "max |mean-theory|/(4se+0.5 th/sqrt n)")

    print(f"{'task':32s} {'method':52s} {'CPU s':>9s} {'ratio':>9s} {'error':>10s}  note")
    for task, method, sec, ratio, err, note in ROWS:
        print(f"{task:32s} {method:52s} {sec:9.4f} {ratio:9.2f} {err:10.3g}  {note}")


if __name__ == "__main__":
    main()
