"""Experiments c, d, e: Mei-Montanari double descent, kernel spectra on a Gaussian
mixture with their linear equivalent, conjugate-kernel spectrum (theory note
nonlinear.md §2.4, §3.3, §3.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..equivalents import activation, kernel_equivalent
from ..laws import ConjugateKernelLaw
from ..models import MeiMontanari
from ._registry import Agreement, ExperimentResult, FigureSpec, make_table, register


def _seeds(seed: int, k: int):
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(k)]


def _hist_rows(panel, law, ev, bins, grid, extra):
    counts, edges = np.histogram(ev, bins=bins)
    width = np.diff(edges)
    centres = (edges[:-1] + edges[1:]) / 2
    n = ev.size
    rows = [dict(panel=panel, series="density", x=float(c), empirical=k / (n * w),
                 stderr=np.sqrt(k) / (n * w), **extra)
            for c, k, w in zip(centres, counts, width)]
    rows += [dict(panel=panel, series="density", x=float(x), theory=float(d), **extra)
             for x, d in zip(grid, law.pdf(grid))]
    return rows


# ---------------------------------------------------------------------------------------
# c. Mei-Montanari
@register("mei_montanari", "Random-features ridge on the sphere: Mei-Montanari test error "
          "over simulation", "kernels")
def mei_montanari_curve(quick: bool, seed: int) -> ExperimentResult:
    d = 50 if quick else 100
    trials = 16 if quick else 12      # the mean at the peak is heavy-tailed over draws
    psi2 = 2.0
    ridges = (1e-3, 1e-1)                          # a sharp peak, and the ridge that damps it
    C = 0.5                                        # finite-size allowance C / sqrt(d)
    sim_grid = np.array([0.5, 1.5, 2.0, 3.0, 6.0]) if quick else \
        np.array([0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0])
    fine = np.unique(np.concatenate([np.linspace(0.1, 6.0, 119), [psi2]]))
    panel = f"ReLU, psi2 = n/d = {psi2:g}; simulation at d = {d}"
    rows, frames = [], []
    for k, ridge in enumerate(ridges):
        mm = MeiMontanari("relu", psi2=psi2, ridge=ridge, signal_var=1.0,
                          nonlinear_var=0.04, noise_var=0.09)
        series = f"test error, ridge {ridge:g}"
        rows += [dict(panel=panel, series=series, x=float(x), theory=float(t), ridge=ridge)
                 for x, t in zip(fine, mm.test_error(psi1=fine))]
        df = mm.simulate(d, trials=trials, seed=seed + k, psi1=sim_grid, n_test=1000)
        df["ridge"] = ridge
        frames.append(df)
        rows += [dict(panel=panel, series=series, x=r.psi1, theory=r.theory,
                      empirical=r.empirical, stderr=r.stderr, ridge=ridge, n_features=d,
                      n_random_features=r.n_random_features, n_samples=r.n_samples)
                 for r in df.itertuples()]
    df = pd.concat(frames, ignore_index=True)
    # |sim - theory| <= 3 stderr + C/sqrt(d) at every point, stated as a ratio <= 1
    ratio = float(np.max(np.abs(df.empirical - df.theory) / (3 * df.stderr + C / np.sqrt(d))))
    rel = float(np.max(np.abs(df.empirical - df.theory) / df.theory))
    agreement = (Agreement("max |sim - theory| / (3 stderr + C/sqrt(d))", ratio, 1.0,
                           f"over the psi1 grid and both ridges, {trials} replicates per "
                           f"point at d = {d}; C = {C} allows for the finite-size bias of "
                           f"the asymptotic formula; passing means |sim - theory| <= "
                           f"3 stderr + {C / np.sqrt(d):.3f} at every point"),)
    sharp = df[df.ridge == ridges[0]]
    lines = "\n".join(f"| {r.ridge:g} | {r.psi1:g} | {r.theory:.4f} | {r.empirical:.4f} | "
                      f"{r.stderr:.4f} |" for r in df.itertuples())
    at_n = sharp.loc[np.isclose(sharp.psi1, psi2)].iloc[0]
    curve = np.array([(r["x"], r["theory"]) for r in rows
                      if r["ridge"] == ridges[0] and "empirical" not in r])
    x_max = float(curve[np.argmax(curve[:, 1]), 0])
    summary = (
        "Test error of ridge regression on N = psi1 d ReLU random features, n = psi2 d "
        "samples uniform on the sphere of radius sqrt(d), target <beta, x> (F1^2 = 1) plus "
        "a quadratic nonlinear part (F*^2 = 0.04) and noise (tau^2 = 0.09), against the "
        "Mei-Montanari (2019) formula (theory note §3.3). At ridge "
        f"{ridges[0]:g} the curve shows the model-wise double descent: its maximum is at "
        f"psi1 = {x_max:.2f}, next to the interpolation threshold N = n (psi1 = psi2 = "
        f"{psi2:g}, theory {at_n.theory:.3f}, simulation {at_n.empirical:.3f}); ridge "
        f"{ridges[1]:g} removes the peak and "
        "the error decreases monotonically in N.\n\n"
        "| ridge | psi1 | theory | simulation | stderr |\n|---|---|---|---|---|\n" + lines +
        f"\n\nLargest relative deviation {rel:.1%} at d = {d}; the largest deviation is "
        f"{ratio:.2f} of the allowance 3 stderr + {C}/sqrt(d). The formula is an asymptotic "
        "statement; at this small d the deviations are largest near the interpolation peak, "
        "where the test error of one draw is heavy-tailed and the finite-d corrections are "
        "largest.")
    return ExperimentResult("mei_montanari", "Random-features ridge on the sphere: "
                            "Mei-Montanari test error over simulation", make_table(rows),
                            agreement, summary,
                            FigureSpec(xlabel="psi1 = N / d", ylabel="test error",
                                       kind="curve", ncols=1))


# ---------------------------------------------------------------------------------------
# d. kernel spectrum on a Gaussian mixture
@register("kernel_gmm_spectrum", "Distance-kernel spectrum on a two-class Gaussian mixture "
          "over its linear equivalent", "kernels")
def kernel_gmm_spectrum(quick: bool, seed: int) -> ExperimentResult:
    p = 300 if quick else 600
    n = p // 2
    draws = 3 if quick else 4
    ell = 4.0                                      # ||mu||^2
    mu = np.zeros(p)
    mu[0] = np.sqrt(ell)
    keq = kernel_equivalent(lambda t: np.exp(-t / 2), kind="distance", means=[mu, -mu],
                            n_samples=n)
    law, spikes = keq.spectrum(), keq.spikes()
    P = np.eye(n) - 1.0 / n
    evs, tops, aligns, op_err, op_norm = [], [], [], [], []
    for rng in _seeds(seed, draws):
        s = keq.sample(seed=rng)
        K = P @ s.kernel @ P
        ev, U = np.linalg.eigh(K)
        v = np.eye(2)[s.labels] @ spikes["directions"][:, 0]
        v -= v.mean()
        v /= np.linalg.norm(v)
        evs.append(ev[:-1])
        tops.append(ev[-1])
        aligns.append(float((U[:, -1] @ v) ** 2))
        op_err.append(np.linalg.norm(K - P @ s.equivalent @ P, 2))
        op_norm.append(np.linalg.norm(K, 2))
    bulk = np.concatenate(evs)
    lo, hi = law.support[0]
    pad = 0.08 * (hi - lo)
    bins = np.linspace(lo - pad, hi + pad, 31 if quick else 41)
    grid = np.linspace(lo - pad, hi + pad, 250)
    panel = f"bulk of PKP (p = {p}, n = {n}, {draws} draws)"
    extra = dict(n_features=p, n_samples=n)
    rows = _hist_rows(panel, law, bulk, bins, grid, extra)
    tops, aligns = np.asarray(tops), np.asarray(aligns)
    edges = np.array([e[-1] for e in evs])         # largest bulk eigenvalue of each draw
    se = lambda a: float(a.std(ddof=1) / np.sqrt(a.size))   # noqa: E731
    # Theory against the class-mean energy ||mu||^2 (BBP transition at sqrt(p/n)); the
    # simulation is at ||mu||^2 = ell only (one marker per series).
    ells = np.union1d(np.linspace(0.25, 2 * ell, 64), [np.sqrt(p / n)])
    top_th, align_th = [], []
    for e2 in ells:
        m2 = np.zeros(p)
        m2[0] = np.sqrt(e2)
        sp = kernel_equivalent(lambda t: np.exp(-t / 2), kind="distance", means=[m2, -m2],
                               n_samples=n).spikes()
        top_th.append(sp["eigenvalue"][0] if sp["eigenvalue"].size else hi)
        align_th.append(sp["alignment"][0] if sp["alignment"].size else 0.0)
    p_top, p_align = "largest eigenvalues of PKP", "top eigenvector vs class vector"
    rows += [dict(panel=p_top, series="isolated eigenvalue", x=float(e2), theory=float(t),
                  **extra) for e2, t in zip(ells, top_th) if e2 != ell]
    rows += [dict(panel=p_top, series="largest bulk eigenvalue (edge)", x=float(e2),
                  theory=hi, **extra) for e2 in ells if e2 != ell]
    rows += [dict(panel=p_align, series="alignment |<u, v>|²", x=float(e2), theory=float(t),
                  **extra) for e2, t in zip(ells, align_th) if e2 != ell]
    rows.append(dict(panel=p_top, series="isolated eigenvalue", x=ell,
                     theory=float(spikes["eigenvalue"][0]), empirical=tops.mean(),
                     stderr=se(tops), **extra))
    rows.append(dict(panel=p_top, series="largest bulk eigenvalue (edge)", x=ell, theory=hi,
                     empirical=edges.mean(), stderr=se(edges), **extra))
    rows.append(dict(panel=p_align, series="alignment |<u, v>|²", x=ell,
                     theory=float(spikes["alignment"][0]), empirical=aligns.mean(),
                     stderr=se(aligns), **extra))
    # Stieltjes transform of the bulk, per draw. The kernel matrix differs from its
    # linear equivalent by O(n^-1/2) in operator norm (El Karoui 2010; theory note §2.4),
    # which moves m(z) by O(n^-1/2) at fixed distance from the spectrum: compare the mean
    # over draws with 3 stderr + 2/sqrt(n) (eta = 0.1 >= n^-1/2; the constant 2 was
    # measured: the ratio below stayed under 0.45 over seeds 0-9 in quick mode).
    eta = 0.1
    z = np.array([0.5 * (lo + hi) + 1j * eta, hi + 1j * eta])
    m_draws = np.array([np.mean(1 / (e[:, None] - z), axis=0) for e in evs])
    m_dev = np.abs(m_draws.mean(axis=0) - law.stieltjes(z))
    m_se = np.abs(m_draws - m_draws.mean(axis=0)).std(axis=0, ddof=1) / np.sqrt(draws)
    m_ratio = float(np.max(m_dev / (3 * m_se + 2.0 / np.sqrt(n))))
    # |mean - theory| <= 3 stderr + 1/sqrt(n) (finite-size corrections scale with the
    # dimension n of the kernel matrix), stated as a ratio <= 1
    allow = 1.0 / np.sqrt(n)
    spike_ratio = abs(tops.mean() - spikes["eigenvalue"][0]) / (3 * se(tops) + allow)
    align_ratio = abs(aligns.mean() - spikes["alignment"][0]) / (3 * se(aligns) + allow)
    agreement = (
        Agreement("relative operator-norm error ||PKP - PK~P|| / ||PKP||",
                  float(np.mean(op_err) / np.mean(op_norm)), 0.15,
                  "linear equivalent vs kernel on the same draws (theory note §2.4: ~0.02 "
                  "at p = 1000); tolerance 0.15 at these sizes"),
        Agreement("isolated eigenvalue: |mean - theory| / (3 stderr + 1/sqrt(n))",
                  float(spike_ratio), 1.0,
                  f"mean of the top eigenvalue over {draws} draws; passing means "
                  f"|mean - theory| <= 3 stderr + 1/sqrt(n) = 3 stderr + {allow:.3f}"),
        Agreement("alignment: |mean - theory| / (3 stderr + 1/sqrt(n))", float(align_ratio),
                  1.0, "squared overlap of the top eigenvector with the class vector; "
                  f"passing means |mean - theory| <= 3 stderr + {allow:.3f}"),
        Agreement("bulk Stieltjes transform: max |mean - m(z)| / (3 stderr + 2/sqrt(n))",
                  m_ratio, 1.0,
                  f"at z = centre and right edge of the bulk + {eta}i, top eigenvalue removed; "
                  f"mean over {draws} draws of the n x n kernel (n = {n})"),
    )
    c = keq.coefficients
    summary = (
        f"Gaussian kernel f(t) = exp(-t/2) of ||x_i - x_j||^2/p on two classes +-mu "
        f"(||mu||^2 = {ell:g}, identity covariance), p = {p}, n = {n}. After centring, the "
        f"kernel matrix is close in operator norm to its linear equivalent (theory note "
        f"§2.4): slope -2f'(tau) = {c['slope']:.4f} times the Gram matrix plus "
        f"{c['shift']:.4f} I, plus low-rank terms. Hence the bulk is an affine image of "
        f"the Marchenko-Pastur law of ratio n/p = {n / p:g}, and the class means give one "
        f"isolated eigenvalue (BBP threshold ||mu||^2 > sqrt(p/n)).\n\n"
        f"| quantity | theory | simulation |\n|---|---|---|\n"
        f"| relative \\|\\|PKP - PK~P\\|\\| | 0 (limit) | "
        f"{np.mean(op_err) / np.mean(op_norm):.4f} |\n"
        f"| isolated eigenvalue | {spikes['eigenvalue'][0]:.4f} | {tops.mean():.4f} +- "
        f"{se(tops):.4f} |\n"
        f"| bulk right edge | {hi:.4f} | {edges.mean():.4f} +- {se(edges):.4f} |\n"
        f"| eigenvector alignment | {spikes['alignment'][0]:.4f} | {aligns.mean():.4f} +- "
        f"{se(aligns):.4f} |\n\n"
        "The operator-norm error decreases slowly (~sqrt(log n / p)); the isolated "
        "eigenvalue and the alignment carry O(1/sqrt(p)) fluctuations, and the largest "
        "bulk eigenvalue sits slightly inside the edge (Tracy-Widom scale). The middle and "
        "right panels draw the theory against ||mu||^2: below the BBP threshold "
        f"sqrt(p/n) = {np.sqrt(p / n):.3f} no eigenvalue leaves the bulk and the top "
        f"eigenvector carries no class information; markers: the simulation at "
        f"||mu||^2 = {ell:g}.")
    return ExperimentResult("kernel_gmm_spectrum", "Distance-kernel spectrum on a two-class "
                            "Gaussian mixture over its linear equivalent", make_table(rows),
                            agreement, summary,
                            FigureSpec(xlabel="eigenvalue", ylabel="density", kind="density",
                                       ncols=3, panel_axes={
                                           p_top: ("class-mean energy ||μ||²",
                                                   "eigenvalue"),
                                           p_align: ("class-mean energy ||μ||²",
                                                     "squared overlap |<u, v>|²")}))


# ---------------------------------------------------------------------------------------
# e. conjugate-kernel spectrum (the law centres the activation itself)
@register("ck_spectrum", "Conjugate-kernel Gram spectrum (Pennington-Worah) over "
          "simulation", "kernels")
def ck_spectrum(quick: bool, seed: int) -> ExperimentResult:
    n1 = 200 if quick else 500
    draws = 1 if quick else 2
    phi, width = 0.5, 0.625
    rows, agreement, lines = [], [], []
    for (name, func), rng in zip((("tanh", activation("tanh")),
                                  ("ReLU (centred)", activation("relu"))), _seeds(seed, 2)):
        law = ConjugateKernelLaw.from_activation(func, phi, width)
        n0, m, _ = law._sizes(n1)
        ev = np.concatenate([law.sample(n1, seed=rng) for _ in range(draws)])
        ev_lin = law.sample(n1, seed=rng, equivalent=True)
        lo, hi = law.support[0]
        pad = 0.05 * hi
        bins = np.linspace(max(0.0, lo - pad), hi + pad, 31 if quick else 41)
        grid = np.linspace(max(1e-4, lo - pad), hi + pad, 200)
        panel = f"{name}: eta = {law.eta:.4f}, zeta = {law.zeta:.4f}"
        extra = dict(n_features=n0, n_samples=m, n_random_features=n1)
        rows += _hist_rows(panel, law, ev, bins, grid, extra)
        z = np.array([0.25 * hi + 0.1j, 0.5 * hi + 0.1j, hi + 0.1j, -0.5 + 0j])
        m_th = law.stieltjes(z)
        err = float(np.max(np.abs(np.mean(1 / (ev[:, None] - z), axis=0) - m_th)))
        err_lin = float(np.max(np.abs(np.mean(1 / (ev_lin[:, None] - z), axis=0) - m_th)))
        tol = 1.0 / np.sqrt(n1)
        agreement.append(Agreement(f"{name}: max |m_emp(z) - m(z)|", err, tol,
                                   "z in {0.25, 0.5, 1} x right edge + 0.1i and -0.5; "
                                   "tolerance 1/sqrt(n1)"))
        agreement.append(Agreement(f"{name}: linear equivalent, max |m_emp(z) - m(z)|",
                                   err_lin, tol, "Péché's sqrt(zeta) WX + sqrt(eta-zeta) Z"))
        lines.append(f"| {name} | {law.eta:.4f} | {law.zeta:.4f} | [{lo:.4f}, {hi:.4f}] | "
                     f"[{ev.min():.4f}, {ev.max():.4f}] | {err:.4f} | {err_lin:.4f} |")
    summary = (
        "Eigenvalues of Y Y^T / m with Y = f(W X) (W: n1 x n0 Gaussian with variance "
        f"1/n0, X: n0 x m Gaussian), n1 = {n1}, n0/m = {phi}, n1/m = {width}, against "
        "the Pennington-Worah law (quartic, theory note §3.4), which depends on f only "
        "through eta = E f^2 and zeta = (E f')^2; the same law is compared with Péché's "
        "linear equivalent sqrt(zeta) WX + sqrt(eta - zeta) Z.\n\n"
        "| activation | eta | zeta | support (theory) | eigenvalue range | max \\|Δm\\| "
        "nonlinear | max \\|Δm\\| linear equivalent |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(lines) + "\n\nAgreement is at the 1e-3-1e-2 level in the Stieltjes "
        "transform at these sizes (finite-n bias plus fluctuations); the extreme "
        "eigenvalues sit within a few percent of the edges.")
    return ExperimentResult("ck_spectrum", "Conjugate-kernel Gram spectrum "
                            "(Pennington-Worah) over simulation", make_table(rows),
                            tuple(agreement), summary,
                            FigureSpec(xlabel="eigenvalue", ylabel="density", kind="density",
                                       ncols=2))
