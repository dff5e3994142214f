"""Tests of the vectorized Newton/continuation solver and its failure reporting."""

import warnings

import numpy as np
import pytest

from hdeq.core import (CONVERGED, MAX_ITER, WRONG_BRANCH, ConvergenceError,
                       ConvergenceWarning, SolveResult, resolve_failures, solve_stieltjes)


def semicircle(m, z, idx):
    """Inverse form of the semicircle equation m^2 + z m + 1 = 0: phi(m) = -m - 1/m."""
    return -m - 1 / m - z, -1 + 1 / m**2


def semicircle_closed(z):
    z = np.asarray(z, complex)
    return (-z + np.sqrt(z - 2) * np.sqrt(z + 2)) / 2


def test_semicircle_any_shape_matches_closed_form():
    x = np.linspace(-3, 3, 13)
    eta = np.array([0.0, 1e-8, 1e-3, 0.5, 10.0])
    z = x[:, None] + 1j * eta[None, :]
    # exclude the edges +-2 where the root is double (checked separately)
    r = solve_stieltjes(semicircle, z)
    assert r.value.shape == z.shape and r.status.shape == z.shape
    assert r.all_converged
    ref = semicircle_closed(np.where(z.imag == 0, z + 0j, z))
    # on the support the closed form with +0j imaginary part gives m(x + i0)
    ok = np.abs(np.abs(z.real) - 2) > 1e-12
    np.testing.assert_allclose(r.value[ok], ref[ok], rtol=1e-12, atol=1e-14)


def test_residual_is_recomputed_and_small():
    z = np.array([0.3 + 1e-6j, 1.0 + 0j, 5.0 + 0j, -1 + 2j])
    r = solve_stieltjes(semicircle, z)
    F, _ = semicircle(r.value, z, None)
    np.testing.assert_allclose(r.residual, np.abs(F) / (np.abs(z) + np.abs(1 / r.value)),
                               rtol=1e-6, atol=1e-30)
    assert np.all(r.residual <= 1e-10)


def test_herglotz_and_real_branch():
    rng = np.random.default_rng(0)
    z = rng.uniform(-4, 4, 200) + 1j * 10 ** rng.uniform(-12, 1, 200)
    r = solve_stieltjes(semicircle, z)
    assert r.all_converged and np.all(r.value.imag > 0)
    # real points outside the support: the real root with phi'(m) > 0, |m| < 1
    x = np.array([-5.0, -2.5, 2.5, 5.0])
    r = solve_stieltjes(semicircle, x)
    assert np.all(np.abs(r.value.imag) < 1e-14)
    np.testing.assert_allclose(r.value.real, semicircle_closed(x).real, rtol=1e-13)


def test_probability_check_rejects_a_nearly_real_wrong_root():
    """At 0 < Im z < tol |z| a nearly real iterate has residual ~ Im z, under tol: the
    semicircle at z = 3 + 1e-13 i started at the wrong real root -2.618 (phi' < 0)
    passes the residual test; with probability=True the sharp Herglotz check (a nearly
    real m needs phi'(m) > 0, Im m >= Im z |m|^2) flags it and the retry finds m(z)."""
    z = np.array([3 + 1e-13j])
    start = np.array([-(3 + np.sqrt(5)) / 2 + 1e-20j])
    loose = solve_stieltjes(semicircle, z, initial=start, max_iter=1)
    assert loose.all_converged and loose.value[0].real == pytest.approx(-2.618034, rel=1e-6)
    flagged = solve_stieltjes(semicircle, z, initial=start, max_iter=1, retry=False,
                              probability=True)
    assert flagged.status[0] == WRONG_BRANCH
    fixed = solve_stieltjes(semicircle, z, initial=start, max_iter=1, probability=True)
    assert fixed.all_converged
    np.testing.assert_allclose(fixed.value, semicircle_closed(z), rtol=1e-12)
    assert fixed.value[0].imag >= z[0].imag * abs(fixed.value[0]) ** 2


