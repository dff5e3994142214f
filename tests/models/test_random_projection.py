"""Linear random-projection ridge regression (hdeq.models._random_projection).

Reference values: theory note linear.md §6.3 (equations and limits) and §6.5 (linear RF
oracle table, P = 1500, 8 trials).
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hdeq import RandomProjectionRegression, RidgeRegression, fit_power_law
from hdeq.equivalents import ridgeless_threshold

P = 1500
_k = np.arange(1, P + 1)
PL_POP = _k ** -1.5
PL_TARGET = np.sqrt(_k ** (1.5 - 1 - 2 * 1.5 * 0.4))      # b_k^2 s_k = k^-(1 + 2 alpha r)

# spectrum, n, N, ridge, noise_var, formula, MC mean, MC se
TABLE_65 = [
    ("iso", 600, 300, 1e-2, 0.1, 1.78244, 1.72687, 0.035),
    ("iso", 600, 1200, 1e-2, 0.1, 1.42769, 1.43512, 0.014),
    ("iso", 600, 600, 1e-2, 0.1, 4.87973, 4.68175, 0.136),
    ("iso", 600, 1200, 0.0, 0.1, 1.46667, 1.49533, 0.0085),
    ("pl", 600, 300, 1e-2, 0.1, 0.129355, 0.127890, 9.0e-4),
    ("pl", 600, 1200, 1e-2, 0.1, 0.123889, 0.123162, 7.9e-4),
    ("pl", 600, 600, 1e-2, 0.1, 0.125672, 0.127164, 1.0e-3),
    ("pl", 600, 300, 0.0, 0.1, 0.212089, 0.213047, 6.9e-3),
    ("pl", 600, 1200, 0.0, 0.1, 0.329074, 0.335385, 8.9e-3),
    ("pl", 400, 800, 1e-3, 0.0, 0.0069251, 0.0071241, 1.5e-4),
]


def _model(spectrum, **kw):
    if spectrum == "iso":
        return RandomProjectionRegression(np.ones(P), signal_var=1.0, **kw)
    return RandomProjectionRegression(PL_POP, PL_TARGET, **kw)


@pytest.mark.parametrize("spectrum, n, N, ridge, noise, formula, mc, se", TABLE_65)
def test_oracle_table(spectrum, n, N, ridge, noise, formula, mc, se):
    model = _model(spectrum, noise_var=noise, ridge=ridge, n_samples=n, n_random_features=N)
    assert model.test_error() == pytest.approx(formula, rel=5e-6)
    # the note's MC column: max(4 se, 2%) (the iso N = n peak is heavy-tailed: 1.5 se)
    assert abs(mc - formula) <= max(4 * se, 0.02 * formula)


def test_vectorized_grid_equals_pointwise():
    grid = _model("pl", noise_var=0.1, ridge=[0.0, 1e-2], n_samples=600,
                  n_random_features=[[300], [1200]])
    assert grid.test_error().shape == (2, 2)
    for i, N in enumerate((300, 1200)):
        for j, lam in enumerate((0.0, 1e-2)):
            one = _model("pl", noise_var=0.1, ridge=lam, n_samples=600, n_random_features=N)
            assert grid.test_error()[i, j] == pytest.approx(one.test_error(), rel=1e-12)


@pytest.mark.parametrize("ridge", [1e-3, 1e-1])
def test_infinitely_many_features_is_ridge_regression(ridge):
    # theory note §6.3: N -> inf gives §5.2; the gap closes like 1/N
    ref = RidgeRegression(PL_POP, PL_TARGET, noise_var=0.1, ridge=ridge,
                          n_samples=400).test_error()
    gaps = [abs(_model("pl", noise_var=0.1, ridge=ridge, n_samples=400,
                       n_random_features=N).test_error() - ref) for N in (1e5, 1e6, 1e7)]
    assert gaps[2] < 1e-5 * ref
    assert gaps[0] / gaps[1] == pytest.approx(10, rel=0.1)


def test_ridgeless_few_features_closed_form():
    # theory note §6.3: R = (noise + kappa2 beta^T Sigma (Sigma + kappa2)^-1 beta)/(1 - N/n)
    n, N = 600, 300
    k2 = float(ridgeless_threshold(PL_POP, n_samples=N))
    approx_err = k2 * np.sum(PL_TARGET ** 2 * PL_POP / (PL_POP + k2))
    expected = (0.1 + approx_err) / (1 - N / n)
    model = _model("pl", noise_var=0.1, ridge=0.0, n_samples=n, n_random_features=N)
    assert model.test_error() == pytest.approx(expected, rel=1e-10)


@pytest.mark.simulation
@pytest.mark.parametrize("spectrum", ["iso", "pl"])
def test_simulation_agreement_small(spectrum):
    # P = 300 features, n = 120: within 4 se + C theory / sqrt(n), C = 1
    p = 300
    if spectrum == "iso":
        model = RandomProjectionRegression(np.ones(p), signal_var=1.0, noise_var=0.1,
                                           ridge=1e-2, n_samples=120,
                                           n_random_features=[60, 240])
    else:
        k = np.arange(1, p + 1)
        model = RandomProjectionRegression(k ** -1.5, np.sqrt(k ** (-0.7)), noise_var=0.1,
                                           ridge=[0.0, 1e-2], n_samples=120,
                                           n_random_features=[[60], [240]])
    with threadpool_limits(1):
        table = model.simulate(trials=10, seed=4)
    tol = 4 * table.stderr + table.theory / np.sqrt(table.n_samples)
    assert np.all(np.abs(table.empirical - table.theory) <= tol)


@pytest.mark.simulation
def test_simulation_error_shrinks_with_size():
    errors = []
    for scale in (1, 4):
        p, n, N = 100 * scale, 40 * scale, 80 * scale
        model = RandomProjectionRegression(np.ones(p), signal_var=1.0, noise_var=0.1,
                                           ridge=1e-2, n_samples=n, n_random_features=N)
        with threadpool_limits(1):
            table = model.simulate(trials=12, seed=scale)
        errors.append(abs(table.empirical[0] - table.theory[0]) / table.theory[0])
    assert errors[1] < errors[0]


def test_bad_input():
    # ridge 0, N = n is the interpolation peak: +inf (was a ValueError for the whole grid;
    # see test_ridgeless_interpolation_peak_is_inf_at_that_grid_point_only)
    assert RandomProjectionRegression(np.ones(10), signal_var=1.0, noise_var=0.1, ridge=0.0,
                                      n_samples=5, n_random_features=5).test_error() == np.inf
    with pytest.raises(ValueError, match="`ridge` of RandomProjectionRegression"):
        RandomProjectionRegression(np.ones(10), signal_var=1.0, noise_var=0.1, ridge=-1.0,
                                   n_samples=5, n_random_features=3)
    with pytest.raises(ValueError, match="exactly one of"):
        RandomProjectionRegression(np.ones(10), noise_var=0.1, ridge=0.0, n_samples=5,
                                   n_random_features=3)
    with pytest.raises(ValueError, match="`n_samples` of RandomProjectionRegression"):
        RandomProjectionRegression(np.ones(10), signal_var=1.0, noise_var=0.1, ridge=0.1,
                                   n_samples=2.5, n_random_features=3)


def test_sizes_beyond_int64_and_unbroadcastable_grids_are_named_errors():
    # regression: n_samples >= 2^63 overflowed the integer cast (RuntimeWarning, garbage
    # size) and non-broadcasting grids gave numpy's bare message
    kw = dict(signal_var=1.0, noise_var=0.1, ridge=0.1)
    with pytest.raises(ValueError, match=r"`n_samples` of RandomProjectionRegression must "
                                         r"be integers in \[1, 2\^62\]"):
        RandomProjectionRegression(np.ones(10), n_samples=1e20, n_random_features=3, **kw)
    with pytest.raises(ValueError, match=r"`ridge`, `n_samples` and `n_random_features` of "
                                         r"RandomProjectionRegression must broadcast.*"
                                         r"\(3,\), \(2,\) and \(\)"):
        RandomProjectionRegression(np.ones(10), signal_var=1.0, noise_var=0.1,
                                   ridge=[0.1, 0.2, 0.3], n_samples=[10, 20],
                                   n_random_features=5)


@pytest.mark.parametrize("alpha, r, note_fit", [(1.5, 0.3, 0.899), (2.0, 0.3, None),
                                                (2.0, 0.8, None)])
def test_feature_limited_exponent(alpha, r, note_fit):
    # theory note §6.3 RF exponent table, N-limited row (n >> N, ridgeless, noiseless):
    # approximation error ~ N^{-alpha min(2r, 1)}; P = 1e5 modes, n = 1e8, N in [100, 1000]
    k = np.arange(1, 100_001, dtype=float)
    s, b = k ** -alpha, np.sqrt(k ** (alpha - 1 - 2 * alpha * r))
    N = np.round(np.geomspace(100, 1000, 6))
    model = RandomProjectionRegression(s, b, noise_var=0.0, ridge=0.0, n_samples=10 ** 8,
                                       n_random_features=N)
    rate = fit_power_law(N, model.test_error())[0]
    assert rate == pytest.approx(alpha * min(2 * r, 1.0), abs=0.01)
    if note_fit is not None:
        assert rate == pytest.approx(note_fit, abs=3e-3)


def test_variance_limited_exponents():
    # theory note §6.3: fixed n, N -> inf: R(N) - R(inf) ~ N^-1 (note: slope 1.0010);
    # fixed N, n -> inf: R(n) - R(inf) ~ n^-1 (note: slope 1.00004)
    N = np.round(np.geomspace(1e4, 1e5, 6))
    ref = RidgeRegression(PL_POP, PL_TARGET, noise_var=0.1, ridge=1e-2,
                          n_samples=600).test_error()
    model = _model("pl", noise_var=0.1, ridge=1e-2, n_samples=600, n_random_features=N)
    assert fit_power_law(N, model.test_error() - ref)[0] == pytest.approx(1.0010, abs=1e-3)
    n = np.round(np.geomspace(1e5, 1e6, 6))
    model = _model("pl", noise_var=0.1, ridge=1e-2, n_samples=n, n_random_features=300)
    limit = _model("pl", noise_var=0.1, ridge=1e-2, n_samples=10 ** 12,
                   n_random_features=300).test_error()
    assert fit_power_law(n, model.test_error() - limit)[0] == pytest.approx(1.0, abs=1e-3)


def test_ridgeless_interpolation_peak_is_inf_at_that_grid_point_only():
    # regression: N = n at ridge 0 raised ValueError for the whole grid; like
    # RidgeRegression at ridge 0, n = p, it is +inf there and finite elsewhere. Far from
    # the peak, N -> P recovers ridgeless RidgeRegression... here we check the neighbours
    # are finite and grow towards the peak from both sides (double descent)
    widths = np.array([60, 90, 99, 100, 101, 110, 150])
    model = RandomProjectionRegression(np.ones(300), signal_var=1.0, noise_var=0.1,
                                       ridge=0.0, n_samples=100, n_random_features=widths)
    test = model.test_error()
    assert test[3] == np.inf and model.excess_error()[3] == np.inf
    finite = np.delete(test, 3)
    assert np.all(np.isfinite(finite))
    assert np.all(np.diff(test[:3]) > 0) and np.all(np.diff(test[4:]) < 0)
    # consistent with RidgeRegression, which is inf at n = p
    ridge = RidgeRegression(np.ones(100), signal_var=1.0, noise_var=0.1, ridge=0.0,
                            n_samples=[50, 100, 150]).test_error()
    assert ridge[1] == np.inf and np.all(np.isfinite(ridge[[0, 2]]))
    # noiseless with N = n >= rank is 0/0: still a ValueError naming the argument
    with pytest.raises(ValueError, match="`n_random_features` of RandomProjectionRegression"):
        RandomProjectionRegression(np.ones(50), signal_var=1.0, noise_var=0.0, ridge=0.0,
                                   n_samples=60, n_random_features=60)


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_theory_is_homogeneous_in_the_population_scale(scale):
    # regression: at Sigma ~ 1e-150 the kappa2 bisection stopped far from the root and its
    # absolute residual floor (1e-14) accepted it: silently wrong risks (3.61 for 2.09)
    s = np.arange(1, 201.0) ** -1.0
    b = np.cos(np.arange(200))
    grid = dict(n_samples=[[100], [300]], n_random_features=150)
    ridge = np.array([0.0, 1e-3, 0.1])
    ref = RandomProjectionRegression(s, b, noise_var=0.3, ridge=ridge, **grid)
    big = RandomProjectionRegression(scale * s, b, noise_var=0.3 * scale, ridge=scale * ridge,
                                     **grid)
    np.testing.assert_allclose(big.test_error() / scale, ref.test_error(), rtol=1e-10)
    np.testing.assert_allclose(big.kappa2 / scale, ref.kappa2, rtol=1e-10)
    np.testing.assert_allclose(big.kappa1 / scale, ref.kappa1, rtol=1e-10)


def test_ridges_up_to_the_largest_float_give_the_null_risk():
    # the kappa2 bracket lost its additive margin to rounding at ridge 1e308, doubled to
    # inf and raised ConvergenceError (relative residual nan); RuntimeWarnings are errors
    # here. ridge -> inf: w = 0, so the risk is beta^T Sigma beta + noise_var
    top = np.finfo(float).max
    for population in (np.ones(50), np.geomspace(0.01, 10, 50)):
        for n, N in ((100, 80), (30, 80)):
            model = RandomProjectionRegression(population, signal_var=1.0, noise_var=0.1,
                                               ridge=[1e15, 1e300, 1e308, top], n_samples=n,
                                               n_random_features=N)
            np.testing.assert_allclose(model.test_error(), 0.1 + np.mean(population),
                                       rtol=1e-12)


def _mp_reference(ridge, t, mult, e, n, N, noise_var):
    """The module formulas (theory note §6.3) in 200-digit arithmetic (an offset of 1e-150
    from the root stays resolved), kappa2 by bisection in the offset from the ridgeless
    root of min(n, N)."""
    import mpmath as mp
    mp.mp.dps = 200
    T = [mp.mpf(x) for x in t]
    M = [mp.mpf(x) for x in mult]
    E = [mp.mpf(x) for x in e]
    n, N, L = mp.mpf(n), mp.mpf(N), mp.mpf(ridge)

    def d1(k):
        return sum(m * x / (x + k) for m, x in zip(M, T))

    q = min(n, N)
    lo = mp.mpf(0)
    if sum(M) > q:
        lo = mp.findroot(lambda k: d1(k) - q, mp.mpf(1))
    a, b = mp.mpf(10) ** -400, mp.mpf(10)
    for _ in range(400):
        mid = mp.sqrt(a * b)
        k = lo + mid
        a, b = (mid, b) if k * (1 - d1(k) / N) * (1 - d1(k) / n) < L else (a, mid)
        if b / a - 1 < mp.mpf(10) ** -30:
            break
    k2 = lo + a
    D1 = d1(k2)
    D2 = sum(m * x * x / (x + k2) ** 2 for m, x in zip(M, T))
    TT = sum(m * x / (x + k2) ** 2 for m, x in zip(M, T))
    S1 = sum(w * x / (x + k2) for w, x in zip(E, T))
    S2 = sum(w * x * x / (x + k2) ** 2 for w, x in zip(E, T))
    k1 = k2 * (1 - D1 / N)
    df2f = D1 - k1 * TT / (1 - D2 / N)
    sig = k2 * S1 - k1 / (1 - D2 / N) * S2
    return float((mp.mpf(noise_var) + sig) / (1 - df2f / n))


@pytest.mark.parametrize("n, N", [(200, 200), (200, 260), (260, 200)])
def test_tiny_ridges_near_the_peak_against_mpmath(n, N):
    """Regression (fresh-user report 2, item 2): at N = n the risk grows like
    ridge^(-1/2); the old bisection on kappa2 itself lost the offset from the ridgeless
    root to rounding and gave 8.65e14 at ridge 1e-300 (the correct value is ~1.8e149).
    Population: 20 distinct eigenvalues, multiplicity 15 (P = 300 > n, N)."""
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0.5, 2.0, 20))
    e = rng.uniform(0.0, 1.0, 20) / 20
    pop, target = np.repeat(t, 15), np.sqrt(np.repeat(e / 15, 15))
    ridges = np.array([1e-300, 1e-120, 1e-30, 1e-12, 1e-1])
    model = RandomProjectionRegression(pop, target, noise_var=0.1, ridge=ridges,
                                       n_samples=n, n_random_features=N)
    got = model.test_error()
    ref = [_mp_reference(r, t, np.full(20, 15.0), e, n, N, 0.1) for r in ridges]
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    if n == N:
        assert got[0] > 1e148 and np.all(np.diff(got) < 0)
    # each ridge alone gives the number of the grid
    for r, v in zip(ridges, got):
        alone = RandomProjectionRegression(pop, target, noise_var=0.1, ridge=r, n_samples=n,
                                           n_random_features=N).test_error()
        assert alone == pytest.approx(v, rel=1e-13)
