"""Transport estimators sharing the bridge API of :class:`BaseBridge`."""

from ._base import BaseBridge, BridgeLink
from ._lightsb import LightSBTransport
from ._lightsb_model import LightSBPotential

__all__ = ["BaseBridge", "BridgeLink", "LightSBPotential", "LightSBTransport"]
