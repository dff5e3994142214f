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
    b = lam + (gamma - 1)          # not (lam + gamma) - 1: that rounds b ~ lam away
    root = np.sqrt(b * b + 4 * lam)
    ref = np.where(b >= 0, (b + root) / 2, 2 * lam / (root - b))
    # also at gamma = 1 (the interpolation threshold, g' -> 2 kappa), where the solver once
    # stopped at the rounding floor of a cancelling 1 - df1/n
    assert np.max(np.abs(kappa / ref - 1)) <= 1e-14


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


# ridges down to the smallest positive float (powers of two from 2^-1074 up, and the grids
# of the second fresh-user report)
TINY_RIDGES = np.sort(np.r_[np.ldexp(1.0, np.arange(-1074, -900, 29)), 1e-310, 1e-300, 1e-200,
                    1e-100, 1e-30, 1e-20, 1e-16, 1e-8, 1e-2, 1.0])


def test_interpolation_threshold_with_tiny_ridges_is_exact():
    """Regression (fresh-user report 2, item 2): at n = p the risk grows like
    sigma^2/(2 sqrt(ridge)), but below ridge ~1e-20 the old solver formed 1 - df1/n and
    1 - df2/n by subtraction (every digit lost near df1 = n): 2.25e14 instead of 2.5e14 at
    ridge 1e-30, 8e-37 instead of 0.25 for sqrt(ridge) R at 1e-100, and a value that
    depended on the other ridges of the grid. Isotropic closed form (theory note §5.5, gamma
    = 1): kappa = (ridge + sqrt(ridge^2 + 4 ridge))/2, 1 - df2/n = kappa (2 + kappa)/(1 +
    kappa)^2, V = sigma^2/(kappa (2 + kappa)), B = r^2 kappa/(2 + kappa), train =
    (ridge/kappa)^2 R."""
    p, s2 = 200, 0.5
    lam = TINY_RIDGES
    r = ridge_risk(lam, [1.0], [p], p, target_energy=[1.0], noise_var=s2)
    k = (lam + np.sqrt(lam * lam + 4 * lam)) / 2
    var, bias = s2 / (k * (2 + k)), k / (2 + k)
    test = s2 + bias + var
    for got, want in [(r.kappa, k), (r.variance, var), (r.bias, bias), (r.test, test),
                      (r.train, (lam / k) * ((lam / k) * test))]:
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    assert r.converged.all()
    small = lam < 1e-16
    np.testing.assert_allclose(np.sqrt(lam[small]) * r.test[small], s2 / 2, rtol=1e-7)
    assert np.all(np.diff(r.test) < 0)                 # decreasing in the ridge
    # each ridge alone, and inside another grid, gives the same number
    for i, one in enumerate(lam):
        alone = ridge_risk(one, [1.0], [p], p, target_energy=[1.0], noise_var=s2)
        assert float(alone.test) == pytest.approx(r.test[i], rel=1e-14, abs=0)
    four = ridge_risk([0.0, 1e-30, 1e-20, 1e-16], [1.0], [p], p, target_energy=[1.0],
                      noise_var=s2)
    assert four.test[0] == np.inf
    np.testing.assert_allclose(four.test[1:], r.test[np.isin(lam, [1e-30, 1e-20, 1e-16])],
                               rtol=1e-14)


def test_interpolation_threshold_tiny_ridges_against_mpmath():
    """Non-isotropic population at n = rank (40 atoms, multiplicity 5 each, n = 200) against
    a 300-digit evaluation of theory note §5.2 (kappa by bisection in log kappa)."""
    rng = np.random.default_rng(7)
    t = np.sort(rng.uniform(0.2, 3.0, 40))
    e = rng.uniform(0.0, 1.0, 40) / 40
    mult = np.full(40, 5.0)
    lam = np.array([1e-300, 1e-120, 1e-40, 1e-12, 1e-3])
    got = ridge_risk(lam, t, mult, 200, target_energy=e, noise_var=0.3)
    mp.mp.dps = 300
    T, E = [mp.mpf(x) for x in t], [mp.mpf(x) for x in e]
    n = mp.mpf(200)
    for i, L in enumerate(lam):
        L = mp.mpf(L)
        a, b = mp.mpf(10) ** -400, mp.mpf(10)
        g = lambda k: k * (1 - 5 * sum(x / (x + k) for x in T) / n) - L   # noqa: E731
        for _ in range(2000):
            mid = mp.sqrt(a * b)
            a, b = (mid, b) if g(mid) < 0 else (a, mid)
            if b / a - 1 < mp.mpf(10) ** -40:
                break
        k = a
        df2 = 5 * sum(x * x / (x + k) ** 2 for x in T)
        den = 1 - df2 / n
        bias = k * k * sum(w * x / (x + k) ** 2 for w, x in zip(E, T)) / den
        var = mp.mpf("0.3") * (df2 / n) / den
        for name, ref in [("kappa", k), ("bias", bias), ("variance", var),
                          ("test", mp.mpf("0.3") + bias + var)]:
            assert float(getattr(got, name)[i]) == pytest.approx(float(ref), rel=1e-12), name


def test_allow_negative_must_be_a_bool():
    from hdeq.equivalents import effective_ridge
    with pytest.raises(ValueError, match="`allow_negative` of solve_effective_ridge must be "
                                         "a bool"):
        solve_effective_ridge(0.1, np.ones(10), n_samples=20, allow_negative="no")
    with pytest.raises(ValueError, match="`allow_negative` of effective_ridge must be a bool"):
        effective_ridge(0.1, np.ones(10), n_samples=20, allow_negative="no")
    with pytest.raises(ValueError, match="`allow_negative` of ridge_risk must be a bool"):
        ridge_risk(0.1, np.ones(10), n_samples=20, target_energy=np.ones(10), noise_var=0.0,
                   allow_negative="no")
