"""MarchenkoPastur: closed forms, oracle values (theory note linear.md §2), the
generic base routes against the closed forms, and agreement with simulation."""

import math
import warnings

import numpy as np
import pytest

import hdeq
from hdeq.laws import MarchenkoPastur, SpectralLaw


def narayana(k, c):
    return sum(c**j / (j + 1) * math.comb(k, j) * math.comb(k - 1, j) for j in range(k))



@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Eigenvalue draws with one BLAS thread: on a loaded 2-core machine a
    multi-threaded OpenBLAS eigvalsh of a 450 x 450 matrix took 8 s instead of 0.06 s."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        yield

# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("c", [0.5, 1.5])
def test_moments_are_narayana(c):
    law = MarchenkoPastur(c)
    assert [law.moment(k) for k in range(5)] == pytest.approx(
        [1, 1, 1 + c, 1 + 3 * c + c**2, 1 + 6 * c + 6 * c**2 + c**3], rel=1e-14)
    assert law.mean == 1.0 and law.var == pytest.approx(c)


def test_theory_note_oracle_values():
    # theory note §2, "formula" column
    law = MarchenkoPastur(0.5)
    m = law.stieltjes(np.array([-1.0, 1 + 0.5j, 2 + 0.05j]))
    ref = np.array([0.561553, -0.17032 + 1.01022j, -0.72418 + 0.65508j])
    # the note rounds to 5-6 decimals: compare each part to half a unit of 1e-5
    np.testing.assert_allclose(m.real, ref.real, atol=5.01e-6)
    np.testing.assert_allclose(m.imag, ref.imag, atol=5.01e-6)
    assert law.companion_stieltjes(-1.0) == pytest.approx(0.780776, abs=1e-6)
    assert law.support[0] == pytest.approx((0.085786, 2.914214), abs=1e-6)
    law = MarchenkoPastur(1.5)
    assert law.stieltjes(-1.0) == pytest.approx(2 / 3, abs=1e-14)
    m = law.stieltjes(1 + 0.5j)
    assert (m.real, m.imag) == pytest.approx((-0.29385, 0.65816), abs=5.01e-6)
    assert law.companion_stieltjes(-1.0) == pytest.approx(0.5, abs=1e-14)
    m = law.companion_stieltjes(1 + 0.5j)
    assert (m.real, m.imag) == pytest.approx((-0.04077, 0.78724), abs=5.01e-6)
    assert law.atoms == ((0.0, pytest.approx(1 / 3)),)
    assert law.support[0] == pytest.approx((0.050510, 4.949490), abs=1e-6)


@pytest.mark.parametrize("c", [0.3, 0.5, 2.0])
def test_stieltjes_solves_its_quadratic_everywhere(c):
    # the product-of-principal-roots branch is right in both half-planes and on the
    # real axis off the support, including Re z < 1 + c (theory note §2 pitfall)
    law = MarchenkoPastur(c)
    x = np.linspace(-3, 8, 23)
    z = np.concatenate([x + 0.7j, x - 0.2j, np.array([-1.0, -0.01, 10.0])])
    m = law.stieltjes(z)
    np.testing.assert_allclose(c * z * m**2 - (1 - c - z) * m + 1, 0, atol=1e-13)
    assert np.all(np.sign(m.imag[z.imag != 0]) == np.sign(z.imag[z.imag != 0]))
    np.testing.assert_allclose(law.stieltjes(np.conj(z)), np.conj(m), rtol=1e-15)


def test_no_cancellation_near_zero_below_ratio_one():
    law = MarchenkoPastur(0.5)
    # m(0) = int dmu / t = 1 / (1 - c)
    assert law.stieltjes(0.0) == pytest.approx(2.0, rel=1e-14)
    assert law.stieltjes(1e-9j) == pytest.approx(2.0, rel=1e-8)


def test_atom_mass_and_pdf_integral():
    for c in (0.5, 1.5, 4.0):
        law = MarchenkoPastur(c)
        mass = 1 - 1 / c if c > 1 else 0.0
        assert sum(w for _, w in law.atoms) == pytest.approx(mass, abs=1e-15)
        a, b = law.support[0]
        assert SpectralLaw.cdf(law, b) == pytest.approx(1.0, abs=1e-12)
        assert law._interval_mass(a, b) == pytest.approx(1 - mass, abs=1e-12)
    # atom from the Stieltjes transform: mu({0}) = lim -i eta m(i eta)
    law = MarchenkoPastur(1.5)
    eta = 1e-9
    assert (-1j * eta * law.stieltjes(1j * eta)).real == pytest.approx(1 / 3, abs=1e-8)


