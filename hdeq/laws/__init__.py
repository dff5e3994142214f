"""Limiting spectral laws as distribution-like objects, each with a ``sample`` twin."""

from ._semicircle import Semicircle

__all__: list[str] = ["Semicircle"]
