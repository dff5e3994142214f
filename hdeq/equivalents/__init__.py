"""Deterministic equivalents of resolvents, activations, linear equivalents of nonlinear
random matrices."""

__all__: list[str] = []
