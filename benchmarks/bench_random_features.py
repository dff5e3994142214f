"""Benchmark: expected kernels and random-feature theory curves on MNIST.

Prints, in one run:
1. the expected-kernel matrix on all 5000 MNIST rows for closed-form activations (target
   < 2 s) and, for comparison, the quadrature tier (tanh) on 1000 rows;
2. an RF theory curve over 50 values of N on 2000 training rows (one eigendecomposition;
   target < 5 s) beside one simulation (one draw of W) of the same curve, as a time ratio,
   with the relative deviation theory vs simulation.

Run: python benchmarks/bench_random_features.py   (one BLAS thread is used, as in
``hdeq reproduce``).
"""

import time

import numpy as np
from threadpoolctl import threadpool_limits

import hdeq


def main():
    X, digit = hdeq.data.mnist()
    y = np.where(digit % 2 == 0, 1.0, -1.0)
    wv = X.shape[1] / np.mean((X ** 2).sum(1))
    Xs = X * np.sqrt(wv / X.shape[1])
    print("1. expected kernel E_w[s(w'x)s(w'y)] on MNIST rows")
    for name in ("relu", "erf", "sign", "cos"):
        act = hdeq.activation(name)
        t = time.perf_counter()
        K = act.kernel(Xs)
        dt = time.perf_counter() - t
        print(f"   {name:5s} 5000x5000 closed form: {dt:6.2f} s  (target < 2 s; ratio "
              f"{dt / 2:.2f})  finite: {np.isfinite(K).all()}")
    act = hdeq.activation("tanh")
    t = time.perf_counter()
    act.kernel(Xs[:1000])
    print(f"   tanh  1000x1000 quadrature (Mehler): {time.perf_counter() - t:6.2f} s")

    print("2. RF ridge theory curve, 50 values of N, n = 2000 training rows, ReLU, ridge 1e-2")
    rng = np.random.default_rng(0)
    idx = rng.permutation(5000)
    n = 2000
    tr, te = idx[:n], idx[n:n + 1000]
    N = np.unique(np.round(np.geomspace(n / 20, 4 * n, 50)).astype(int))
    t = time.perf_counter()
    model = hdeq.RandomFeaturesRidge(X[tr], y[tr], X[te], y[te], activation="relu",
                                     n_random_features=N, ridge=1e-2, weight_variance=wv)
    theory = model.test_error()
    t_theory = time.perf_counter() - t
    print(f"   theory ({len(N)} N values, incl. kernel + one eigh): {t_theory:6.2f} s "
          f"(target < 5 s; ratio {t_theory / 5:.2f})")
    t = time.perf_counter()
    sim = model.simulate(trials=2, seed=1)
    t_sim = (time.perf_counter() - t) / 2
    emp = sim[sim["quantity"] == "test_error"]["empirical"].to_numpy()
    rel = np.abs(emp - theory) / theory
    print(f"   simulation (per draw of W, same {len(N)} N values; 2 draws): {t_sim:6.2f} s")
    print(f"   time ratio theory / simulation: {t_theory / t_sim:.3f}")
    print(f"   |theory - simulation| / theory: median {np.median(rel):.3f}, "
          f"max {rel.max():.3f} (mean of 2 draws; the spread over W is part of it)")


if __name__ == "__main__":
    with threadpool_limits(1, user_api="blas"):
        main()
