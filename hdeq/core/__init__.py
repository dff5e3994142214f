"""Numerics with no ML meaning: solvers, Stieltjes utilities, validation, error types."""

from ._contour import Contour, circle_contour, log_contour, spectral_contour
from ._errors import ConvergenceError, ConvergenceWarning
from ._solver import (CONVERGED, MAX_ITER, NOT_FINITE, WRONG_BRANCH, SolveResult,
                      resolve_failures, solve_stieltjes)
from ._stieltjes import (adaptive_pieces, in_support, integrate_on_support, merge_intervals,
                         polynomial_density, rounding_zero_rtol, sample_covariance_edges,
                         support_quadrature)
from ._validation import (as_generator, check_array, check_bool, check_covariance, check_data,
                          check_on_failure, check_population, check_scalar)

__all__ = [
    "Contour", "circle_contour", "log_contour", "spectral_contour",
    "ConvergenceError", "ConvergenceWarning",
    "SolveResult", "solve_stieltjes", "resolve_failures",
    "CONVERGED", "MAX_ITER", "NOT_FINITE", "WRONG_BRANCH",
    "support_quadrature", "adaptive_pieces", "integrate_on_support", "sample_covariance_edges",
    "polynomial_density", "merge_intervals", "in_support", "rounding_zero_rtol",
    "as_generator", "check_array", "check_bool", "check_covariance", "check_data",
    "check_on_failure", "check_population", "check_scalar",
]
