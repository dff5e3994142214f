"""The ``hdeq`` command line. Each command lives in its own module."""

from ._app import app
from . import _reproduce  # noqa: F401  (registers `hdeq reproduce`)
from . import _spectrum  # noqa: F401  (registers `hdeq spectrum`)
from . import _predict  # noqa: F401  (registers `hdeq predict`)

__all__ = ["app"]
