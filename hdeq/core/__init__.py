"""Numerics with no ML meaning: solvers, Stieltjes utilities, validation, error types."""

from ._errors import ConvergenceError, ConvergenceWarning
from ._validation import (as_generator, check_array, check_data, check_on_failure,
                          check_population, check_scalar)

__all__ = [
    "ConvergenceError", "ConvergenceWarning",
    "as_generator", "check_array", "check_data", "check_on_failure",
    "check_population", "check_scalar",
]