def test_scale_rescales_everything():
    base, law = MarchenkoPastur(0.7), MarchenkoPastur(0.7, scale=2.5)
    z = np.array([-1.0, 3 + 1j, 20.0])
    np.testing.assert_allclose(law.stieltjes(z), base.stieltjes(z / 2.5) / 2.5, rtol=1e-14)
    assert law.moment(3) == pytest.approx(2.5**3 * base.moment(3), rel=1e-14)
    x = np.linspace(0.1, 7, 9)
    np.testing.assert_allclose(law.pdf(x), base.pdf(x / 2.5) / 2.5, rtol=1e-13)


@pytest.mark.parametrize("law_cls, args", [(MarchenkoPastur, (0.5,)), (MarchenkoPastur, (2.0,)),
                                           (hdeq.Semicircle, ())])
@pytest.mark.parametrize("s", [1e-200, 1e200])
def test_extreme_scales_are_exact_and_warning_free(law_cls, args, s):
    """The law of s X is the law of X scaled by s: pdf, cdf, stieltjes and moments at
    s = 1e-200 and 1e200 (accepted by the constructor) used to overflow (x x, s s,
    (b - x)(x - a)) with RuntimeWarnings, NaN densities and OverflowError for var."""
    base, law = law_cls(*args), law_cls(*args, scale=s)
    x = np.linspace(-0.5, 6.5, 29)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(law.pdf(x * s) * s, base.pdf(x), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(law.cdf(x * s), base.cdf(x), atol=1e-12)
        z = np.array([1j, 3 + 1j, -4.0, 9.0])
        np.testing.assert_allclose(law.stieltjes(z * s) * s, base.stieltjes(z), rtol=1e-12)
        assert law.pdf(np.array([1e300, -1e300, np.inf])).tolist() == [0.0, 0.0, 0.0]
        expected = base.var * s * s if s < 1 else np.inf
        assert law.var == pytest.approx(expected, rel=1e-12, abs=0)
        assert np.isfinite(law.mean) and law.mean == pytest.approx(base.mean * s, abs=1e-300)


# ------------------------------------------------------------------ base routes vs closed form
@pytest.mark.parametrize("c", [0.5, 1.5])
def test_generic_routes_agree_with_closed_forms(c):
    law = MarchenkoPastur(c)
    x = np.linspace(-0.5, 6, 40)
    # pdf from Im of the boundary value == closed form
    np.testing.assert_allclose(SpectralLaw.pdf(law, x), law.pdf(x), atol=1e-13)
    # moments by quadrature + atom == Narayana
    for k in range(1, 5):
        assert SpectralLaw.moment(law, k) == pytest.approx(law.moment(k), rel=1e-11)
    # moments from the large-|z| expansion m(z) = -sum M_k / z^{k+1}
    z = 200.0 + 0j
    series = -sum(law.moment(k) / z ** (k + 1) for k in range(12))
    assert law.stieltjes(z) == pytest.approx(series, rel=1e-14)


def test_cdf_bin_masses_theory_note():
    # theory note §2: mass in 10 equal bins of [l-, l+] for c = 0.5
    law = MarchenkoPastur(0.5)
    a, b = law.support[0]
    masses = np.diff(law.cdf(np.linspace(a, b, 11)))
    ref = [.2287, .1794, .1396, .1132, .0934, .0773, .0632, .0500, .0364, .0190]
    np.testing.assert_allclose(masses, ref, atol=6e-5)
    assert masses.sum() == pytest.approx(1.0, abs=1e-12)


def test_cdf_includes_atom_and_is_monotone():
    law = MarchenkoPastur(2.0)
    x = np.linspace(-1, 7, 200)
    F = law.cdf(x)
    assert np.all(np.diff(F) >= -1e-15) and F[0] == 0 and F[-1] == pytest.approx(1.0)
    assert law.cdf(0.0) == pytest.approx(0.5, abs=1e-15)
    assert law.pdf(0.0) == 0.0                        # density part only at the atom


# ------------------------------------------------------------------ errors
def test_bad_input():
    with pytest.raises(ValueError, match="`aspect_ratio` of MarchenkoPastur"):
        MarchenkoPastur(-0.5)
    with pytest.raises(ValueError, match="`aspect_ratio` of MarchenkoPastur"):
        MarchenkoPastur(float("nan"))
    with pytest.raises(ValueError, match="`scale` of MarchenkoPastur"):
        MarchenkoPastur(0.5, scale=0.0)
    law = MarchenkoPastur(1.5)
    with pytest.raises(ValueError, match="off the support"):
        law.stieltjes(1.0)
    with pytest.raises(ValueError, match="atoms"):
        law.stieltjes(0.0)
    with pytest.raises(ValueError, match="`z` of MarchenkoPastur"):
        law.stieltjes(np.array([np.inf]))
    with pytest.raises(ValueError, match="on_failure"):
        law.stieltjes(1j, on_failure="ignore")
    with pytest.raises(ValueError, match="`n_features`"):
        law.sample(0)


# ------------------------------------------------------------------ simulation
def test_sample_shape_and_determinism():
    law = MarchenkoPastur(1.5)
    ev = law.sample(300, seed=3)
    assert ev.shape == (300,) and np.all(np.diff(ev) >= 0) and np.all(ev >= 0)
    np.testing.assert_array_equal(ev, law.sample(300, seed=3))
    # rank n = 200: exactly p - n zero eigenvalues
    assert np.sum(ev == 0) == 100


@pytest.mark.simulation
@pytest.mark.parametrize("c", [0.5, 1.5])
def test_stieltjes_agrees_with_simulation(c):
    """|mean - theory| <= k stderr + C/p with k = 4, C = 2 (traces fluctuate at 1/p)."""
    law = MarchenkoPastur(c)
    p, trials = 300, 6
    z = np.array([-1.0, 1 + 0.5j, 3 + 1j])
    vals = np.array([np.mean(1 / (law.sample(p, seed=s)[:, None] - z), axis=0)
                     for s in range(trials)])
    mean, se = vals.mean(0), vals.std(0, ddof=1) / np.sqrt(trials)
    assert np.all(np.abs(mean - law.stieltjes(z)) <= 4 * np.abs(se) + 2.0 / p)


@pytest.mark.simulation
def test_simulation_error_shrinks_with_size():
    """Mean |m_emp(z) - m(z)| over fixed seeds decreases at p = 50, 200, 800."""
    law = MarchenkoPastur(0.5)
    z = np.array([-1.0, 1 + 0.5j, 2 + 0.3j])
    errs = []
    for p in (50, 200, 800):
        m = np.array([np.mean(1 / (law.sample(p, seed=s)[:, None] - z), axis=0)
                      for s in range(3)])
        errs.append(np.mean(np.abs(m - law.stieltjes(z))))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < errs[0] / 4                      # roughly 1/p: a factor 16 expected


@pytest.mark.simulation
def test_moments_and_edges_agree_with_simulation():
    law = MarchenkoPastur(0.5)
    p = 400
    ev = np.array([law.sample(p, seed=s) for s in range(5)])
    for k in (1, 2, 3):
        mk = np.mean(ev**k, axis=1)
        se = mk.std(ddof=1) / np.sqrt(mk.size)
        assert abs(mk.mean() - law.moment(k)) <= 4 * se + 2.0 * k / p
    # extremes: Tracy-Widom scale sigma_n ~ (sqrt n + sqrt p)(1/sqrt n + 1/sqrt p)^{1/3}/n
    n = 800
    sigma = (np.sqrt(n) + np.sqrt(p)) * (1 / np.sqrt(n) + 1 / np.sqrt(p)) ** (1 / 3) / n
    assert abs(ev[:, -1].mean() - law.support[0][1]) <= 6 * sigma
    assert abs(ev[:, 0].mean() - law.support[0][0]) <= 6 * sigma


@pytest.mark.parametrize("c", [1 - 1e-9, 1 + 1e-9, 1 - 1e-6, 1 + 1e-6, 0.999, 4.0])
def test_atom_and_lower_edge_are_exact_next_to_c_one(c):
    # fresh-user report 3: 1 - 1/c and (1 - sqrt c)^2 cancel next to c = 1 (8e-8 and
    # 1.7e-7 relative at 1 +- 1e-9); (c - 1)/c and ((1 - c)/(1 + sqrt c))^2 do not.
    # Reference: mpmath at 40 digits for the float c itself.
    import mpmath as mp

    mp.mp.dps = 40
    cm = mp.mpf(c)
    law = MarchenkoPastur(c)
    lower = (1 - mp.sqrt(cm)) ** 2
    assert abs(law.edges[0] - lower) <= 4e-16 * lower
    assert abs(law.support[0][0] - lower) <= 4e-16 * lower
    if c > 1:
        mass = (cm - 1) / cm
        assert abs(law.atoms[0][1] - mass) <= 4e-16 * mass
    else:
        assert law.atoms == ()
