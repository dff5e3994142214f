"""SampleCovarianceLaw (generalized MP): routes that must agree to ~1e-10, the
theory note linear.md §3.6 oracle values, atoms from zero population eigenvalues,
the high-precision mpmath reference, and agreement with simulation."""

import csv
from pathlib import Path

import numpy as np
import pytest

from hdeq.core import polynomial_density, solve_stieltjes
from hdeq.laws import MarchenkoPastur, SampleCovarianceLaw, SpectralLaw

H36 = ([1.0, 3.0, 10.0], [0.5, 0.3, 0.2])          # theory note §3.6
REFERENCE = Path(__file__).parents[1] / "reference" / "gmp_reference.csv"


@pytest.fixture(scope="module")
def law36():
    return SampleCovarianceLaw(H36, 0.3)



@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Eigenvalue draws with one BLAS thread: on a loaded 2-core machine a
    multi-threaded OpenBLAS eigvalsh of a 450 x 450 matrix took 8 s instead of 0.06 s."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        yield

# ------------------------------------------------------------------ routes that agree
@pytest.mark.parametrize("c", [0.3, 0.5, 1.5, 3.0])
def test_single_atom_population_is_marchenko_pastur(c):
    g, mp = SampleCovarianceLaw([2.0], c), MarchenkoPastur(c, scale=2.0)
    z = np.array([-1.0, -1e-3, 1e-4j, 1 + 0.5j, 3 - 0.2j, 2 + 1e-9j, 30.0])
    np.testing.assert_allclose(g.stieltjes(z), mp.stieltjes(z), rtol=1e-10)
    np.testing.assert_allclose(g.companion_stieltjes(z), mp.companion_stieltjes(z),
                               rtol=1e-10)
    x = np.linspace(0, 2 * (1 + np.sqrt(c)) ** 2 + 1, 301)
    np.testing.assert_allclose(g.pdf(x), mp.pdf(x), atol=1e-10)
    np.testing.assert_allclose(np.array(g.support), np.array(mp.support), rtol=1e-12)
    np.testing.assert_allclose(np.array(g.atoms).reshape(-1, 2),
                               np.array(mp.atoms).reshape(-1, 2), rtol=1e-15)
    for k in range(1, 5):
        assert g.moment(k) == pytest.approx(mp.moment(k), rel=1e-12)


def test_newton_density_equals_polynomial_density(law36):
    x = np.linspace(0.05, 17, 400)
    np.testing.assert_allclose(law36.pdf(x), polynomial_density(x, *H36, 0.3), atol=1e-10)


def test_theory_note_3_6_values(law36):
    # theory note §3.6 "formula" column
    np.testing.assert_allclose(law36.pdf(np.array([2.0, 5.0, 15.0])),
                               [0.1262633, 0.0, 0.0110061], atol=5.1e-8)
    np.testing.assert_allclose(np.array(law36.support),
                               [[0.2716, 1.5736], [1.6111, 4.8800], [6.3231, 16.0177]],
                               atol=5.1e-5)
    d = law36.delta(np.array([-2.0, 2 + 1j]))
    assert d[0].real == pytest.approx(0.168466, abs=5.1e-7) and d[0].imag == 0
    assert (d[1].real, d[1].imag) == pytest.approx((0.070421, 0.242865), abs=5.1e-7)
    m = law36.stieltjes(np.array([-2.0, 2 + 1j, 4 + 0.1j]))
    ref = np.array([0.25971, -0.11691 + 0.39443j, -0.31076 + 0.22592j])
    np.testing.assert_allclose(m.real, ref.real, atol=5.1e-6)
    np.testing.assert_allclose(m.imag, ref.imag, atol=5.1e-6)


