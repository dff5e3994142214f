"""Resolvent deterministic equivalent vs its Monte-Carlo twin: times and errors side by
side, as ratios, in one run.  Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_resolvent.py

For the theory note §3.6 population (eigenvalues 1, 3, 10 with weights .5, .3, .2,
c = p/n = 0.3) at z = 2 + 1i, each row times

* theory: ``resolvent_equivalent(C, n, z)`` plus the functionals (1/p) tr Q, (1/p) tr A Q
  and a^T Q b (one Newton solve of the Silverstein equation, then O(p) work for a
  diagonal C, or one p x p eigendecomposition for a dense C);
* simulation: ``.simulate(trials, ...)`` of the same functionals (one p x p
  eigendecomposition of X^T X / n per draw);

and reports the simulation / theory time ratio and the error of the Monte-Carlo mean in
standard errors (|mean - theory| / stderr, largest over the functionals) and absolute
terms. A dense rotated C (same spectrum) is timed too.
"""


import numpy as np
from _timing import timed

import hdeq


def population(p):
    k1, k3 = p // 2, 3 * p // 10
    return np.repeat([1.0, 3.0, 10.0], [k1, k3, p - k1 - k3])


def main():
    z, c, trials = 2.0 + 1.0j, 0.3, 10
    print(f"{'case':34s} {'theory s':>9s} {'sim s':>9s} {'sim/theory':>11s} "
          f"{'max |err|/se':>12s} {'max |err|':>10s}")
    for dense in (False, True):
        for p in (200, 400, 800):
            n = round(p / c)
            a = np.ones(p) / np.sqrt(p)
            b = np.zeros(p)
            b[: p // 2] = 1 / np.sqrt(p // 2)
            A = np.linspace(0, 2, p)
            C = population(p)
            if dense:
                Q, R = np.linalg.qr(np.random.default_rng(0).standard_normal((p, p)))
                C = (Q * C) @ Q.T
                a, b, A = Q @ a, Q @ b, (Q * A) @ Q.T

            def theory():
                eq = hdeq.resolvent_equivalent(C, n, z)
                return eq, eq.functionals(A=A, a=a, b=b)

            t_th, (eq, _) = timed(theory)
            t_sim, table = timed(lambda: eq.simulate(trials, seed=1, A=A, a=a, b=b))
            err = np.abs(table["empirical"] - table["theory"]).to_numpy()
            zscore = np.max(err / table["stderr"].to_numpy())
            label = f"{'dense' if dense else 'diagonal'} C, p = {p}, {trials} draws"
            print(f"{label:34s} {t_th:9.4f} {t_sim:9.3f} {t_sim / t_th:11.1f} "
                  f"{zscore:12.2f} {err.max():10.2e}")


if __name__ == "__main__":
    main()
