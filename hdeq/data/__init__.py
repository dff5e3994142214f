"""Data generators and bundled real data."""

from ._real import digits, mnist
from ._synthetic import gaussian, gaussian_mixture, power_law_spectrum, power_law_target

__all__ = ["digits", "gaussian", "gaussian_mixture", "mnist", "power_law_spectrum",
           "power_law_target"]
