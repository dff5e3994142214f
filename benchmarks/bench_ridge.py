"""Ridge benchmark: time and accuracy of hdeq's ridge equivalents, side by side.

One run prints one table: each row is a method on a task, with its wall time, the time
as a ratio to hdeq's route on the same task, and its error against a reference. Tasks:

1. Theory curve: test error on 200 ridges x 50 sample sizes for a population of 1000
   distinct eigenvalues (power law s_k = k^-1, aligned target), target < 50 ms.
   Against a per-point scalar loop (bisection for kappa as in theory note linear.md
   Appendix A, then the risk formula), timed on 200 of the points and extrapolated;
   error = max relative difference of the test error on those points.
2. Theory vs simulation of the same curve at n = 2000 (p = 1000, 200 ridges): the
   Monte-Carlo twin (RidgeRegression.simulate, one SVD per draw serves all ridges) with
   3 draws; aim: theory / simulation <= 1e-3. Error = max |mean - theory| / stderr.
3. GCV on a data set (n = 1000, p = 500, 100 ridges): hdeq.gcv (one thin SVD) against a
   naive per-ridge solve (solve the normal equations and invert S + ridge for the
   trace). Error = max relative difference.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_ridge.py`` (about a minute on 2
cores). Timings on a shared machine are noisy: compare ratios within one run.
"""

from __future__ import annotations


import numpy as np
from _timing import clock, timed

from hdeq.models import RidgeRegression, gcv


def scalar_risk(lam, s, b2, n, sigma2):
    """Per-point reference: bisection on kappa (theory note Appendix A), then §5.2."""
    def df1(k):
        return np.sum(s / (s + k))
    lo = 0.0
    if np.sum(s > 0) > n:
        lo, hi = 0.0, 1.0
        while df1(hi) > n:
            hi *= 2
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if df1(mid) > n else (lo, mid)
        lo = (lo + hi) / 2
    if lam == 0:
        k = lo
    else:
        hi = lam + s.sum() / n + 1.0
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if mid * (1 - df1(mid) / n) < lam else (lo, mid)
        k = (lo + hi) / 2
    df2 = np.sum(s ** 2 / (s + k) ** 2)
    den = 1 - df2 / n
    return sigma2 + (k ** 2 * np.sum(b2 * s / (s + k) ** 2) + sigma2 * df2 / n) / den


def naive_gcv(X, y, ridges):
    n, p = X.shape
    S = X.T @ X / n
    Xty = X.T @ y / n
    out = []
    for lam in ridges:
        A = S + lam * np.eye(p)
        beta = np.linalg.solve(A, Xty)
        df = np.trace(S @ np.linalg.inv(A))
        out.append(np.mean((y - X @ beta) ** 2) / (1 - df / n) ** 2)
    return np.array(out)


def main():
    rows = []
    p = 1000
    s = np.arange(1, p + 1, dtype=float) ** -1.0
    s *= p / s.sum()
    rng = np.random.default_rng(0)
    b = np.sqrt(s) * rng.standard_normal(p)
    b /= np.sqrt(np.sum(s * b ** 2))
    ridges = np.geomspace(1e-4, 10, 200)
    sizes = np.unique(np.geomspace(100, 5000, 50).round().astype(int))
    noise = 0.25

    # 1. theory curve ------------------------------------------------------------------
    def curve():
        return RidgeRegression(s, b, noise_var=noise, ridge=ridges,
                               n_samples=sizes[:, None]).test_error()
    t_hdeq, risk = timed(curve, repeat=3)
    pick = np.random.default_rng(1).choice(risk.size, 200, replace=False)
    ii, jj = np.unravel_index(pick, risk.shape)
    t0 = clock()
    ref = np.array([scalar_risk(ridges[j], s, b ** 2, sizes[i], noise) for i, j in zip(ii, jj)])
    t_loop = (clock() - t0) * risk.size / pick.size
    err = float(np.max(np.abs(risk[ii, jj] - ref) / ref))
    rows.append(("1. curve 200 ridges x 50 n, K=1000", "hdeq RidgeRegression", t_hdeq, 1.0,
                 "target < 50 ms"))
    rows.append(("", "per-point bisection loop (extrapolated)", t_loop, t_loop / t_hdeq,
                 f"max rel diff {err:.1e}"))

    # 2. theory vs simulation at n = 2000 ----------------------------------------------
    model = RidgeRegression(s, b, noise_var=noise, ridge=ridges, n_samples=2000)
    t_th, _ = timed(lambda: RidgeRegression(s, b, noise_var=noise, ridge=ridges,
                                            n_samples=2000).test_error(), repeat=3)
    t0 = clock()
    sim = model.simulate(trials=3, seed=2)
    t_sim = clock() - t0
    part = sim[sim.quantity == "test_error"]
    z = float(np.max(np.abs(part.empirical - part.theory) / part.stderr))
    rows.append(("2. 200 ridges at n = 2000, p = 1000", "hdeq theory", t_th, 1.0,
                 f"ratio theory/sim = {t_th / t_sim:.1e} (aim <= 1e-3)"))
    rows.append(("", "simulate(trials=3)", t_sim, t_sim / t_th,
                 f"max |mean - theory|/se = {z:.2f}"))

    # 3. GCV vectorized vs naive --------------------------------------------------------
    n_g, p_g = 1000, 500
    Xg = rng.standard_normal((n_g, p_g))
    yg = Xg @ (rng.standard_normal(p_g) / np.sqrt(p_g)) + 0.5 * rng.standard_normal(n_g)
    lam_g = np.geomspace(1e-3, 10, 100)
    t_gcv, g_fast = timed(lambda: gcv(Xg, yg, lam_g), repeat=2)
    t0 = clock()
    g_slow = naive_gcv(Xg, yg, lam_g)
    t_naive = clock() - t0
    rows.append(("3. GCV n=1000, p=500, 100 ridges", "hdeq.gcv (one SVD)", t_gcv, 1.0, ""))
    rows.append(("", "naive per-ridge solve + inverse", t_naive, t_naive / t_gcv,
                 f"max rel diff {np.max(np.abs(g_fast - g_slow) / g_slow):.1e}"))

    width = max(len(r[1]) for r in rows)
    print(f"{'task':38s} {'method':{width}s} {'CPU [s]':>10s} {'ratio':>9s}  note")
    for task, method, t, ratio, note in rows:
        print(f"{task:38s} {method:{width}s} {t:10.4f} {ratio:9.2f}  {note}")


if __name__ == "__main__":
    main()
