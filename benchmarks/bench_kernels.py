"""Theory vs simulation for the kernel / CK / Mei-Montanari area: times and errors side by
side, as ratios, in one run.  Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_kernels.py
"""


import numpy as np
from _timing import timed

import hdeq


def main():
    print(f"{'quantity':44s} {'theory s':>9s} {'sim s':>9s} {'sim/theory':>10s} {'|err|':>9s}")
    # Conjugate-kernel Stieltjes transform at 200 points vs one Gram matrix draw
    law = hdeq.ConjugateKernelLaw.from_activation(hdeq.activation("tanh"), 0.5, 0.625)
    z = np.linspace(0.05, 2.5, 200) + 0.1j
    t_th, m = timed(lambda: law.stieltjes(z))
    for n1 in (200, 400, 800):
        t_sim, ev = timed(lambda: law.sample(n1, seed=0))
        err = np.max(np.abs(np.mean(1 / (ev[:, None] - z), axis=0) - m))
        print(f"{'CK m(z), 200 z, n1 = %d' % n1:44s} {t_th:9.3f} {t_sim:9.3f} "
              f"{t_sim / t_th:10.1f} {err:9.4f}")
    # Mei-Montanari: 100-point curve vs 1 simulated point with 5 replicates
    mm = hdeq.MeiMontanari("relu", psi2=2.0, ridge=1e-2)
    grid = np.linspace(0.1, 6, 100)
    t_th, _ = timed(lambda: mm.test_error(psi1=grid))
    for d in (50, 100, 200):
        t_sim, df = timed(lambda: mm.simulate(d, trials=5, seed=0, psi1=[3.0]))
        err = float(abs(df.empirical[0] - df.theory[0]))
        print(f"{'MM curve (100 psi1) vs 1 point, d = %d' % d:44s} {t_th:9.3f} {t_sim:9.3f} "
              f"{t_sim / t_th:10.1f} {err:9.4f}")
    # kernel equivalent: spike prediction vs one kernel matrix + eigendecomposition
    for p in (200, 400):
        mu = np.zeros(p)
        mu[0] = 2.0
        keq = hdeq.kernel_equivalent(lambda t: np.exp(-t / 2), kind="distance",
                                     means=[mu, -mu], n_samples=p // 2)
        t_th, sp = timed(keq.spikes)

        def sim():
            s = keq.sample(seed=1)
            n = len(s.labels)
            P = np.eye(n) - 1 / n
            return np.linalg.eigvalsh(P @ s.kernel @ P)[-1]
        t_sim, top = timed(sim)
        print(f"{'kernel spike, p = %d' % p:44s} {t_th:9.4f} {t_sim:9.3f} "
              f"{t_sim / max(t_th, 1e-6):10.1f} {abs(top - sp['eigenvalue'][0]):9.4f}")


if __name__ == "__main__":
    main()
