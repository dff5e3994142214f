"""Deterministic equivalents of resolvents, activations, linear equivalents of nonlinear
random matrices."""

from ._ridge_equivalent import (EffectiveRidgeResult, RidgeRisk, effective_ridge,
                               negative_ridge_bound, ridge_risk, ridgeless_threshold,
                               solve_effective_ridge, spectral_sums)
from ._resolvent import ResolventEquivalent, resolvent_equivalent
from ._kernels import KernelEquivalent, KernelSample, kernel_equivalent
from ._activations import (ACTIVATION_NAMES, QUADRATURE_RTOL, Activation, GaussianEquivalent,
                           activation)

__all__: list[str] = []
__all__ += ["EffectiveRidgeResult", "RidgeRisk", "effective_ridge", "negative_ridge_bound",
            "ridge_risk", "ridgeless_threshold", "solve_effective_ridge", "spectral_sums"]
__all__ += ["ResolventEquivalent", "resolvent_equivalent"]
__all__ += ["ACTIVATION_NAMES", "QUADRATURE_RTOL", "Activation", "GaussianEquivalent",
            "activation"]
__all__ += ["KernelEquivalent", "KernelSample", "kernel_equivalent"]
