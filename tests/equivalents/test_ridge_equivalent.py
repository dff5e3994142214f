"""Fast paths of the ridge deterministic equivalent (hdeq.equivalents._ridge_equivalent):
the shared-table Newton start, the risk sums fused into the last Newton evaluation, and the
ridge/kappa form of the training-error factor.

References: theory note linear.md §3.2 / §5.2 (defining equation and risk formulas), §5.5
(isotropic closed form of kappa), and 40-digit mpmath evaluations of the same formulas.
"""

import mpmath as mp
import numpy as np
import pytest

from hdeq.equivalents import ridge_risk, solve_effective_ridge, spectral_sums
from hdeq.equivalents import _ridge_equivalent as mod


def _power_law(p=300, seed=0):
    s = np.arange(1, p + 1, dtype=float) ** -1.0
    s *= p / s.sum()
    b = np.sqrt(s) * np.random.default_rng(seed).standard_normal(p)
    return s, b ** 2 / np.sum(s * b ** 2)


RIDGES = np.geomspace(1e-4, 10, 1000)   # 7000 points: large enough for the table
SIZES = np.array([30, 100, 299, 300, 301, 1000, 5000])[:, None]   # p = 300: both sides


def test_table_guess_is_accurate_and_used():
    """On a large grid the start is within 1e-8 of the root (one Newton step then lands at
    rounding level); the docstring's estimate is ~1e-10."""
    s, _ = _power_law()
    lam, n = np.broadcast_arrays(RIDGES[None, :], SIZES.astype(float))
    lam, n = lam.ravel(), n.ravel()
    n_unique, inv = np.unique(n, return_inverse=True)
    k0 = mod._kappa0(n_unique, s, np.ones_like(s))[inv]
    hi = lam + s.sum() / n
    guess = mod._table_guess(lam, inv, k0, hi, n_unique, s, np.ones_like(s))
    assert guess is not None
    root = solve_effective_ridge(lam, s, None, n).value
    assert np.max(np.abs(guess / root - 1)) < 1e-8
    # a small grid does not pay for the table
    assert mod._table_guess(lam[:10], inv[:10], k0[:10], hi[:10], n_unique, s,
                            np.ones_like(s)) is None


def test_isotropic_closed_form_on_a_large_grid():
    """Theory note §5.5: kappa = (b + sqrt(b^2 + 4 ridge))/2, b = ridge + gamma - 1."""
    lam = np.geomspace(1e-8, 30, 2000)
    gamma = np.array([0.1, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0])[:, None]
    p = 400
    kappa = solve_effective_ridge(lam, [1.0], [p], p / gamma).value
    b = lam + gamma - 1
    root = np.sqrt(b * b + 4 * lam)
    ref = np.where(b >= 0, (b + root) / 2, 2 * lam / (root - b))
    # conditioning: the solver stops at the rounding floor of g, a relative residual up to
    # 8 eps * 3 ~ 5e-15, which moves kappa by ~5e-15 kappa / (kappa g'), g' = 1 - gamma /
    # (1+kappa)^2 -> 2 kappa at gamma = 1 (the interpolation threshold)
    slope = 1 - gamma / (1 + ref) ** 2
    assert np.all(np.abs(kappa / ref - 1) <= 1e-13 + 6e-15 / slope)
    assert np.max(np.abs(kappa / ref - 1)[[0, 1, 2, 4, 5, 6]]) <= 1e-13


def test_large_grid_equals_pointwise_and_exact_sums():
    """Table start + fused sums (large grid) against small per-n solves (tabulated-guess
    route) with sums re-evaluated exactly at the returned kappa."""
    s, e = _power_law()
    big = ridge_risk(RIDGES, s, None, SIZES, target_energy=e, noise_var=0.3)
    assert big.converged.all()
    exact = spectral_sums(big.kappa, s, [np.ones_like(s), e], [(0, 1, 1), (0, 2, 2), (1, 1, 2)])
    for got, want in zip((big.df1, big.df2), exact[:2]):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
    # energy sum a = sum e t/(t+kappa)^2 enters as bias = kappa^2 a / (1 - df2/n)
    np.testing.assert_allclose(big.bias * (1 - big.df2 / SIZES) / big.kappa ** 2, exact[2],
                               rtol=1e-13, atol=0)
    for i, n in enumerate(SIZES[:, 0]):
        for lo in range(0, RIDGES.size, 80):         # 8 points: below the table threshold
            small = ridge_risk(RIDGES[lo:lo + 8], s, None, n, target_energy=e, noise_var=0.3)
            for f in ("kappa", "df1", "df2", "bias", "variance", "test", "train"):
                np.testing.assert_allclose(getattr(big, f)[i, lo:lo + 8], getattr(small, f),
                                           rtol=1e-12, atol=0, err_msg=f"{f} n={n}")


