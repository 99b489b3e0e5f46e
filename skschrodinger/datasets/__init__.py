"""Problems with exact ground truth, 2-D toy pairs, and loaders for real data."""

from ._eot_benchmark import EOTBenchmark, GaussianMixtureLaw, make_eot_benchmark
from ._gaussian import GaussianBridge, make_gaussian_bridge
from ._single_cell import load_msci
from ._toy import TOY_SHAPES, make_toy_pair, sample_toy

__all__ = [
    "EOTBenchmark",
    "GaussianBridge",
    "GaussianMixtureLaw",
    "TOY_SHAPES",
    "load_msci",
    "make_eot_benchmark",
    "make_gaussian_bridge",
    "make_toy_pair",
    "sample_toy",
]