def test_silverstein_equation_residual(law36):
    z = np.array([-2.0, 0.5 + 1e-7j, 1.59 + 0j, 5.5, 9 + 2j])
    mt = law36.companion_stieltjes(z)
    t, w = np.array(H36[0]), np.array(H36[1])
    F = -1 / mt + 0.3 * np.sum(w * t / (1 + t * mt[:, None]), axis=1) - z
    assert np.all(np.abs(F) <= 1e-12 * (np.abs(z) + np.abs(1 / mt)))
    # p x p transform and companion: m = (mt + (1 - c)/z)/c
    np.testing.assert_allclose(law36.stieltjes(z), (mt + 0.7 / z) / 0.3, rtol=1e-11)


def test_high_precision_reference():
    """Density and companion transform on 1000 real points against mpmath
    polynomial roots at 40 digits (tests/reference/gmp_reference.py)."""
    with REFERENCE.open() as fh:
        rows = np.array([[float(v) for v in r] for r in list(csv.reader(fh))[1:]])
    x, mre, mim, dens = rows.T
    law = SampleCovarianceLaw(([1.0, 4.0], [0.5, 0.5]), 0.5)
    np.testing.assert_allclose(law.pdf(x), dens, atol=1e-10)
    ok = ~np.isclose(x[:, None], np.ravel(law.support), rtol=0, atol=1e-6).any(axis=1)
    res = law._solve_companion(x + 0j)
    assert res.all_converged
    np.testing.assert_allclose(res.value[ok], (mre + 1j * mim)[ok], rtol=1e-10)


def test_moments_three_routes(law36):
    # series recursion == quadrature of the pdf == large-|z| expansion of m
    for k in range(1, 5):
        rec = law36.moment(k)
        assert SpectralLaw.moment(law36, k) == pytest.approx(rec, rel=1e-9)
    assert law36.moment(1) == pytest.approx(np.dot(*H36[::-1]), rel=1e-14)   # M_1 = int t dH
    z = 400.0 + 0j
    series = -sum(law36.moment(k) / z ** (k + 1) for k in range(14))
    assert law36.stieltjes(z) == pytest.approx(series, rel=1e-12)


def test_many_distinct_eigenvalues_match_plain_continuation():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0.5, 5, 2000))
    law = SampleCovarianceLaw(t, 0.5)
    x = np.linspace(0.0, law.support[-1][1] * 1.1, 120)[1:] + 0j
    fast = law._solve_companion(x)
    c = 0.5
    w = np.full(t.size, 1 / t.size)

    def fun(m, z, idx):
        d = 1 + t * m[:, None]
        return (-1 / m + c * (w * t / d).sum(1) - z,
                1 / m**2 - c * (w * t**2 / d**2).sum(1))

    slow = solve_stieltjes(fun, x, scale=law._scale * law.population_scale)
    assert fast.all_converged and slow.all_converged
    np.testing.assert_allclose(fast.value, slow.value, rtol=1e-10)


def test_many_eigenvalues_near_the_real_axis_agree_with_the_density():
    """Im m(x (1 + 1e-12 i)) / pi equals the density pdf(x) (on the axis) inside the
    support of a 600-atom population over six decades at c = 0.02 (hundreds of bulks).
    The coarse-start polish used to stall at a nearly real root of the wrong branch
    whose residual ~ Im z passed the tolerance: m was off by 100 % at a few points."""
    pop = 10 ** np.random.default_rng(0).uniform(-3, 3, 600)
    law = SampleCovarianceLaw(pop, 0.02)
    x = np.geomspace(law.support[0][0], law.support[-1][1], 200)
    inner = np.zeros(x.size, bool)
    for a, b in law.support:
        inner |= (x > a + 1e-3 * (b - a)) & (x < b - 1e-3 * (b - a))
    x = x[inner]
    z = x * (1 + 1e-12j)
    m = law.stieltjes(z)
    np.testing.assert_allclose(m.imag / np.pi, law.pdf(x), rtol=1e-7)
    mt = law.companion_stieltjes(z)
    assert np.all(mt.imag >= z.imag * np.abs(mt) ** 2)          # sharp Herglotz bound


