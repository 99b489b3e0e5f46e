"""Metrics for comparing transported samples with ground truth, and scorers."""

from ._bures import bures_wasserstein, bw_uvp, conditional_bw_uvp
from ._energy import energy_distance, half_energy_distance
from ._scorer import BridgeScorer, ObjectiveScorer, make_bridge_scorer
from ._wasserstein import wasserstein2_distance, wasserstein2_gaussian_mixture_1d

__all__ = [
    "BridgeScorer",
    "ObjectiveScorer",
    "bures_wasserstein",
    "bw_uvp",
    "conditional_bw_uvp",
    "energy_distance",
    "half_energy_distance",
    "make_bridge_scorer",
    "wasserstein2_distance",
    "wasserstein2_gaussian_mixture_1d",
]
