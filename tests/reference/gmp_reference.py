"""High-precision reference for the generalized Marchenko-Pastur law (mpmath).

Population H = 1/2 delta_1 + 1/2 delta_4, aspect_ratio c = p/n = 0.5. On 1000 real
points x in [0.01, 9.0] (a uniform grid), the companion Stieltjes transform
mt(x + i0) is the root with the largest imaginary part of the Silverstein-Choi
polynomial (theory note linear.md §3.3)

    x mt P(mt) + P(mt) - c mt sum_j w_j t_j prod_{l != j} (1 + t_l mt) = 0,
    P(mt) = prod_j (1 + t_j mt),

solved with mpmath.polyroots at 40 significant digits. Written to
``gmp_reference.csv`` beside this script: columns x, mt_real, mt_imag, density,
where density = Im((mt + (1 - c)/x)/c)/pi is the p x p density (0 where all roots
are real: outside the support). The file is independent of hdeq.

Run: ``python tests/reference/gmp_reference.py`` (about 2 s).
"""

from __future__ import annotations

import csv
from pathlib import Path

import mpmath as mp

VALUES = (1, 4)
WEIGHTS = (mp.mpf(1) / 2, mp.mpf(1) / 2)
RATIO = mp.mpf(1) / 2
N_POINTS = 1000
X_MIN, X_MAX = mp.mpf("0.01"), mp.mpf(9)


def poly_mul(a, b):
    out = [mp.mpf(0)] * (len(a) + len(b) - 1)
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            out[i + j] += ai * bj
    return out


def poly_add(a, b):
    n = max(len(a), len(b))
    a = a + [mp.mpf(0)] * (n - len(a))
    b = b + [mp.mpf(0)] * (n - len(b))
    return [x + y for x, y in zip(a, b)]


def coefficients(x):
    """Ascending coefficients of the Silverstein-Choi polynomial in mt at x."""
    P = [mp.mpf(1)]
    for t in VALUES:
        P = poly_mul(P, [mp.mpf(1), mp.mpf(t)])
    S = [mp.mpf(0)]
    for j, tj in enumerate(VALUES):
        q = [mp.mpf(1)]
        for l, tl in enumerate(VALUES):
            if l != j:
                q = poly_mul(q, [mp.mpf(1), mp.mpf(tl)])
        S = poly_add(S, [WEIGHTS[j] * tj * c for c in q])
    lhs = poly_add(poly_mul([mp.mpf(0), x], P), P)
    rhs = poly_mul([mp.mpf(0), RATIO], S)
    return poly_add(lhs, [-c for c in rhs])


def main():
    mp.mp.dps = 40
    rows = []
    for i in range(N_POINTS):
        x = X_MIN + (X_MAX - X_MIN) * i / (N_POINTS - 1)
        coef = coefficients(x)
        roots = mp.polyroots(list(reversed(coef)), maxsteps=200, extraprec=200)
        r = max(roots, key=lambda r: mp.im(r))
        if mp.im(r) < mp.mpf(10) ** -30:
            r = mp.mpc(mp.re(r), 0)
            # outside the support: the real root where x'(mt) > 0 (Silverstein-Choi)
            reals = [mp.re(q) for q in roots]

            def xprime(m):
                return 1 / m**2 - RATIO * sum(w * t**2 / (1 + t * m) ** 2
                                              for t, w in zip(VALUES, WEIGHTS))
            good = [m for m in reals if xprime(m) > 0]
            r = mp.mpc(good[0], 0) if len(good) == 1 else mp.mpc(mp.nan, 0)
            dens = mp.mpf(0)
        else:
            dens = mp.im((r + (1 - RATIO) / x) / RATIO) / mp.pi
        rows.append((mp.nstr(x, 20), mp.nstr(mp.re(r), 25), mp.nstr(mp.im(r), 25),
                     mp.nstr(dens, 25)))
    out = Path(__file__).with_name("gmp_reference.csv")
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x", "mt_real", "mt_imag", "density"])
        w.writerows(rows)
    print(f"wrote {out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
