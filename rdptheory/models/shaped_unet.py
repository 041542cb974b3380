r"""The shaped-noise UNet (issue 15 item 3): the trained network as an image model and as the
chain model of the shaped chain.

The shaped chain (:mod:`rdptheory.images.shaped_chain`) codes an image's 8×8×3 block-DCT
coefficients ``y^B = x^B + n``, ``n_i ~ N(0, t_i²)``, state ``(N, d)`` (N patches in
row-major tile order). :class:`ShapedNet` is the network trained for that noise
(``python -m rdptheory.models.train --noise shaped``; weights in
``rdptheory/models/weights_shaped``, card ``MODEL_CARD.md`` there); :meth:`ShapedNet.for_image`
gives the chain model of one image size, :class:`ShapedNetChainModel` (a
:class:`rdptheory.codec.progressive.ChainModel`, with the methods of the GMM's
:class:`~rdptheory.images.shaped_chain.ShapedChainModel`):

- ``denoise(y, t2)``: the network's ``E[X^B | y]`` from the scaled observation
  ``w = y/√t²`` (:class:`rdptheory.models.unet` ``ShapedEDMDenoiser``, conditioned on the
  equivalent isotropic σ of :func:`rdptheory.models.shaped_noise.equivalent_sigma`);
- ``posterior_var(y, t2)``: 0 on sent coefficients (DiffC's plug-in step) and, on a
  coefficient still at the dead level (``t² > T_DEAD2/2``, its next step is its first
  message), the Gaussian posterior variance ``λ_i t_i²/(λ_i + t_i²)`` of the shipped table
  (our choice: the network gives no variance; the GMM model uses its exact one there);
- ``prior_var``: ``E[(x_i^B)²] = λ_i + μ_i²`` of the table;
- ``dim`` and ``posterior_scaled(w, snr)`` (mean, ``None``), so that
  :func:`~rdptheory.images.shaped_chain.decode_ode` decodes with it unchanged.

:class:`ShapedNet` is also an :class:`~rdptheory.models.ImageModel` (pixel code space,
isotropic ``denoise`` = the same network at isotropic noise, i.e. the EDM denoiser of
:mod:`rdptheory.models.unet`); ``load_model("unet-shaped")`` loads the shipped one. The
image codec codes shaped noise with it through the adapter that
:mod:`rdptheory.images.shaped_net` registers
(:func:`rdptheory.images.noise.register_shaped`: this layer does not import the codec), so
``compress(image, model=load_model("unet-shaped"), config=CodecConfig(noise="shaped"))``
runs it through the one image codec.

Determinism as for the isotropic network (``rdptheory/models/weights/MODEL_CARD.md``): every
call runs in float32 on the CPU with deterministic algorithms, its 3×3 convolutions on
:func:`~rdptheory.models._torch_common.model_threads` threads and every other op on one
(:func:`rdptheory.models._torch_common.fixed_torch_threads`: bitwise the same output for any
thread count on one machine); σ_eq is deterministic numpy.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import numpy.typing as npt

from rdptheory._validation import check_int, check_nonnegative, check_positive
from rdptheory.models._torch_common import (
    fixed_torch_threads,
    local_dir,
    module_fingerprint,
    pad_to_multiple,
)
from rdptheory.models.protocol import PixelSpaceModel, network_input
from rdptheory.models.shaped_noise import (
    T_DEAD2,
    ShapedFamily,
    block_dct_basis,
    equivalent_sigma,
)

__all__ = ["ShapedNet", "ShapedNetChainModel", "shipped_shaped_dir"]


def shipped_shaped_dir() -> pathlib.Path:
    """The folder of the shipped shaped-noise weights (``rdptheory/models/weights_shaped``)."""
    import rdptheory.models

    return pathlib.Path(rdptheory.models.__file__).resolve().parent / "weights_shaped"


class ShapedNet(PixelSpaceModel):
    """A shaped-noise network folder: diffusers ``UNet2DModel`` weights, the EDM
    preconditioning record and the :class:`~rdptheory.models.shaped_noise.ShapedFamily`
    (``rdptheory_shaping.json``: table λ, μ and recipe).

    Parameters
    ----------
    directory : a local folder written by ``rdptheory.models.train --noise shaped``
        (``model/``); default the shipped one (:func:`shipped_shaped_dir`). Needs torch and
        diffusers.
    """

    def __init__(self, directory: str | pathlib.Path | None = None) -> None:
        from diffusers import UNet2DModel

        from rdptheory.models.unet import load_preconditioning, shaped_denoiser

        d = local_dir(shipped_shaped_dir() if directory is None else directory)
        pre = load_preconditioning(d)
        if pre is None:
            raise ValueError(f"{d} has no EDM preconditioning record: not a shaped-noise model")
        self.family = ShapedFamily.load(d)
        self.preconditioning = pre
        self.unet = UNet2DModel.from_pretrained(d, local_files_only=True,
                                                low_cpu_mem_usage=False).eval()
        factor = 2 ** (len(self.unet.config.block_out_channels) - 1)
        if self.family.patch % factor or int(self.unet.config.in_channels) != self.channels:
            raise ValueError(f"{d}: the UNet (downsampling {factor}, {self.unet.config.in_channels}"
                             f" channels) does not fit {self.channels}x{self.patch}x{self.patch}"
                             " blocks")
        fam = self.family
        self.module = shaped_denoiser(self.unet, block_dct_basis(self.patch, self.channels),
                                      self.patch, self.channels, pre, fam.skip, fam.means,
                                      fam.variances).eval()
        self.name = f"shaped-unet:{d.name}"
        extra = json.dumps({"pre": pre.to_json(), "family": self.family.to_json()},
                           sort_keys=True).encode()
        self._fp = module_fingerprint(self.unet, extra=extra)

    @property
    def patch(self) -> int:
        """Block side p (8)."""
        return self.family.patch

    @property
    def channels(self) -> int:
        """Colour channels (3)."""
        return self.family.channels

    @property
    def dim(self) -> int:
        """Coefficients per block, d = C·p²."""
        return self.family.dim

    @property
    def variances(self) -> np.ndarray:
        """The per-coefficient variance table λ (d,) the ladders are built from."""
        return self.family.variances.copy()

    def fingerprint(self) -> bytes:
        """SHA-256 over the UNet's config and weights, the preconditioning and the table."""
        return self._fp

    def sigma_eq(self, snr: npt.ArrayLike) -> float:
        """The conditioning σ_eq of one SNR vector (clipped to the training range)."""
        return float(equivalent_sigma(snr, self.family.variances,
                                      low=self.preconditioning.sigma_min,
                                      high=self.preconditioning.sigma_max))

    def denoise_blocks(self, w: npt.ArrayLike, snr: npt.ArrayLike) -> np.ndarray:
        """``E[X^B | w]`` for the scaled observation ``w`` (n, d, h, w) at SNRs ``snr`` (d,).

        ``w = √snr ⊙ x^B + ε`` in the block layout of
        :func:`rdptheory.models.unet.image_to_blocks`; returns float64 of ``w``'s shape.
        """
        import torch

        arr = np.asarray(w, dtype=np.float64)
        s = check_nonnegative(snr, "snr")
        if arr.ndim != 4 or arr.shape[1] != self.dim or s.shape != (self.dim,):
            raise ValueError(f"w must be (n, {self.dim}, h, w) and snr ({self.dim},), got "
                             f"{arr.shape}, {s.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("w must be finite")
        sig = self.sigma_eq(s)
        n = arr.shape[0]
        with fixed_torch_threads():
            out = self.module(torch.from_numpy(arr).float(),
                              torch.from_numpy(s).float().expand(n, -1).contiguous(),
                              torch.full((n,), sig, dtype=torch.float32))
        return out.double().numpy()

    def for_image(self, height: int, width: int) -> ShapedNetChainModel:
        """The chain model of a ``height × width`` image (multiples of the patch)."""
        return ShapedNetChainModel(self, height, width)

    # -------------------------------------------------------------- ImageModel (isotropic)

    def denoise(self, y: Any, noise_var: Any) -> Any:
        """The network at isotropic noise ``t²`` (every ``snr_i = 1/t²``; ``y`` (B, C, H, W),
        any size: reflect-padded to whole tiles and cropped back). For the "edm" skip this
        is the EDM denoiser of :mod:`rdptheory.models.unet` (float32 rounding apart)."""
        import torch

        from rdptheory.models.unet import blocks_to_image, image_to_blocks

        arr, t2, back = network_input(y, noise_var, "the shaped UNet")
        padded = pad_to_multiple(arr, self.patch)
        basis = self.module.basis.double()
        xb = image_to_blocks(torch.from_numpy(np.ascontiguousarray(padded)), basis,
                             self.patch).numpy()
        out = np.concatenate([self.denoise_blocks(xb[i:i + 1] / np.sqrt(t2[i]),
                                                  np.full(self.dim, 1.0 / t2[i]))
                              for i in range(arr.shape[0])])
        img = blocks_to_image(torch.from_numpy(out), basis, self.patch, self.channels).numpy()
        return back(img[:, :, :arr.shape[2], :arr.shape[3]])


class ShapedNetChainModel:
    """:class:`ShapedNet` over one image's patch state ``(N, d)`` (module docstring).

    Parameters
    ----------
    net : ShapedNet
    height, width : the image size (multiples of ``net.patch``)
    t_dead2 : the shaped chain's dead level (:data:`rdptheory.images.shaped_chain.T_DEAD2`)
    """

    def __init__(self, net: ShapedNet, height: int, width: int, t_dead2: float = T_DEAD2) -> None:
        if not isinstance(net, ShapedNet):
            raise TypeError(f"net must be a ShapedNet, got {type(net).__name__}")
        h = check_int(height, "height", low=1)
        w = check_int(width, "width", low=1)
        if h % net.patch or w % net.patch:
            raise ValueError(f"height and width must be multiples of {net.patch}, got {h}x{w}")
        self.net = net
        self.blocks = (h // net.patch, w // net.patch)
        self.t_dead2 = float(check_positive(t_dead2, "t_dead2"))
        fam = net.family
        self._second = fam.variances + fam.means**2

    @property
    def dim(self) -> int:
        """Coefficients per patch d."""
        return self.net.dim

    @property
    def n_patches(self) -> int:
        """N = (H/p)(W/p)."""
        return self.blocks[0] * self.blocks[1]

    @property
    def prior_var(self) -> np.ndarray:
        """E[(x_i^B)²] = λ_i + μ_i² per coefficient (d,)."""
        return self._second

    def _rows(self, y: npt.ArrayLike, name: str) -> np.ndarray:
        a = np.asarray(y, dtype=np.float64)
        if a.shape != (self.n_patches, self.dim) or not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite with shape ({self.n_patches}, {self.dim}),"
                             f" got {a.shape}")
        return a

    def _levels(self, t2: npt.ArrayLike) -> np.ndarray:
        lv = check_positive(t2, "t2")
        if lv.ndim > 1 or lv.size not in (1, self.dim):
            raise ValueError(f"t2 must be a scalar or ({self.dim},), got shape {lv.shape}")
        return np.broadcast_to(lv, (self.dim,)).astype(np.float64)

    def posterior_scaled(self, w: npt.ArrayLike, snr: npt.ArrayLike) -> tuple[np.ndarray, None]:
        """``(E[X^B | w], None)`` from the scaled observation ``w = √snr ⊙ x^B + ε`` (N, d).

        The signature of :meth:`rdptheory.images.shaped.ShapedGMM.posterior_scaled` (which
        also returns responsibilities), so :func:`~rdptheory.images.shaped_chain.decode_ode`
        runs on this model.
        """
        rows = self._rows(w, "w")
        nh, nw = self.blocks
        blocks = rows.reshape(nh, nw, self.dim).transpose(2, 0, 1)[None]
        est = self.net.denoise_blocks(blocks, snr)[0]
        return est.transpose(1, 2, 0).reshape(self.n_patches, self.dim), None

    def denoise(self, y: np.ndarray, t2: npt.ArrayLike) -> np.ndarray:
        """The network's E[X^B | y] at per-coefficient noise variances ``t2``."""
        lv = self._levels(t2)
        return self.posterior_scaled(self._rows(y, "y") / np.sqrt(lv), 1.0 / lv)[0]

    def posterior_var(self, y: np.ndarray, t2: npt.ArrayLike) -> np.ndarray:
        """Gaussian ``λ_i t_i²/(λ_i + t_i²)`` on dead coefficients, 0 elsewhere (d,)."""
        lv = self._levels(t2)
        lam = self.net.family.variances
        return np.where(lv > 0.5 * self.t_dead2, lam * lv / (lam + lv), 0.0)

    def __repr__(self) -> str:
        return f"ShapedNetChainModel({self.net.name}, blocks={self.blocks})"
