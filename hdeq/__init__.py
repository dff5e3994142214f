"""hdeq: high-dimensional equivalents for machine-learning models.

Random matrix theory predictions (limiting spectra, deterministic and linear
equivalents, training and test errors) each beside a Monte-Carlo simulation of the
same finite system. Follows Liao & Mahoney, *Random Matrix Theory for Deep Learning:
Beyond Eigenvalues of Linear Models* (2025).

``import hdeq`` loads neither matplotlib nor dask nor torch.
"""

from .core import ConvergenceError, ConvergenceWarning
from .laws import *  # noqa: F401,F403
from .laws import __all__ as _laws_all
from .equivalents import *  # noqa: F401,F403
from .equivalents import __all__ as _equivalents_all
from .models import *  # noqa: F401,F403
from .models import __all__ as _models_all
from . import data  # noqa: F401

__version__ = "0.1.0"
__all__ = ["ConvergenceError", "ConvergenceWarning", *_laws_all, *_equivalents_all, *_models_all, "data"]
