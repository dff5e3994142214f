"""Numerics with no ML meaning: solvers, Stieltjes utilities, validation, error types."""

from ._contour import Contour, circle_contour, log_contour, spectral_contour
from ._errors import ConvergenceError, ConvergenceWarning
from ._validation import (as_generator, check_array, check_data, check_on_failure,
                          check_population, check_scalar)

__all__ = [
    "Contour", "circle_contour", "log_contour", "spectral_contour",
    "ConvergenceError", "ConvergenceWarning",
    "as_generator", "check_array", "check_data", "check_on_failure",
    "check_population", "check_scalar",
]
