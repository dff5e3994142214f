"""Spectra benchmark: time and accuracy of hdeq's spectral densities, side by side.

One run prints one table: each row is a method on a task, with its wall time, the
maximum error against an independent reference, and the time as a ratio to hdeq's
route on the same task. Tasks:

1. Marchenko-Pastur density (c = 0.5) on 1000 points: closed form, and the generic
   Newton route (SampleCovarianceLaw with one atom) against the closed form.
2. Generalized MP, H = 1/2 delta_1 + 1/2 delta_4, c = 0.5, 1000 real points,
   against the mpmath polynomial-root reference (tests/reference/gmp_reference.csv):
   hdeq (Newton on the real axis), a plain damped fixed point on delta at
   eta = 1e-3 and 1e-6 (what research code typically does), and freealg's
   DeformedMarchenkoPastur if it is installed.
3. The same kind of law with 10 000 distinct population eigenvalues (uniform on
   [0.5, 5]) on 1000 points (target: <= 0.2 s), error against a plain full
   continuation solve on 100 of the points.
4. One Monte-Carlo draw at p = 1000, n = 2000 (eigenvalues of X^T X / n), and the
   error of its Stieltjes transform at z = 1 + 0.5i against the MP formula.

Run: ``python benchmarks/bench_spectra.py`` (about a minute on 2 cores). Timings
on a shared machine are noisy: compare ratios within one run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from _timing import timed as _timed

from hdeq.core import solve_stieltjes
from hdeq.laws import MarchenkoPastur, SampleCovarianceLaw

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeat=3):
    """Best wall time of ``repeat`` calls (shared helper)."""
    return _timed(fn, repeat, wall=True)


def fixed_point_density(x, t, w, c, eta, tol=1e-13, max_iter=200_000):
    """Plain damped fixed point on delta (theory note linear.md §3.3), vectorized over
    x: delta <- (1 - d) delta + d c sum_j w_j t_j / (t_j/(1 + delta) - z), d = 0.5."""
    z = x + 1j * eta
    delta = np.zeros_like(z)
    n_iter = 0
    active = np.ones(z.shape, bool)
    for n_iter in range(1, max_iter + 1):
        zz, dd = z[active], delta[active]
        new = 0.5 * dd + 0.5 * c * np.sum(w * t / (t / (1 + dd[:, None]) - zz[:, None]),
                                          axis=1)
        done = np.abs(new - dd) <= tol * np.abs(new)
        delta[active] = new
        idx = np.flatnonzero(active)
        active[idx[done]] = False
        if not active.any():
            break
    mt = -1.0 / (z * (1 + delta))
    m = (mt + (1 - c) / z) / c
    return m.imag / np.pi, n_iter


def main():
    rows = []

    # 1. MP density ------------------------------------------------------------
    c = 0.5
    mp = MarchenkoPastur(c)
    x = np.linspace(0.0, 3.2, 1000)
    t_cf, ref = timed(lambda: mp.pdf(x))
    g1 = SampleCovarianceLaw([1.0], c)
    t_nw, dens = timed(lambda: SampleCovarianceLaw([1.0], c).pdf(x))
    rows += [("MP c=0.5, 1000 pts", "hdeq MarchenkoPastur.pdf (closed form)", t_cf, 0.0, None),
             ("MP c=0.5, 1000 pts", "hdeq Newton on the real axis (1-atom GMP)", t_nw,
              float(np.max(np.abs(dens - ref))), None)]
    del g1

    # 2. GMP 1/2 d1 + 1/2 d4 vs mpmath reference ------------------------------
    with (ROOT / "tests" / "reference" / "gmp_reference.csv").open() as fh:
        data = np.array([[float(v) for v in r] for r in list(csv.reader(fh))[1:]])
    xr, ref = data[:, 0], data[:, 3]
    t, w = np.array([1.0, 4.0]), np.array([0.5, 0.5])
    t_h, dens = timed(lambda: SampleCovarianceLaw((t, w), c).pdf(xr))
    task = "GMP {1,4}, c=0.5, 1000 pts"
    rows.append((task, "hdeq SampleCovarianceLaw.pdf (Newton, real axis)", t_h,
                 float(np.max(np.abs(dens - ref))), t_h))
    for eta in (1e-3, 1e-6):
        t_fp, (d_fp, it) = timed(lambda: fixed_point_density(xr, t, w, c, eta), repeat=1)
        rows.append((task, f"damped fixed point, eta={eta:g} ({it} iterations)", t_fp,
                     float(np.max(np.abs(d_fp - ref))), t_h))
    try:
        from freealg.distributions import DeformedMarchenkoPastur
    except Exception as exc:  # pragma: no cover - optional
        print(f"[freealg not available: {exc!r}; row skipped]")
    else:
        fa = DeformedMarchenkoPastur(t, w, c)
        t_fa, d_fa = timed(lambda: np.asarray(fa.density(xr)), repeat=1)
        rows.append((task, "freealg DeformedMarchenkoPastur.density (defaults)", t_fa,
                     float(np.max(np.abs(d_fa - ref))), t_h))
        try:
            t_fa2, d_fa2 = timed(lambda: np.asarray(fa.density(xr, eta=1e-9)), repeat=1)
            rows.append((task, "freealg DeformedMarchenkoPastur.density (eta=1e-9)", t_fa2,
                         float(np.max(np.abs(d_fa2 - ref))), t_h))
        except Exception as exc:  # pragma: no cover - optional
            print(f"[freealg with eta=1e-9 failed: {exc!r}]")

    # 3. 10^4 distinct eigenvalues --------------------------------------------
    rng = np.random.default_rng(0)
    tt = np.sort(rng.uniform(0.5, 5.0, 10_000))
    big = SampleCovarianceLaw(tt, c)
    sup = big.support                                     # cached, timed separately
    t_sup, _ = timed(lambda: SampleCovarianceLaw(tt, c).support, repeat=1)
    xb = np.linspace(0.0, sup[-1][1] * 1.05, 1001)[1:]
    t_big, res = timed(lambda: big._solve_companion(xb + 0j), repeat=2)
    ww = np.full(tt.size, 1e-4)

    def fun(m, z, idx):
        d = 1 + tt * m[:, None]
        return -1 / m + c * (ww * tt / d).sum(1) - z, 1 / m**2 - c * (ww * tt**2 / d**2).sum(1)

    sub = slice(0, None, 10)
    t_plain, slow = timed(lambda: solve_stieltjes(fun, xb[sub] + 0j, scale=big._scale),
                          repeat=1)
    err = float(np.max(np.abs(res.value[sub] - slow.value)))
    task = "GMP 10^4 eigenvalues, 1000 pts"
    rows.append((task, f"hdeq companion transform (all converged: {res.all_converged})",
                 t_big, err, t_big))
    rows.append((task, "plain continuation, full population (100 pts, x10 to compare)",
                 10 * t_plain, 0.0, t_big))
    rows.append((task, "support edges (Silverstein-Choi, screened)", t_sup, float("nan"),
                 None))
    t_pdf, _ = timed(lambda: big.pdf(xb), repeat=1)
    rows.append((task, "hdeq SampleCovarianceLaw.pdf (same points)", t_pdf, float("nan"),
                 t_big))

    # 4. Monte-Carlo draw ------------------------------------------------------
    t_mc, ev = timed(lambda: mp.sample(1000, seed=0), repeat=1)
    z = 1 + 0.5j
    err = abs(np.mean(1 / (ev - z)) - mp.stieltjes(z))
    rows.append(("MC p=1000, n=2000", "one draw: eigvalsh of X^T X/n", t_mc, float(err),
                 None))

    # print --------------------------------------------------------------------
    print(f"{'task':<32} {'method':<66} {'time [s]':>9} {'max error':>10} {'t / hdeq':>9}")
    for task, method, tm, er, base in rows:
        ratio = f"{tm / base:9.2f}" if base else f"{'':>9}"
        print(f"{task:<32} {method:<66} {tm:9.4f} {er:10.2e} {ratio}")


if __name__ == "__main__":
    main()