def test_lower_half_plane_rejected():
    with pytest.raises(ValueError, match="Im z >= 0"):
        solve_stieltjes(semicircle, np.array([1 - 1j]))


def test_tiny_max_iter_does_not_return_the_last_iterate():
    z = np.array([0.5 + 1e-3j, 1 + 1j])
    r = solve_stieltjes(semicircle, z, max_iter=1, inner_iter=1, n_continuation=2,
                        retry=False)
    assert np.all(r.status == MAX_ITER)
    with pytest.raises(ConvergenceError, match="did not converge at 2 of 2 points"):
        resolve_failures(r)


def test_no_root_fails_even_after_retry():
    # F(m, z) = 1 + (m - m) has no root: every Newton step is admissible but the
    # residual never falls, so the status must say so after the retries
    fun = lambda m, z, idx: (1 + 0 * m, 1 + 0 * m)
    r = solve_stieltjes(fun, np.array([0.5j, 1 + 0.1j]), max_iter=20)
    assert not np.any(r.converged)
    with pytest.raises(ConvergenceError) as exc:
        resolve_failures(r, what="test transform", hint="do something else")
    msg = str(exc.value)
    assert "test transform" in msg and "worst residual" in msg and "z = " in msg
    assert "do something else" in msg


def test_on_failure_nan_gives_nan_and_one_warning():
    value = np.array([1 + 1j, 2 + 2j, 3 + 3j])
    r = SolveResult(value=value, status=np.array([0, 1, 1], np.int8),
                    n_iter=np.array([3, 60, 60]), residual=np.array([1e-16, 1e-3, 1e-2]),
                    z=np.array([1j, 2j, 3j]))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = resolve_failures(r, "nan")
    assert len(rec) == 1 and issubclass(rec[0].category, ConvergenceWarning)
    assert "2 of 3" in str(rec[0].message)
    assert out[0] == value[0] and np.all(np.isnan(out[1:]))
    assert np.all(np.isnan(out[1:].imag))          # Im m is a density: NaN, not 0
    assert value[1] == 2 + 2j                       # input record not modified


def test_all_converged_returns_value_without_warning():
    r = solve_stieltjes(semicircle, np.array([1j]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = resolve_failures(r, "nan")
    assert out[0] == pytest.approx(semicircle_closed(1j), abs=1e-14)
    assert r.status[0] == CONVERGED


def test_initial_values_skip_continuation():
    z = np.linspace(-1.5, 1.5, 7) + 0j
    good = semicircle_closed(z + 1e-12j)
    r = solve_stieltjes(semicircle, z, initial=good * (1 + 1e-4))
    assert r.all_converged and np.all(r.n_iter <= 5)
    np.testing.assert_allclose(r.value, semicircle_closed(z + 0j), rtol=1e-12)


def test_continuation_follows_points_far_below_the_scale():
    # MP with ratio 1 (hard edge at 0): phi(m) = -1/m + 1/(1 + m), closed form
    # m(x + i0) = (-x + i sqrt(x (4 - x)))/(2x). With a per-point floor eta_floor*|x|
    # the value at x = 1e-22 has relative error ~1e-6 (the old fixed floor
    # 1e-10 * scale gave 0.4 at x = 1e-26 and 2e-6 at x = 1e-18). The hard edge is
    # ill-conditioned (dm ~ residual * m^2), hence the x-dependent tolerance.
    fun = lambda m, z, idx: (-1 / m + 1 / (1 + m) - z, 1 / m**2 - 1 / (1 + m) ** 2)
    x = np.logspace(-22, -2, 11)
    r = solve_stieltjes(fun, x + 0j, scale=4.0)
    ref = (-x + 1j * np.sqrt(x * (4 - x))) / (2 * x)
    assert r.all_converged
    rel = np.abs(r.value - ref) / np.abs(ref)
    assert np.all(rel <= 1e-15 * np.abs(ref) + 1e-10)
