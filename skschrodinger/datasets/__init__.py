"""Problems with exact ground truth, and loaders for real data."""

from ._gaussian import GaussianBridge, make_gaussian_bridge
from ._single_cell import load_msci

__all__ = ["GaussianBridge", "load_msci", "make_gaussian_bridge"]