@pytest.mark.parametrize("lam,n", [(1e-8, 20), (1e-5, 20), (0.3, 20), (1e-6, 200)])
def test_risks_against_mpmath(lam, n):
    """All outputs to 1e-12 against a 40-digit evaluation of theory note §5.2, including the
    training error at tiny ridges below the interpolation threshold (K = 40 atoms > n = 20)
    where 1 - df1/n ~ ridge/kappa suffers cancellation; hdeq uses ridge/kappa."""
    s, e = _power_law(40, seed=3)
    got = ridge_risk(lam, s, None, n, target_energy=e, noise_var=0.5)
    mp.mp.dps = 40
    S, E, N, L = [mp.mpf(x) for x in s], [mp.mpf(x) for x in e], mp.mpf(n), mp.mpf(lam)
    k = mp.findroot(lambda k: k * (1 - sum(x / (x + k) for x in S) / N) - L,
                    mp.mpf(float(got.kappa)))
    df1 = sum(x / (x + k) for x in S)
    df2 = sum(x * x / (x + k) ** 2 for x in S)
    a = sum(w * x / (x + k) ** 2 for w, x in zip(E, S))
    den = 1 - df2 / N
    bias, var = k * k * a / den, mp.mpf(0.5) * (df2 / N) / den
    test = mp.mpf(0.5) + bias + var
    train = (1 - df1 / N) ** 2 * test
    for name, ref in [("kappa", k), ("df1", df1), ("df2", df2), ("bias", bias),
                      ("variance", var), ("test", test), ("train", train)]:
        assert float(getattr(got, name)) == pytest.approx(float(ref), rel=1e-12, abs=0), name


def test_huge_ridge_is_finite_and_tends_to_the_null_risk():
    # regression: kappa^2 a overflowed (inf at ridge 1e155, NaN at 1e200..1e300). As
    # ridge -> inf, kappa = ridge + tr Sigma/n + O(1/ridge), bias -> sum e t (null signal
    # energy), variance -> 0, train -> test (theory note §5.2 limits)
    rng = np.random.default_rng(3)
    t = rng.uniform(0.1, 5.0, 300)
    e = rng.uniform(0.0, 1.0, 300) / 300
    energy = float(np.sum(t * e))
    ridges = np.array([1e50, 1e99, 1e101, 1e155, 1e170, 1e200, 1e250, 1e300])
    r = ridge_risk(ridges, t, None, 100.0, target_energy=e, noise_var=0.1)
    for q in (r.kappa, r.df1, r.df2, r.bias, r.variance, r.test, r.train):
        assert np.all(np.isfinite(q))
    assert np.all(r.converged)
    np.testing.assert_allclose(r.kappa / ridges, 1.0, rtol=1e-14)
    np.testing.assert_allclose(r.df1 * ridges, np.sum(t), rtol=1e-13)
    np.testing.assert_allclose(r.bias, energy, rtol=1e-14)
    np.testing.assert_allclose(r.test, 0.1 + energy, rtol=1e-14)
    np.testing.assert_allclose(r.train, 0.1 + energy, rtol=1e-14)
    assert np.all(r.variance >= 0) and np.all(r.variance <= 1e-90)
    # both routes of kappa^2 a (plain product below 1e100, scaled ratios above) agree
    # with the scaled-sum closed form at a moderate kappa
    from hdeq.equivalents._ridge_equivalent import _kappa2_energy
    k = np.array([1e99, 1e101])
    direct = np.array([np.sum(e * t * (kk / (t + kk)) ** 2) for kk in k])
    a, = spectral_sums(k, t, [e], [(0, 1, 2)])
    np.testing.assert_allclose(_kappa2_energy(k, a, t, e), direct, rtol=1e-14)
