r"""The shaped-noise UNet in the image codec (issue 15 item 3): the shaped-chain adapter.

The network and its chain model live in :mod:`rdptheory.models.shaped_unet`
(:class:`~rdptheory.models.shaped_unet.ShapedNet`, :class:`~rdptheory.models.shaped_unet.
ShapedNetChainModel`, re-exported here); the models layer does not import the codec, so this
module registers the codec's shaped chain for the network
(:func:`rdptheory.images.noise.register_shaped`): :func:`shaped_net_chain`, a
:class:`~rdptheory.images.noise.PatchDCTChain` over the image edge-padded to whole tiles, the
network over its state and the ladder on the shipped table λ.
:func:`rdptheory.images.noise.shaped_chain_for` imports this module when it meets a
:class:`ShapedNet`, so ``compress(image, model=load_model("unet-shaped"),
config=CodecConfig(noise="shaped"))`` needs nothing else.
"""

from __future__ import annotations

from typing import Any

from rdptheory._validation import check_int
from rdptheory.images.noise import PatchDCTChain, register_shaped
from rdptheory.models.shaped_unet import ShapedNet, ShapedNetChainModel, shipped_shaped_dir

__all__ = ["ShapedNet", "ShapedNetChainModel", "shaped_net_chain", "shipped_shaped_dir"]


def shaped_net_chain(net: ShapedNet, recipe: Any, height: int, width: int) -> PatchDCTChain:
    """The codec's shaped chain of a ``height × width`` image under ``recipe`` for ``net``
    (:class:`~rdptheory.images.noise.PatchDCTChain`: the image edge-padded to whole tiles,
    the network over its state, the ladder on the shipped table λ)."""
    if not isinstance(net, ShapedNet):
        raise TypeError(f"net must be a ShapedNet, got {type(net).__name__}")
    p = net.patch
    cm = net.for_image(-(-check_int(height, "height", low=1) // p) * p,
                       -(-check_int(width, "width", low=1) // p) * p)
    return PatchDCTChain(cm, cm, net.family.variances, recipe, height, width,
                         patch=p, channels=net.channels)


register_shaped(ShapedNet, shaped_net_chain)