def test_population_given_as_law():
    # population = MP(0.2) discretized into atoms; limit c -> 0 returns the population
    pop = MarchenkoPastur(0.2)
    law = SampleCovarianceLaw(pop, 1e-6, n_atoms=1000)
    assert law.population_values.size <= 1000
    assert np.dot(law.population_values, law.population_weights) == pytest.approx(1, 1e-12)
    z = np.array([-1.0, 1 + 0.5j, 3 + 1j])
    np.testing.assert_allclose(law.stieltjes(z), pop.stieltjes(z), rtol=2e-4)
    # second moment of the discretized population within the binning error
    assert np.dot(law.population_values**2, law.population_weights) == pytest.approx(
        pop.moment(2), rel=1e-3)


# ------------------------------------------------------------------ atoms at zero
@pytest.mark.parametrize("w0,c", [(0.3, 0.5), (0.5, 1.5), (0.2, 2.0)])
def test_zero_population_atom_masses(w0, c):
    law = SampleCovarianceLaw(([0.0, 1.0, 2.0], [w0, (1 - w0) / 2, (1 - w0) / 2]), c)
    mass = max(w0, 1 - 1 / c)
    assert law.atoms == ((0.0, pytest.approx(mass, abs=1e-15)),)
    assert law.companion_atom_mass == pytest.approx(max(0.0, 1 - c * (1 - w0)))
    # the atom from the transform and the continuous mass from the pdf
    eta = 1e-9
    assert (-1j * eta * law.stieltjes(1j * eta)).real == pytest.approx(mass, abs=1e-7)
    cont = sum(law._interval_mass(a, b) for a, b in law.support)
    assert cont == pytest.approx(1 - mass, abs=1e-9)
    assert law.cdf(0.0) == pytest.approx(mass, abs=1e-15)


@pytest.mark.simulation
def test_zero_population_atom_by_simulation():
    # rank of X^T X / n is min(n, (1 - w0) p): count exact-ish zero eigenvalues
    for w0, c in [(0.3, 0.5), (0.5, 1.5)]:
        law = SampleCovarianceLaw(([0.0, 1.0], [w0, 1 - w0]), c)
        ev = law.sample(200, seed=1)
        frac = np.mean(ev < 1e-10)
        assert frac == pytest.approx(law.atoms[0][1], abs=1 / 200)


# ------------------------------------------------------------------ errors
def test_bad_input():
    with pytest.raises(ValueError, match="`aspect_ratio` of SampleCovarianceLaw"):
        SampleCovarianceLaw([1.0], 0.0)
    with pytest.raises(ValueError, match="population"):
        SampleCovarianceLaw([1.0, -2.0], 0.5)
    with pytest.raises(ValueError, match="population"):
        SampleCovarianceLaw([1.0, np.nan], 0.5)
    with pytest.raises(ValueError, match="population"):
        SampleCovarianceLaw(np.array([1.0 + 1j]), 0.5)
    with pytest.raises(ValueError, match="sum to one"):
        SampleCovarianceLaw(([1.0, 2.0], [0.5, 0.6]), 0.5)
    with pytest.raises(ValueError, match="population"):
        SampleCovarianceLaw(([1.0, 2.0], [1.5, -0.5]), 0.5)
    with pytest.raises(ValueError, match="same length"):
        SampleCovarianceLaw(([1.0, 2.0], [1.0]), 0.5)
    law = SampleCovarianceLaw(H36, 0.3)
    with pytest.raises(ValueError, match="off the support"):
        law.stieltjes(2.0)
    with pytest.raises(ValueError, match="companion"):
        law.companion_stieltjes(0.0)                    # companion atom 1 - c at 0
    assert law.stieltjes(0.0) == pytest.approx(
        np.dot(H36[1], 1 / np.array(H36[0])) / 0.7, rel=1e-12)   # int dH/t / (1 - c)


# ------------------------------------------------------------------ simulation
@pytest.mark.simulation
def test_theory_note_mc_oracle_at_small_size(law36):
    """m(-2), m(2+1i): |mean - theory| <= k stderr + C/p, k = 4, C = 2 (p = 300)."""
    p, trials = 300, 5
    z = np.array([-2.0, 2 + 1j])
    vals = np.array([np.mean(1 / (law36.sample(p, seed=s)[:, None] - z), axis=0)
                     for s in range(trials)])
    mean, se = vals.mean(0), vals.std(0, ddof=1) / np.sqrt(trials)
    assert np.all(np.abs(mean - law36.stieltjes(z)) <= 4 * np.abs(se) + 2.0 / p)


