"""Learning problems with train/test risk predictions, each with a ``simulate`` twin."""

from ._classification_dynamics import GaussianMixtureGradientFlow
from ._dynamics import GradientDescent, GradientFlow
from ._random_projection import RandomProjectionRegression
from ._scaling import PowerLawRidge, ScalingExponent, fit_power_law, scaling_exponent
from ._gcv import gcv, loo
from ._learning_curve import learning_curve
from ._mei_montanari import MeiMontanari
from ._ridge import RidgeRegression
from ._random_features import RandomFeaturesRidge

__all__: list[str] = []
__all__ += ["RidgeRegression", "gcv", "learning_curve", "loo"]
__all__ += ["MeiMontanari"]
__all__ += ["RandomFeaturesRidge"]
__all__ += ["GradientFlow", "GradientDescent"]
__all__ += ["GaussianMixtureGradientFlow"]
__all__ += ["PowerLawRidge", "RandomProjectionRegression", "ScalingExponent",
            "fit_power_law", "scaling_exponent"]
