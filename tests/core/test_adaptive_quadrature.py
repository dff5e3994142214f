"""Adaptive quadrature on a support: exact moments where a fixed rule was 2e-4 off."""

import numpy as np
import pytest

import hdeq
from hdeq.core import integrate_on_support
from hdeq.laws import SpectralLaw


def test_integrates_semicircle_density_to_one():
    dens = lambda x: np.sqrt(np.clip(x * (4 - x), 0, None)) / (2 * np.pi)
    assert abs(integrate_on_support(dens, ((0.0, 4.0),)) - 1.0) < 1e-13


def test_resolves_a_narrow_spike_a_fixed_rule_misses():
    spike = lambda x: 1e-3 / np.pi / ((x - 0.3) ** 2 + 1e-6)  # Cauchy of width 1e-3
    exact = (np.arctan((1 - 0.3) / 1e-3) + np.arctan(0.3 / 1e-3)) * 1e-3 / np.pi / 1e-3
    assert abs(integrate_on_support(spike, ((0.0, 1.0),)) - exact) < 1e-9 * exact


def test_reports_when_it_cannot_converge():
    with pytest.raises(hdeq.ConvergenceError, match="did not reach"):
        integrate_on_support(lambda x: np.sign(np.sin(1e4 * x)), ((0.0, 1.0),), max_pieces=8)


def test_budget_grows_with_the_number_of_intervals():
    # 600 intervals (a sample covariance law at small aspect ratio can have hundreds of
    # bulks), one with a narrow spike that needs splitting: the piece budget must not be
    # used up by the intervals themselves (it raised ConvergenceError at 512 pieces)
    support = tuple((float(k), k + 0.5) for k in range(600))
    g = lambda x: 1.0 + 1e-3 / np.pi / ((x - 0.25) ** 2 + 1e-6)
    lo, hi = np.array(support).T
    exact = 300.0 + np.sum(np.arctan((hi - 0.25) / 1e-3) - np.arctan((lo - 0.25) / 1e-3)) / np.pi
    assert abs(integrate_on_support(g, support) - exact) < 1e-10 * exact


@pytest.mark.parametrize("k, exact", [(1, 2.0), (2, 6.2)])  # M1 = E t, M2 = E t^2 + c (E t)^2
def test_base_moment_quadrature_matches_closed_form_for_nearly_touching_bulks(k, exact):
    # population {1: .5, 3: .5} at c = 0.3: the two bulks nearly touch, the density has a
    # deep dip; the generic (quadrature) moment must still be exact.
    law = hdeq.SampleCovarianceLaw(([1.0, 3.0], [0.5, 0.5]), 0.3)
    assert abs(SpectralLaw.moment(law, k) - exact) < 1e-10 * exact


def test_cancelling_integrand_odd_moment_of_a_symmetric_law():
    # odd moments of the semicircle vanish: the tolerance must be relative to |g|
    law = hdeq.Semicircle(1.0)
    assert abs(SpectralLaw.moment(law, 1)) < 1e-12
    assert abs(SpectralLaw.moment(law, 3)) < 1e-12
    assert abs(SpectralLaw.moment(law, 4) - 2.0) < 1e-10  # Catalan number C_2