@pytest.mark.simulation
def test_bin_masses_and_rate_against_simulation(law36):
    """Empirical cdf vs law.cdf at 6 points: error <= 4 se + 2/sqrt(p), and the mean
    absolute error shrinks over p = 50, 150, 450 (3 seeds each)."""
    x = np.array([1.0, 1.6, 3.0, 5.5, 8.0, 12.0])
    F = law36.cdf(x)
    errs = []
    for p in (50, 150, 450):
        emp = np.array([np.mean(law36.sample(p, seed=s)[:, None] <= x, axis=0)
                        for s in range(3)])
        se = emp.std(0, ddof=1) / np.sqrt(3)
        assert np.all(np.abs(emp.mean(0) - F) <= 4 * se + 2 / np.sqrt(p))
        errs.append(np.mean(np.abs(emp.mean(0) - F)))
    assert errs[0] > errs[1] > errs[2]


def test_sample_rounding_and_determinism():
    law = SampleCovarianceLaw(([1.0, 2.0, 3.0], [1 / 3, 1 / 3, 1 / 3]), 0.5)
    from hdeq.laws._sample_covariance import population_diagonal
    diag = population_diagonal(law.population_values, law.population_weights, 10)
    assert diag.size == 10 and sorted(np.bincount(diag.astype(int))[1:]) == [3, 3, 4]
    ev = law.sample(50, seed=7)
    assert ev.shape == (50,) and np.all(np.diff(ev) >= 0)
    np.testing.assert_array_equal(ev, law.sample(50, seed=np.random.default_rng(7)))


