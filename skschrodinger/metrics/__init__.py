"""Metrics for comparing transported samples with ground truth."""

from ._energy import energy_distance, half_energy_distance

__all__ = ["energy_distance", "half_energy_distance"]
