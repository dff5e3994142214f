"""Limiting spectral laws as distribution-like objects, each with a ``sample`` twin."""

__all__: list[str] = []
