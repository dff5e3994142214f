"""Limiting spectral laws as distribution-like objects, each with a ``sample`` twin."""

from ._base import SpectralLaw
from ._conjugate_kernel import ConjugateKernelLaw
from ._free import (FreeAdditiveConvolution, FreeMultiplicativeConvolution,
                    free_additive_convolution, free_multiplicative_convolution)
from ._marchenko_pastur import MarchenkoPastur
from ._sample_covariance import SampleCovarianceLaw
from ._semicircle import Semicircle

__all__: list[str] = ["SpectralLaw", "MarchenkoPastur", "SampleCovarianceLaw",
                       "Semicircle", "free_additive_convolution",
                       "free_multiplicative_convolution", "FreeAdditiveConvolution",
                       "FreeMultiplicativeConvolution"]
__all__ += ["ConjugateKernelLaw"]
