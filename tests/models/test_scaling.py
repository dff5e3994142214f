"""Scaling laws (hdeq.models._scaling): exponent table, learning-curve slopes, oracle values.

Reference values: theory note linear.md §6.1 (kappa_0 asymptotics), §6.2 (exponent table
with the note's DE fits) and §6.5 (power-law ridge oracle table, DE vs MC).
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hdeq import PowerLawRidge, fit_power_law, scaling_exponent
from hdeq.equivalents import ridge_risk

# theory note §6.2: (alpha, r, ell, noisy, note's fitted rate, predicted rate)
TABLE_62 = [
    (1.5, 0.4, 0.5, False, 0.406, 0.40),
    (2.0, 0.25, 1.0, False, 0.511, 0.50),
    (1.5, 1.5, 0.5, False, 0.985, 1.0),
    (1.5, 0.4, None, False, 1.212, 1.2),
    (2.0, 0.25, None, False, 1.003, 1.0),
    (1.5, 1.5, None, False, 3.04, 3.0),
    (1.5, 0.4, 0.341, True, 0.275, 0.273),
    (2.0, 0.25, 0.5, True, 0.253, 0.25),
    (1.5, 0.4, 1.09, True, 0.261, 0.273),
    (2.0, 0.25, 1.5, True, 0.252, 0.25),
    (1.5, 1.5, 0.94, True, 0.369, 0.375),
    (1.5, 0.4, 1.5 / 2.2, True, 0.546, 0.545),
    (2.0, 0.25, 1.0, True, 0.501, 0.5),
    (1.5, 1.5, 0.375, True, 0.732, 0.75),
]


@pytest.mark.parametrize("alpha, r, ell, noisy, fitted, predicted", TABLE_62)
def test_exponent_function_reproduces_table(alpha, r, ell, noisy, fitted, predicted):
    rate, regime = scaling_exponent(alpha, r, ell, noisy=noisy)
    assert rate == pytest.approx(predicted, abs=6e-3)     # the note prints 2-3 digits
    assert ("noisy" if noisy else "noiseless") == regime.split(",")[0]


@pytest.mark.parametrize("alpha, r, ell, noisy, fitted, predicted", TABLE_62)
def test_slopes_fitted_on_the_deterministic_equivalent(alpha, r, ell, noisy, fitted, predicted):
    # same fit ranges as the note: n in [1e3, 3e4] (noiseless) or [1e4, 3e5] (noisy).
    # Our infinite spectrum (exact head + quadrature tail) removes the truncation bias of
    # the note's P = 2e6 (its ridgeless fits 1.212 / 3.04 come out 1.200 / 2.999 here).
    model = PowerLawRidge(alpha, r, noise_var=1.0 if noisy else 0.0, ridge_decay=ell)
    n = np.geomspace(1e4, 3e5, 10) if noisy else np.geomspace(1e3, 3e4, 10)
    slope = model.fitted_exponent(n)
    exact = model.predicted_exponent().rate
    # rows near the crossover converge slowly (note: 0.261 vs 0.273, 0.732 vs 0.75)
    assert slope == pytest.approx(exact, abs=0.02)
    if ell is not None:
        assert slope == pytest.approx(fitted, abs=3e-3)


def test_regimes_and_continuity():
    a, r = 2.0, 0.3
    ell_star = a / (1 + 2 * a * r)
    below = scaling_exponent(a, r, ell_star - 1e-9, noisy=True)
    above = scaling_exponent(a, r, ell_star + 1e-9, noisy=True)
    at = scaling_exponent(a, r, ell_star, noisy=True)
    assert below.regime == "noisy, bias-limited" and above.regime == "noisy, variance-limited"
    assert at.regime == "noisy, optimal"
    assert below.rate == pytest.approx(at.rate, abs=1e-8) == pytest.approx(above.rate, abs=1e-8)
    # saturation of the ridge filter at r = 1
    assert scaling_exponent(2.0, 3.0).rate == scaling_exponent(2.0, 1.0).rate == 4.0
    assert scaling_exponent(2.0, 0.5, noisy=True) == (0.0, "noisy, tempered (ridgeless)")


@pytest.mark.parametrize("alpha, ref", [(2.0, 1.0), (3.0, 2.0)])
def test_tempered_overfitting_plateau(alpha, ref):
    # theory note §6.2 last row: noisy ridgeless, E_n -> noise_var (alpha - 1)
    model = PowerLawRidge(alpha, 0.25, noise_var=1.0)
    assert model.excess_error(1e4) == pytest.approx(ref, rel=1e-3)


@pytest.mark.parametrize("alpha, ref", [(2.0, 2.4674), (3.0, 1.76805)])
def test_ridgeless_effective_ridge_asymptotics(alpha, ref):
    # theory note §6.1: kappa_0 n^alpha -> ((pi/alpha)/sin(pi/alpha))^alpha (integral approx.)
    model = PowerLawRidge(alpha, 0.5)
    kappa = float(model.risk(1e5).kappa)
    assert kappa * 1e5 ** alpha == pytest.approx(ref, rel=2e-3)
    assert ref == pytest.approx(((np.pi / alpha) / np.sin(np.pi / alpha)) ** alpha, rel=1e-4)


# theory note §6.5: s_k = k^-1.5, r = 0.4, P = 4000; n, ridge, noise, kappa, excess, MC, se
TABLE_65 = [
    (200, 1e-3, 0.0, 0.0024704, 0.0074284, 0.0078237, 2.6e-4),
    (800, 1e-3, 0.0, 0.0012887, 0.0037523, 0.0037904, 8.0e-5),
    (800, 1e-4, 0.0, 0.00025122, 0.0012035, 0.0011982, 2.7e-5),
    (400, 1e-3, 0.05, 0.0016306, 0.013280, 0.012886, 9.5e-4),
    (800, 1e-2, 0.05, 0.010618, 0.020147, 0.019457, 4.2e-4),
]


@pytest.mark.parametrize("n, ridge, noise, kappa, excess, mc, se", TABLE_65)
def test_power_law_ridge_oracle(n, ridge, noise, kappa, excess, mc, se):
    model = PowerLawRidge(1.5, 0.4, 4000, noise_var=noise, ridge_decay=0.0, ridge_scale=ridge)
    risk = model.risk(n)
    assert float(risk.kappa) == pytest.approx(kappa, rel=5e-5)
    assert float(risk.excess) == pytest.approx(excess, rel=5e-5)
    assert abs(mc - excess) <= max(4 * se, 0.02 * excess)


@pytest.mark.simulation
def test_simulated_learning_curve_and_slope():
    # finite model P = 2000, ridgeless, noiseless, alpha = 2, r = 0.3 (predicted rate 1.2):
    # each point within 4 se + C theory / sqrt(n) (C = 1, relative finite-size effect), and
    # the slope fitted on simulation agrees with the slope of the finite-P theory (4 standard
    # errors of the fitted slope + 0.05) and with the predicted exponent (0.15: n <= 400 is
    # pre-asymptotic, the finite-P theory slope itself is 1.23 there).
    model = PowerLawRidge(2.0, 0.3, 2000)
    n = np.array([50, 100, 200, 400])
    with threadpool_limits(1):
        table = model.simulate(n, trials=6, seed=0)
    tol = 4 * table.stderr + table.theory / np.sqrt(table.n_samples)
    assert np.all(np.abs(table.empirical - table.theory) <= tol)
    sim_rate = fit_power_law(n, table.empirical.to_numpy())[0]
    theory_rate = fit_power_law(n, table.theory.to_numpy())[0]
    # standard error of the fitted slope (delta method): slope = sum_i a_i log y_i
    lx = np.log(n)
    a = (lx - lx.mean()) / np.sum((lx - lx.mean()) ** 2)
    se_slope = np.sqrt(np.sum((a * table.stderr / table.empirical) ** 2))
    assert abs(sim_rate - theory_rate) <= 4 * se_slope + 0.05
    assert sim_rate == pytest.approx(model.predicted_exponent().rate, abs=0.15)


def test_fit_power_law_exact():
    x = np.geomspace(1, 1e3, 7)
    rate, const = fit_power_law(x, 2.5 * x ** -0.7)
    assert rate == pytest.approx(0.7, abs=1e-12) and const == pytest.approx(2.5, rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="`alpha` of scaling_exponent"):
        scaling_exponent(0.5, 0.3)
    with pytest.raises(ValueError, match="`source` of PowerLawRidge"):
        PowerLawRidge(2.0, -1.0)
    with pytest.raises(ValueError, match="`n_modes` of PowerLawRidge"):
        PowerLawRidge(2.0, 0.5).simulate([10])
    with pytest.raises(ValueError, match="`n_samples` of PowerLawRidge"):
        PowerLawRidge(2.0, 0.5, 100).excess_error(100)


def test_theory_accepts_real_sizes_simulation_needs_whole_ones():
    model = PowerLawRidge(2.0, 0.5, 200, ridge_decay=1.0)
    # the equivalent is smooth in n: a fractional size lies between its neighbours
    lo, mid, hi = model.excess_error([10.0, 10.5, 11.0])
    assert hi < mid < lo
    with pytest.raises(ValueError, match="whole numbers of samples"):
        model.simulate([10.5, 20], trials=2, seed=0)


def _finite_sum_excess(model, n, n_modes):
    """The excess risk of the first ``n_modes`` modes, as plain atoms (no snapping)."""
    k = np.arange(1, n_modes + 1, dtype=float)
    a, r = model.alpha, model.source
    return ridge_risk(model.ridge(n), k ** -a, None, n, target_energy=k ** (a - 1 - 2 * a * r),
                      noise_var=model.noise_var).excess


@pytest.mark.parametrize("alpha, r, kw", [
    (3.0, 1.0, {}), (4.0, 1.0, {}), (8.0, 0.1, {}), (3.0, 1.0, dict(noise_var=1.0)),
])
def test_infinite_spectrum_is_the_limit_of_finite_sums(alpha, r, kw):
    """Regression (fresh-user report 2, item 1): on the infinite spectrum alpha >= 3 gave
    NaN (Newton from kappa = 0 needed more than 200 steps across the 120 decades of the
    tail) or 0.0 (overflow of (t + kappa)^-b for alpha >= 4). The finite sums over the
    first P modes converge to the infinite model like P^(-q), q = min(alpha - 1, 2 alpha r)
    (tail of df1 ~ P^(1 - alpha), tail of the target energy ~ P^(-2 alpha r)): the
    relative gap must shrink by 10^q from P = 1e4 to 1e5 (within 5%) where it is well
    above the accuracy of the infinite model (~1e-10: midpoint rule of the quadrature tail,
    error ~alpha^2/(24 * 4000^2) of its share)."""
    model = PowerLawRidge(alpha, r, **kw)
    n = np.array([10.0, 100.0, 1000.0])
    inf = model.excess_error(n)
    assert np.all(np.isfinite(inf)) and np.all(inf > 0)
    gap4, gap5 = (inf / _finite_sum_excess(model, n, P) - 1 for P in (10 ** 4, 10 ** 5))
    q = min(alpha - 1, 2 * alpha * r)
    above = np.abs(gap5) > 1e-8
    assert np.all(np.abs(gap5) < 1e-3) and np.sum(above) >= 1
    np.testing.assert_allclose(gap4[above] / gap5[above], 10 ** q, rtol=0.05)


@pytest.mark.parametrize("alpha, r, kw", [
    (1.05, 0.5, {}), (1.05, 0.5, dict(noise_var=0.5, ridge_decay=0.5)), (1.2, 0.3, {}),
])
def test_alpha_near_one_keeps_the_tail_beyond_the_quadrature(alpha, r, kw):
    """Near alpha = 1 the modes beyond k = 1e40 still carry ~1/(alpha-1) 1e-40(alpha-1) of
    the trace (0.2 at alpha = 1.05): truncating there moved the excess risk by 0.3%. The
    remainder atom keeps it; reference: a quadrature carried out to k = 10^(250/alpha)."""
    model = PowerLawRidge(alpha, r, **kw)
    n = np.array([10.0, 100.0, 1000.0])
    from scipy.special import roots_legendre
    head = np.arange(1, 4001, dtype=float)
    x, w = roots_legendre(3000)
    lo, hi = np.log(4000.5), 250 / alpha * np.log(10.0)
    k = np.exp(0.5 * (hi - lo) * x + 0.5 * (hi + lo))
    mult = 0.5 * (hi - lo) * w * k
    expo = alpha - 1 - 2 * alpha * r
    ref = ridge_risk(model.ridge(n), np.r_[head ** -alpha, k ** -alpha],
                     np.r_[np.ones(4000), mult], n, noise_var=model.noise_var,
                     target_energy=np.r_[head ** expo, mult * k ** expo]).excess
    np.testing.assert_allclose(model.excess_error(n), ref, rtol=1e-10)


@pytest.mark.parametrize("alpha, r, ell", [(3.0, 0.5, None), (5.0, 0.3, None),
                                           (8.0, 0.1, None), (20.0, 0.5, None),
                                           (5.0, 0.3, 2.0)])
def test_steep_spectra_follow_the_predicted_exponent(alpha, r, ell):
    # rates up to 20 (alpha = 20): E_n spans 80 decades over the fit range
    model = PowerLawRidge(alpha, r, noise_var=0.0 if ell is None else 1.0, ridge_decay=ell)
    n = np.geomspace(1e3, 3e4, 8) if ell is None else np.geomspace(1e4, 3e5, 8)
    assert model.fitted_exponent(n) == pytest.approx(model.predicted_exponent().rate,
                                                     abs=0.01)


def test_out_of_range_sizes_raise_naming_alpha():
    # alpha = 50: the effective ridge ~ n^-50 leaves the range of the spectral sums
    # (1e-100) above n ~ 96; the error names alpha and the largest usable size
    model = PowerLawRidge(50.0, 0.5)
    assert np.all(np.isfinite(model.excess_error([2.0, 10.0, 50.0])))
    with pytest.raises(ValueError, match=r"PowerLawRidge\(alpha=50.*n_samples=1000.*"
                                         r"largest usable n_samples about 95"):
        model.excess_error([10.0, 1000.0])
    # a ridge keeps kappa above the floor: fine at any n
    ridged = PowerLawRidge(50.0, 0.5, noise_var=0.1, ridge_decay=1.0)
    assert np.all(np.isfinite(ridged.excess_error([1e3, 1e6])))


def test_exponents_print_as_the_table_values():
    # fresh-user report 2, item 18: 2 * 1.5 * 0.4 printed as rate=1.2000000000000002
    assert repr(scaling_exponent(1.5, 0.4)) == ("ScalingExponent(rate=1.2, regime="
                                                 "'noiseless, capacity-limited')")
    assert scaling_exponent(1.5, 0.4, 0.341, noisy=True).rate == 0.2728
    assert scaling_exponent(2.0, 0.3, noisy=True, ridge_decay=2.0 / 2.2).rate == float(
        f"{1.2 / 2.2:.12g}")


def test_fit_power_law_needs_two_distinct_x_values():
    with pytest.raises(ValueError, match="`x` of fit_power_law must take at least two "
                                         "distinct values"):
        fit_power_law([5, 5, 5], [1, 2, 3])
    with pytest.raises(ValueError, match="`n_samples` of PowerLawRidge.fitted_exponent must "
                                         "take at least two distinct values"):
        PowerLawRidge(2, 0.5).fitted_exponent([100, 100])
    with pytest.raises(ValueError, match="`n_samples` of PowerLawRidge.fitted_exponent must "
                                         "be a 1-D array of length >= 2"):
        PowerLawRidge(2, 0.5).fitted_exponent(100)
    # two distinct values (one repeated) are enough
    assert fit_power_law([1, 1, 10], [1, 1, 0.1])[0] == pytest.approx(1.0)


def test_noisy_must_be_a_bool():
    with pytest.raises(ValueError, match=r"`noisy` of scaling_exponent must be a bool "
                                         r"\(True or False\); got 'no'"):
        scaling_exponent(2.0, 0.25, noisy="no")
    with pytest.raises(ValueError, match="`noisy` of scaling_exponent must be a bool"):
        scaling_exponent(2.0, 0.25, noisy=1)
    assert (scaling_exponent(2.0, 0.25, 0.5, noisy=np.bool_(True))
            == scaling_exponent(2.0, 0.25, 0.5, noisy=True))


def test_infinite_ridge_decay_is_ridgeless():
    for noisy in (False, True):
        assert (scaling_exponent(2.0, 0.25, ridge_decay=np.inf, noisy=noisy)
                == scaling_exponent(2.0, 0.25, ridge_decay=None, noisy=noisy))
    assert scaling_exponent(2.0, 0.25, float("inf"), noisy=True).regime == \
        "noisy, tempered (ridgeless)"
    model = PowerLawRidge(2.0, 0.25, noise_var=1.0, ridge_decay=np.inf)
    assert model.ridge_decay is None
    n = np.geomspace(1e3, 1e4, 3)
    assert np.array_equal(model.excess_error(n),
                          PowerLawRidge(2.0, 0.25, noise_var=1.0).excess_error(n))
    for bad in (-np.inf, np.nan, -1.0, "inf"):
        with pytest.raises(ValueError, match=r"`ridge_decay` of scaling_exponent must be a "
                                             r"float in \[0.0, inf\] or None"):
            scaling_exponent(2.0, 0.25, ridge_decay=bad)
    with pytest.raises(ValueError, match="`ridge_decay` of PowerLawRidge must be a float"):
        PowerLawRidge(2.0, 0.25, ridge_decay=-np.inf)


def test_tempered_label_says_ridgeless_only_without_a_ridge():
    # theory note §6.2, last row: ell >= alpha gives rate 0; a finite ell is a real ridge
    for ell in (2.0, 3.0):
        assert scaling_exponent(2.0, 0.25, ell, noisy=True) == (0.0, "noisy, tempered")
    assert scaling_exponent(2.0, 0.25, None, noisy=True) == (0.0, "noisy, tempered (ridgeless)")
    # ell = alpha: the ridge ~ kappa_0 lowers the plateau below noise_var (alpha - 1) = 1
    n = np.array([1e4, 1e5])
    at = PowerLawRidge(2.0, 0.5, noise_var=1.0, ridge_decay=2.0).excess_error(n)
    assert np.all(at < 0.7) and at[1] == pytest.approx(at[0], rel=1e-2)
