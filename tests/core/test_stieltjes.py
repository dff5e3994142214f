"""Tests of the Stieltjes utilities: quadrature, Silverstein-Choi edges, polynomial
density (reference values: theory note linear.md §2 and §3.6)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdeq.core import (in_support, integrate_on_support, merge_intervals,
                       polynomial_density, sample_covariance_edges, support_quadrature)

H36 = ([1.0, 3.0, 10.0], [0.5, 0.3, 0.2])        # theory note §3.6 population


def test_quadrature_of_square_root_edges_is_exact():
    # semicircle density on [0, 4] (shifted): total mass 1, mean 2, second moment 5
    dens = lambda x: np.sqrt(x * (4 - x)) / (2 * np.pi)
    for k, ref in [(0, 1.0), (1, 2.0), (2, 5.0)]:
        val = integrate_on_support(lambda x: x**k * dens(x), ((0.0, 4.0),))
        assert val == pytest.approx(ref, abs=1e-13)


def test_quadrature_of_inverse_square_root_edge():
    # MP at c = 1: density sqrt(x (4 - x)) / (2 pi x) ~ x^{-1/2} at 0, mass 1
    val = integrate_on_support(lambda x: np.sqrt((4 - x) / x) / (2 * np.pi),
                               ((0.0, 4.0),), n_nodes=200)
    assert val == pytest.approx(1.0, abs=1e-10)


def test_partial_quadrature_matches_closed_form_cdf():
    # arcsine-type closed form of the semicircle cdf on [-2, 2]
    upper = np.array([-1.5, 0.0, 0.7, 2.0])
    x, w = support_quadrature(-2.0, 2.0, upper)
    got = np.sum(w * np.sqrt(4 - x**2) / (2 * np.pi), axis=-1)
    ref = 0.5 + upper * np.sqrt(4 - upper**2) / (4 * np.pi) + np.arcsin(upper / 2) / np.pi
    np.testing.assert_allclose(got, ref, atol=1e-13)


@pytest.mark.parametrize("c", [0.1, 0.5, 0.9, 1.5, 4.0])
def test_edges_of_single_atom_population_are_mp_edges(c):
    (a, b), = sample_covariance_edges([1.0], [1.0], c)
    assert a == pytest.approx((1 - np.sqrt(c)) ** 2, rel=1e-12, abs=1e-15)
    assert b == pytest.approx((1 + np.sqrt(c)) ** 2, rel=1e-12)


def test_edges_of_three_atom_population_theory_note_3_6():
    edges = sample_covariance_edges(*H36, 0.3)
    ref = [(0.2716, 1.5736), (1.6111, 4.8800), (6.3231, 16.0177)]  # theory note §3.6
    assert len(edges) == 3
    np.testing.assert_allclose(np.array(edges), np.array(ref), atol=6e-5)


def test_edges_are_where_the_polynomial_density_vanishes():
    edges = sample_covariance_edges(*H36, 0.3)
    for a, b in edges:
        d = polynomial_density(np.array([a - 1e-4, a + 1e-4, b - 1e-4, b + 1e-4]), *H36, 0.3)
        assert d[0] == 0 and d[3] == 0 and d[1] > 0 and d[2] > 0


def test_zero_population_eigenvalues_reduce_the_ratio():
    # H = w0 delta_0 + (1 - w0) delta_1: the nonzero spectrum is MP with c (1 - w0)
    (a, b), = sample_covariance_edges([0.0, 1.0], [0.5, 0.5], 1.5)
    ce = 0.75
    assert (a, b) == pytest.approx(((1 - np.sqrt(ce)) ** 2, (1 + np.sqrt(ce)) ** 2),
                                   rel=1e-12)


def test_polynomial_density_theory_note_values():
    d = polynomial_density(np.array([2.0, 5.0, 15.0]), *H36, 0.3)
    np.testing.assert_allclose(d, [0.1262633, 0.0, 0.0110061], atol=5e-8)


def test_polynomial_density_mp_closed_form():
    c = 0.5
    x = np.linspace(0.1, 2.9, 15)
    a, b = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    ref = np.sqrt(np.maximum((b - x) * (x - a), 0)) / (2 * np.pi * c * x)
    np.testing.assert_allclose(polynomial_density(x, [1.0], [1.0], c), ref, atol=1e-12)


def test_dense_population_edges_fast_and_consistent():
    # 10^4 distinct eigenvalues: one interval, left edge below the smallest
    # population value scaled by (1 - sqrt c)^2 ... checked against a coarse scan
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(1, 2, 10_000))
    w = np.full(t.size, 1e-4)
    edges = sample_covariance_edges(t, w, 0.2)
    assert len(edges) == 1
    a, b = edges[0]
    assert 1 * (1 - np.sqrt(0.2)) ** 2 < a < 1 and 2 < b < 2 * (1 + np.sqrt(0.2)) ** 2


def test_merge_and_in_support():
    assert merge_intervals([(3, 4), (0, 1), (0.5, 2)]) == ((0.0, 2.0), (3.0, 4.0))
    assert merge_intervals([(0, 1), (1.05, 2)], gap=0.1) == ((0.0, 2.0),)
    np.testing.assert_array_equal(in_support([-1, 0, 0.5, 2, 3.5], ((0, 1), (3, 4))),
                                  [False, True, True, False, True])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.1, 20), min_size=1, max_size=6),
       st.floats(0.05, 3.0))
def test_edges_bracket_positive_density(values, c):
    t = np.unique(np.round(values, 3))
    w = np.full(t.size, 1.0 / t.size)
    edges = sample_covariance_edges(t, w, c)
    flat = np.ravel(edges)
    assert np.all(np.diff(flat) >= 0)                  # sorted, disjoint
    mids = np.array([(a + b) / 2 for a, b in edges])
    if t.size <= 4:                                    # polynomial route well conditioned
        assert np.all(polynomial_density(mids, t, w, c) > 0)
        gaps = np.array([(edges[i][1] + edges[i + 1][0]) / 2 for i in range(len(edges) - 1)])
        if gaps.size:
            assert np.all(polynomial_density(gaps, t, w, c) == 0)


@pytest.mark.parametrize("s", [1e-300, 1e-5, 1e300])
def test_edges_scale_exactly(s):
    t, w = H36
    ref = np.array(sample_covariance_edges(t, w, 0.3))
    got = np.array(sample_covariance_edges(np.array(t) * s, w, 0.3))
    np.testing.assert_allclose(got, s * ref, rtol=1e-13)


@pytest.mark.parametrize("e", [2e-12, 1e-11, 1e-9, 1e-6])
def test_edges_of_a_bulk_many_decades_below(e):
    # regression (geometric offset bisection): population (delta_e + delta_1)/2,
    # c = 0.5. For e -> 0 the small bulk tends to e (1 - c w)(1 -+ sqrt(c'))^2 with
    # c' = c w/(1 - c w) = 1/3 and the large one to (1 -+ sqrt(c w))^2 = [0.25, 2.25]
    # (relative corrections O(e))
    (a, b), (a2, b2) = sample_covariance_edges([e, 1.0], [0.5, 0.5], 0.5)
    small = 0.75 * (1 + np.array([-1.0, 1.0]) / np.sqrt(3)) ** 2
    np.testing.assert_allclose([a / e, b / e], small, rtol=10 * e)
    np.testing.assert_allclose([a2, b2], [0.25, 2.25], rtol=10 * e)


def test_edges_treat_tiny_eigenvalues_as_zeros():
    # <= K eps x max (rounding level; documented zero_rtol): an exact zero; regression:
    # 1e-20 gave one interval [1.3e-21, 2.25] and 1e-300 gave [0, 2.25]; 1e-12 to 1e-15
    # (above rounding) were snapped too
    for e in (4e-16, 1e-16, 1e-20, 1e-300):
        np.testing.assert_allclose(
            np.array(sample_covariance_edges([e, 1.0], [0.5, 0.5], 0.5)),
            [[0.25, 2.25]], rtol=1e-14)
    kept = sample_covariance_edges([1e-16, 1.0], [0.5, 0.5], 0.5, zero_rtol=0.0)
    assert len(kept) == 2
    np.testing.assert_allclose(kept[0][1] / 1e-16, 0.75 * (1 + 1 / np.sqrt(3)) ** 2,
                               rtol=1e-12)
    for e in (1e-12, 1e-15):
        assert len(sample_covariance_edges([e, 1.0], [0.5, 0.5], 0.5)) == 2
