"""Properties every SpectralLaw must have (theory note linear.md §1), checked with
hypothesis on MarchenkoPastur and SampleCovarianceLaw with random populations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hdeq
from hdeq.laws import MarchenkoPastur, SampleCovarianceLaw, SpectralLaw

ratios = st.floats(0.05, 4.0).filter(lambda c: abs(c - 1) > 0.05)


@st.composite
def laws(draw):
    c = draw(ratios)
    if draw(st.booleans()):
        return MarchenkoPastur(c, scale=draw(st.floats(0.2, 5.0)))
    k = draw(st.integers(1, 4))
    values = np.array(draw(st.lists(st.floats(0.2, 10.0), min_size=k, max_size=k)))
    weights = np.array(draw(st.lists(st.floats(0.1, 1.0), min_size=k, max_size=k)))
    weights /= weights.sum()
    return SampleCovarianceLaw((np.round(values, 2), weights), c)


@st.composite
def upper_points(draw):
    x = draw(st.floats(-5.0, 60.0))
    y = draw(st.floats(1e-6, 20.0))
    return complex(x, y)


def dist_to_support(z, law):
    d = np.inf
    for a, b in law.support:
        xr = min(max(z.real, a), b)
        d = min(d, abs(z - xr))
    for loc, _ in law.atoms:
        d = min(d, abs(z - loc))
    return d


@settings(max_examples=40, deadline=None)
@given(laws(), st.lists(upper_points(), min_size=1, max_size=8))
def test_herglotz_bound_and_reflection(law, zs):
    z = np.array(zs)
    m = law.stieltjes(z)
    assert np.all(m.imag > 0)                                  # Herglotz
    d = np.array([dist_to_support(zz, law) for zz in z])
    assert np.all(np.abs(m) <= (1 + 1e-9) / d)                 # |m| <= 1/dist(z, supp)
    np.testing.assert_allclose(law.stieltjes(np.conj(z)), np.conj(m), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(laws())
def test_large_z_and_real_axis_monotonicity(law):
    R = 1e4 * (1 + law.support[-1][1])
    z = np.array([R, -R, 1j * R])
    np.testing.assert_allclose(law.stieltjes(z) * z, -1, rtol=1e-3)   # m ~ -1/z
    # real axis left of everything: m > 0 and increasing; right of the support: m < 0
    x_left = np.linspace(-3, -0.1, 5)
    m_left = law.stieltjes(x_left)
    assert np.all(m_left.real > 0) and np.all(np.diff(m_left.real) > 0)
    assert np.all(law.stieltjes(law.support[-1][1] + np.array([0.5, 2.0])).real < 0)


@settings(max_examples=20, deadline=None)
@given(laws())
def test_pdf_integrates_to_continuous_mass_and_cdf_is_a_cdf(law):
    atom = sum(w for _, w in law.atoms)
    cont = sum(SpectralLaw._interval_mass(law, a, b) for a, b in law.support)
    assert cont == pytest.approx(1 - atom, abs=1e-8)
    hi = law.support[-1][1]
    x = np.linspace(-1, hi + 1, 60)
    F = law.cdf(x)
    assert np.all((F >= 0) & (F <= 1)) and np.all(np.diff(F) >= -1e-12)
    assert F[-1] == pytest.approx(1.0, abs=1e-8) and F[0] == 0.0
    p = law.pdf(x)
    assert np.all(p >= 0) and np.all(np.isfinite(p))


@settings(max_examples=20, deadline=None)
@given(laws())
def test_moments_quadrature_vs_closed_or_series(law):
    for k in (1, 2, 3):
        assert SpectralLaw.moment(law, k) == pytest.approx(law.moment(k), rel=1e-7)
    assert law.var == pytest.approx(law.moment(2) - law.moment(1) ** 2, rel=1e-10)


@pytest.mark.parametrize("law", [MarchenkoPastur(0.5), SampleCovarianceLaw([1.0, 3.0], 2.0)])
def test_sample_is_sorted_real_and_of_requested_length(law):
    ev = law.sample(37, seed=0)
    assert ev.shape == (37,) and ev.dtype == float and np.all(np.diff(ev) >= 0)


@pytest.mark.parametrize("law", [hdeq.MarchenkoPastur(2.0), hdeq.Semicircle(1.0),
                                 hdeq.free_additive_convolution(hdeq.Semicircle(1.0), 0.5),
                                 hdeq.SampleCovarianceLaw([1e-3, 2.0], 2.0)])
def test_pdf_and_cdf_at_infinity(law):
    x = np.array([-np.inf, np.inf])
    np.testing.assert_array_equal(law.pdf(x), [0.0, 0.0])
    np.testing.assert_allclose(law.cdf(x), [0.0, 1.0], atol=1e-10)
    with pytest.raises(ValueError, match="NaN"):
        law.pdf([np.nan])


def test_cdf_light_rule_agrees_within_its_tolerance():
    # the lighter rule (rtol > 1e-8) serves Kolmogorov distances; it must still be exact
    # to its stated accuracy against the default 1e-11 rule
    for law in (MarchenkoPastur(2.0), hdeq.Semicircle(1.0),
                hdeq.free_multiplicative_convolution(([1.0, 3.0, 10.0], [0.5, 0.3, 0.2]),
                                                     MarchenkoPastur(0.3))):
        x = np.linspace(-2.5, 18.0, 301)
        np.testing.assert_allclose(SpectralLaw.cdf(law, x, rtol=1e-6),
                                   SpectralLaw.cdf(law, x), atol=1e-6)
    with pytest.raises(ValueError, match="rtol"):
        MarchenkoPastur(2.0).cdf([1.0], rtol=0.5)


@pytest.mark.parametrize("call", [
    lambda: MarchenkoPastur(0.5).stieltjes(np.array([1.0])),
    lambda: SampleCovarianceLaw([1.0, 3.0], 0.5).companion_stieltjes(np.array([1.0])),
    lambda: hdeq.free_additive_convolution((np.array([1.0, 2.0]), np.array([0.5, 0.4])), 0.0),
    lambda: hdeq.free_multiplicative_convolution(np.float64(0.0), MarchenkoPastur(0.5)),
    lambda: hdeq.Semicircle().ppf(np.array([2.0])),
    lambda: hdeq.data.gaussian_mixture(3, [[0.0], [1.0]], priors=[0.5, 0.6]),
])
def test_error_messages_show_plain_numbers(call):
    """'got z = 1.0', not 'got z = np.float64(1.0)' (numpy >= 2 reprs of scalars)."""
    with pytest.raises(ValueError) as info:
        call()
    assert "np." not in str(info.value) and "got" in str(info.value)