# ------------------------------------------------------------------ scale and spread
# Population (delta_e + delta_1)/2, c = 0.5. For e <= 2 eps = 4.4e-16 (zero_rtol: K eps,
# rounding level for K = 2) e is a zero: the law is then exactly
# 1/2 delta_0 + 1/2 MP(ratio c/2 = 0.25) (nonzero part of a rank-deficient population;
# theory note §3.1), support (1 -+ sqrt(0.25))^2 = [0.25, 2.25], atom 1/2 at 0
# (regression: e = 1e-12..1e-16 raised ConvergenceError, e = 1e-20 gave cdf(3) = 0.5
# silently, e = 1e-300 support [0, 2.25]).
@pytest.mark.parametrize("e", [4e-16, 1e-16, 1e-20, 1e-300])
def test_tiny_population_eigenvalues_are_zeros(e):
    law = SampleCovarianceLaw([e, 1.0], 0.5)
    assert law.zero_weight == 0.5 and law.snapped_weight == 0.5
    np.testing.assert_allclose(np.array(law.support), [[0.25, 2.25]], rtol=1e-13)
    assert law.atoms == ((0.0, 0.5),)
    assert law.cdf([3.0]) == pytest.approx([1.0], abs=1e-12)
    mp = MarchenkoPastur(0.25)
    x = np.array([0.1, 0.3, 1.0, 2.0, 2.2, 2.3, 3.0])
    np.testing.assert_allclose(law.pdf(x), 0.5 * mp.pdf(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(law.cdf(x), 0.5 + 0.5 * mp.cdf(x), atol=1e-10)
    z = np.array([-1.0, 0.5 + 0.1j, 3.0])
    np.testing.assert_allclose(law.stieltjes(z), 0.5 * mp.stieltjes(z) - 0.5 / z,
                               rtol=1e-10)
    # moments: exact closed form for the population as given, M1 = h1, M2 = h2 + c h1^2
    h1, h2 = (e + 1) / 2, (e * e + 1) / 2
    assert law.moment(1) == pytest.approx(h1, rel=1e-14)
    assert law.moment(2) == pytest.approx(h2 + 0.5 * h1 ** 2, rel=1e-14)


@pytest.mark.parametrize("e", [1e-15, 1e-13, 1e-12, 2e-12, 1e-11, 1e-9])
def test_small_bulk_just_above_the_threshold(e):
    # regression (user report): e <= 1e-12 was snapped to an exact zero (the CLI
    # showed an atom 1/2 at 0 for the full-rank population 1,1e13)
    # separated bulk of mass w = 1/2 near e; for e -> 0 its edges tend to
    # e (1 - c w) (1 -+ sqrt(c'))^2, c' = c w / (1 - c w) = 1/3 (relative error O(e))
    law = SampleCovarianceLaw([e, 1.0], 0.5)
    assert law.zero_weight == 0.0 and law.atoms == ()
    (a, b), (a2, b2) = law.support
    np.testing.assert_allclose([a / e, b / e],
                               0.75 * (1 + np.array([-1, 1]) / np.sqrt(3)) ** 2,
                               rtol=10 * e)
    gap = np.sqrt(b * a2)
    assert law.cdf([gap, 3.0]) == pytest.approx([0.5, 1.0], abs=1e-10)
    # density inside the small bulk: Im m / pi with m from the Silverstein equation
    x = np.linspace(a, b, 9)[1:-1]
    dens = law.pdf(x)
    assert np.all(dens > 0)
    # scaling identity for the small bulk: law of s C = law of C scaled by s
    big = SampleCovarianceLaw([e * 2.0 ** 60, 2.0 ** 60], 0.5)
    np.testing.assert_allclose(big.pdf(x * 2.0 ** 60) * 2.0 ** 60, dens, rtol=1e-10)
    for k in (1, 2, 3):
        assert SpectralLaw.moment(law, k) == pytest.approx(law.moment(k), rel=1e-10)


def test_full_rank_population_spread_over_13_decades_has_no_atom():
    """Regression (user report, `hdeq spectrum sample-covariance -c 0.3 --population
    1,1e13`): the population eigenvalue 1 was snapped to zero (<= 1e-12 x max), giving
    an atom 1/2 at 0 and one interval for a full-rank population at c < 1. The lower
    bulk is the e -> 0 limit e (1 - c w)(1 -+ sqrt(c'))^2, c' = c w / (1 - c w), of a
    bulk 1e13 times below the top (relative corrections O(1e-13)), of mass 1/2; the
    upper one tends to 1e13 (1 -+ sqrt(c w))^2 (the small eigenvalues act as zeros)."""
    law = SampleCovarianceLaw([1.0, 1e13], 0.3)
    assert law.atoms == () and law.zero_weight == 0.0 and law.snapped_weight == 0.0
    (a, b), (a2, b2) = law.support
    cw, cp = 0.15, 0.15 / 0.85
    np.testing.assert_allclose([a, b], (1 - cw) * (1 + np.array([-1, 1]) * np.sqrt(cp)) ** 2,
                               rtol=1e-11)
    np.testing.assert_allclose([a2 / 1e13, b2 / 1e13],
                               (1 + np.array([-1, 1]) * np.sqrt(cw)) ** 2, rtol=1e-11)
    assert law.cdf([np.sqrt(b * a2), b2]) == pytest.approx([0.5, 1.0], abs=1e-10)
    # the lower bulk is MP(c') of the scaled population (1 - c w): same as for e = 1e-6
    x = np.linspace(a, b, 7)[1:-1]
    ref = SampleCovarianceLaw([1.0, 1e6], 0.3)
    np.testing.assert_allclose(law.pdf(x), ref.pdf(x), rtol=1e-5)
    assert SampleCovarianceLaw([1.0, 1e13], 0.3, zero_rtol=1e-12).atoms == ((0.0, 0.5),)


def test_default_zero_rtol_is_the_rounding_level():
    # K eps for K distinct eigenvalues (numpy.linalg.matrix_rank's default tolerance)
    eps = np.finfo(float).eps
    assert SampleCovarianceLaw([1.0, 2.0], 0.5).zero_rtol == 2 * eps
    assert SampleCovarianceLaw(np.arange(1.0, 785.0), 0.5).zero_rtol == 784 * eps
    assert SampleCovarianceLaw([1.0, 2.0], 0.5, zero_rtol=1e-9).zero_rtol == 1e-9
    # rounding noise of an eigendecomposition is still an exact zero, no warning
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 30))
    evals = np.linalg.eigvalsh(A @ A.T / 30)           # rank 30 of 60: 30 noise values
    evals = np.maximum(evals, 0.0)
    law = SampleCovarianceLaw(evals, 0.5)
    assert law.zero_weight == pytest.approx(0.5, abs=1e-15)
    assert law.atoms == ((0.0, 0.5),)


