"""Problems with exact ground truth (bridges, EOT pairs, gradient flows, a lineage), 2-D toys,
real data."""

from ._eot_benchmark import EOTBenchmark, make_eot_benchmark
from ._gaussian import make_gaussian_bridge
from ._gradient_flow import GradientFlow, iterated_bridge_gaussian, make_gradient_flow
from ._lineage import Lineage, make_lineage
from ._single_cell import load_msci
from ._toy import TOY_SHAPES, make_toy_pair, sample_toy

__all__ = [
    "EOTBenchmark",
    "GradientFlow",
    "iterated_bridge_gaussian",
    "Lineage",
    "TOY_SHAPES",
    "load_msci",
    "make_eot_benchmark",
    "make_gaussian_bridge",
    "make_gradient_flow",
    "make_lineage",
    "make_toy_pair",
    "sample_toy",
]
