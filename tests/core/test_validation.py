"""Input validation: messages name the parameter, the expectation and the value as a
person reads it."""

import numpy as np
import pytest

import hdeq
from hdeq.core import as_generator, check_population, check_scalar


def test_messages_show_plain_numbers_not_numpy_reprs():
    with pytest.raises(ValueError) as info:
        check_population(([1.0, 2.0], [0.7, 0.7]), owner="Law")
    assert "got 1.4" in str(info.value) and "np.float64" not in str(info.value)
    with pytest.raises(ValueError, match=r"got -1\.0$"):
        check_scalar(np.float64(-1.0), "aspect_ratio", "Law", low=0)


def test_tuple_of_two_numbers_is_two_eigenvalues():
    values, weights = check_population((1.0, 2.0))
    np.testing.assert_array_equal(values, [1.0, 2.0])
    np.testing.assert_array_equal(weights, [0.5, 0.5])
    values, weights = check_population(([1.0, 2.0], [0.25, 0.75]))
    np.testing.assert_array_equal(weights, [0.25, 0.75])


def test_negative_seed_is_a_value_error():
    with pytest.raises(ValueError, match="`seed` must be a non-negative int"):
        as_generator(-1)
    with pytest.raises(ValueError, match="`seed`"):
        hdeq.MarchenkoPastur(0.5).sample(5, seed=-1)


def test_same_seed_same_numbers():
    a = hdeq.MarchenkoPastur(0.5).sample(50, seed=3)
    b = hdeq.MarchenkoPastur(0.5).sample(50, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_data_whose_squares_overflow_is_rejected():
    X = np.random.default_rng(0).standard_normal((30, 5))
    with pytest.raises(ValueError, match="`y` of gcv must have entries of magnitude"):
        hdeq.gcv(X, X[:, 0] * 1e200, 0.1)
    with pytest.raises(ValueError, match="`X` of gcv must have entries of magnitude"):
        hdeq.gcv(X * 1e200, X[:, 0], 0.1)


def test_check_array_rejects_booleans_only_when_asked():
    # audit: n_samples=True was accepted as 1. Data may be boolean (documented), sizes not;
    # a list mixing bools and ints is an integer array for numpy, so it is looked into
    from hdeq.core._validation import check_array
    np.testing.assert_array_equal(check_array([True, False], "X"), [1.0, 0.0])
    for value in (True, np.bool_(True), np.array([True, False]), [True, 2],
                  [[1, 2], [3, False]]):
        with pytest.raises(ValueError, match=r"`n_samples` of Model must be numbers, not "
                                             r"booleans; got .*(True|False)"):
            check_array(value, "n_samples", "Model", allow_bool=False)
    np.testing.assert_array_equal(check_array([1, 2], "n_samples", allow_bool=False), [1, 2])


@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.bool_(False)])
def test_check_bool_accepts_python_and_numpy_bools(value):
    out = hdeq.core.check_bool(value, "flag", "Owner")
    assert type(out) is bool and out == bool(value)


@pytest.mark.parametrize("value", ["no", "False", 0, 1, 1.0, None, np.array([True]), [True]])
def test_check_bool_rejects_other_truthy_objects(value):
    with pytest.raises(ValueError, match=r"^`flag` of Owner must be a bool \(True or False\); "
                                         r"got "):
        hdeq.core.check_bool(value, "flag", "Owner")


def test_public_boolean_flags_reject_strings():
    from hdeq.core import circle_contour, solve_stieltjes, spectral_contour
    fun = lambda m, z, idx: (-m - 1 / m - z, -1 + 1 / m**2)   # noqa: E731
    with pytest.raises(ValueError, match="`retry` of solve_stieltjes must be a bool"):
        solve_stieltjes(fun, np.array([1j]), retry="no")
    with pytest.raises(ValueError, match="`probability` of solve_stieltjes must be a bool"):
        solve_stieltjes(fun, np.array([1j]), probability="no")
    with pytest.raises(ValueError, match="`at_zero` of circle_contour must be a bool"):
        circle_contour(0.0, 1.0, at_zero="no")
    with pytest.raises(ValueError, match="`include_zero` of spectral_contour must be a bool"):
        spectral_contour(0.5, 2.0, include_zero="no")
    assert spectral_contour(0.5, 2.0, include_zero=np.bool_(False)).nodes.size == 300