def test_geometric_population_over_13_decades_cdf():
    """300 eigenvalues geometric from 1e-13 to 1 (kept: above 300 eps = 6.7e-14), c = 0.3:
    27 bulks, the lowest spanning 12 decades with a bump per eigenvalue. Regression:
    the cdf's quadrature ran out of pieces (budget 512 + 8 per interval; it needs
    about 870), now 512 + 4 per eigenvalue. Separated bulks of a sample covariance law
    at c < 1 hold exactly the mass of their population eigenvalues (k / 300). The
    quadrature's per-piece errors add up over the ~850 pieces of the lowest bulk: its
    mass is 274/300 + 1.1e-6 at rtol=1e-7 (+1.5e-8 at 1e-9), hence atol 2e-3 on k."""
    pop = np.geomspace(1e-13, 1.0, 300)
    law = SampleCovarianceLaw(pop, 0.3)
    assert law.zero_weight == 0.0 and len(law.support) == 27
    gaps = np.array([np.sqrt(b * a) for (_, b), (a, _) in zip(law.support[:-1],
                                                             law.support[1:])])
    F = law.cdf(gaps, rtol=1e-7)
    k = F * 300
    np.testing.assert_allclose(k, np.arange(274, 300), atol=2e-3)
    assert law.cdf([law.support[-1][1]], rtol=1e-7)[0] == 1.0


