"""The ``hdeq`` command line. Each command lives in its own module."""

from ._app import app
from . import _reproduce  # noqa: F401  (registers `hdeq reproduce`)

__all__ = ["app"]