@pytest.mark.parametrize("s", [1e-300, 1e-7, 3e5, 1e300])
def test_scaling_identities(law36, s):
    # the law of s C is the law of C scaled by s (exactly, up to rounding of s t)
    t, w = H36
    law = SampleCovarianceLaw((np.array(t) * s, np.array(w)), 0.3)
    np.testing.assert_allclose(np.array(law.support), s * np.array(law36.support),
                               rtol=1e-12)
    x = np.array([0.5, 1.0, 3.0, 7.0, 12.0, 20.0])
    np.testing.assert_allclose(law.pdf(s * x) * s, law36.pdf(x), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(law.cdf(s * x), law36.cdf(x), atol=1e-10)
    z = np.array([-2.0, 1 + 1j, 5 - 0.1j])
    np.testing.assert_allclose(law.stieltjes(s * z) * s, law36.stieltjes(z), rtol=1e-10)
    np.testing.assert_allclose(law.delta(s * z), law36.delta(z), rtol=1e-10)
    with np.errstate(over="ignore", under="ignore"):
        for k in (1, 2):
            ref = law36.moment(k) * np.float64(s) ** k
            if np.isfinite(ref) and ref > 1e-300:
                assert law.moment(k) == pytest.approx(ref, rel=1e-12)
            elif ref == np.inf:
                assert law.moment(k) == np.inf
    draw = law.sample(40, seed=1)
    np.testing.assert_allclose(draw / s, law36.sample(40, seed=1), rtol=1e-10)


def test_huge_population_eigenvalue():
    # regression: ([1e300, 1], 0.5) gave support (0, inf), moment(1) = nan, warnings
    law = SampleCovarianceLaw([1e300, 1.0], 0.5)        # 1 <= 1e-12 * 1e300: a zero
    np.testing.assert_allclose(np.array(law.support), [[0.25e300, 2.25e300]],
                               rtol=1e-13)
    assert law.atoms == ((0.0, 0.5),)
    assert law.moment(1) == pytest.approx(0.5e300, rel=1e-14)
    assert law.moment(2) == np.inf                        # 0.625e600: beyond float64
    assert law.cdf([1e300, 3e300]) == pytest.approx(
        [0.5 + 0.5 * MarchenkoPastur(0.25).cdf(1.0), 1.0], abs=1e-10)
    assert law.var == np.inf                            # no OverflowError
    assert SampleCovarianceLaw([1e150, 1.0], 0.5).var == pytest.approx(
        (0.5 + 0.5 * 0.25 - 0.25) * 1e300, rel=1e-12)    # h2 + c h1^2 - h1^2


def _spread_population():
    """MNIST-like spread (hdeq.data.mnist covariance: eigenvalues 1e-17..5, 131 of 784
    below 1e-10 x max): a bulk of 200 log-normal eigenvalues around 0.05, 10 from
    1e-8 to 1e-4 and 29 from 1e-17 to 1e-13 (below 2e-14 x max, under the rounding
    level 240 eps = 5.3e-14 of 240 eigenvalues: snapped to zero)."""
    rng = np.random.default_rng(3)
    bulk = np.minimum(rng.lognormal(np.log(0.05), 1.2, 200), 5.0)
    return np.concatenate([bulk, [5.0], np.logspace(-8, -4, 10),
                           np.logspace(-17, -13, 29)])


def test_spread_population_equals_snapped_population():
    pop = _spread_population()
    law = SampleCovarianceLaw(pop, 0.5)
    snapped = np.where(pop <= 1e-12 * pop.max(), 0.0, pop)
    ref = SampleCovarianceLaw(snapped, 0.5)
    assert law.snapped_weight == pytest.approx(29 / 240, abs=1e-15)
    assert law.zero_weight == pytest.approx(ref.zero_weight, abs=1e-15)
    np.testing.assert_allclose(np.array(law.atoms), [[0.0, 29 / 240]], atol=1e-15)
    np.testing.assert_allclose(np.array(law.support), np.array(ref.support), rtol=1e-12)
    x = np.concatenate([np.logspace(-12, 0.7, 40), [law.support[-1][1] * 1.01]])
    F = law.cdf(x)
    np.testing.assert_allclose(F, ref.cdf(x), atol=1e-12)
    assert F[-1] == 1.0 and np.all(np.diff(F) >= -1e-12)
    for k in (1, 2, 3):   # closed form (given population) vs quadrature (snapped law)
        assert SpectralLaw.moment(law, k) == pytest.approx(law.moment(k), rel=1e-10)


@pytest.mark.simulation
def test_spread_population_against_simulation():
    # cdf at 8 points above 1e-6 vs the empirical spectral cdf of 6 draws with
    # p = 240, n = 480 (the twin uses the population as given, tiny values included);
    # tolerance 4 stderr + 1/sqrt(n) (k = 4, C = 1)
    pop = _spread_population()
    law = SampleCovarianceLaw(pop, 0.5)
    x = np.array([1e-6, 1e-3, 0.01, 0.03, 0.06, 0.1, 0.3, 1.0])
    emp = np.array([[np.mean(law.sample(240, seed=s) <= xi) for xi in x]
                    for s in range(6)])
    mean, se = emp.mean(0), emp.std(0, ddof=1) / np.sqrt(emp.shape[0])
    assert np.all(np.abs(mean - law.cdf(x)) <= 4 * se + 1 / np.sqrt(480))


# ------------------------------------------------------------------ z -> 0 (tester defect)
TINY = [-1e-20, -1e-60, -1e-100, -1e-300, 1e-300, 1e-60j, -1e-60 + 1e-60j]


@pytest.mark.parametrize("z", TINY)
def test_tiny_z_is_the_z_to_0_limit(law36, z):
    """Without an atom at 0 (c < 1, w0 = 0) m is analytic at 0: |z| far below the left edge
    0.27 must give m(0) = sum_j w_j / (t_j (1 - c)) = 0.885714... (theory note linear.md
    §3.1, z mt -> -(1 - c)); this failed with ConvergenceError below |z| ~ 1e-40."""
    m0 = (0.5 / 1 + 0.3 / 3 + 0.2 / 10) / 0.7
    assert law36.stieltjes(0.0) == pytest.approx(m0, rel=1e-14)
    m = law36.stieltjes(z)
    assert m.real == pytest.approx(m0, rel=1e-14)
    # first-order term: Im m(z) = Im z * m'(0), m'(0) = int dmu / t^2 (MP check below)
    assert m.imag >= 0 if np.imag(z) >= 0 else m.imag <= 0
    mt = law36.companion_stieltjes(z)
    assert mt * z == pytest.approx(-0.7, rel=1e-14)   # companion atom 1 - c at 0


@pytest.mark.parametrize("c", [0.3, 0.7])
@pytest.mark.parametrize("z", TINY + [0.0])
def test_tiny_z_one_atom_equals_marchenko_pastur(c, z):
    """One-atom population = MarchenkoPastur (closed form, handles |z| = 1e-300), including
    the first-order imaginary part Im z * m'(0) of m."""
    g, mp = SampleCovarianceLaw([2.0], c), MarchenkoPastur(c, scale=2.0)
    m, ref = g.stieltjes(z), mp.stieltjes(z)
    assert m.real == pytest.approx(ref.real, rel=1e-13)
    assert m.imag == pytest.approx(ref.imag, rel=1e-9, abs=1e-320)
    if z != 0:
        assert g.companion_stieltjes(z) == pytest.approx(mp.companion_stieltjes(z),
                                                         rel=1e-13)


def test_tiny_z_with_zero_population_atom():
    """w0 = 0.5: m(z) = -w0/z + regular part; at |z| = 1e-60 the pole dominates and the
    companion is -(1 - c(1 - w0))/z."""
    law = SampleCovarianceLaw(([0.0, 3.0, 10.0], [0.5, 0.3, 0.2]), 0.3)
    for z in (-1e-60, 1e-300, 1e-60j):
        assert law.stieltjes(z) == pytest.approx(-0.5 / z, rel=1e-14)
        assert law.companion_stieltjes(z) == pytest.approx(-0.85 / z, rel=1e-14)


@pytest.mark.parametrize("z", [1e-100, -1e-100])
def test_resolvent_equivalent_at_tiny_z(z):
    """delta(z) = -1/(z mt) - 1 -> 1/(1 - c) - 1 as z -> 0 (c = p/n < 1); at |z| = 1e-100
    this raised ConvergenceError."""
    from hdeq.equivalents import resolvent_equivalent
    C = np.diag([1.0, 3.0, 10.0] * 40)                 # p = 120, n = 400: c = 0.3
    r = resolvent_equivalent(C, 400, z)
    assert r.delta == pytest.approx(1 / 0.7 - 1, rel=1e-13)


# ------------------------------------------------------------------ c (1 - w0) = 1, x -> 0
def test_square_root_blow_up_at_zero_for_ratio_one():
    """At c = 1 the companion has no atom and mt ~ z^(-1/2): the equation written as
    -1/m + c S1 cancelled and its residual, relative to |z| + |1/m|, was met by any
    |m| > 1e13, so the density came out 1e-34 times too small at x = 1e-100 and
    3e-5 times at 1e-40, silently. Now: exact down to 1e-40 (MP closed form; the
    x^(-1/2) law of a two-atom population), and an error, not a number, below."""
    g, mp = SampleCovarianceLaw([2.0], 1.0), MarchenkoPastur(1.0, scale=2.0)
    x = np.array([1e-40, 1e-35, 1e-30, 1e-20, 1e-8])
    np.testing.assert_allclose(g.pdf(x), mp.pdf(x), rtol=1e-8)
    two = SampleCovarianceLaw([1.0, 3.0], 1.0)
    np.testing.assert_allclose(two.pdf(x) * np.sqrt(x), two.pdf(1e-16) * 1e-8, rtol=1e-6)
    from hdeq.core import ConvergenceError
    with pytest.raises(ConvergenceError):
        g.pdf(np.array([1e-100]))
