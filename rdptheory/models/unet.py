"""The shipped pixel-space denoiser: a small diffusers ``UNet2DModel`` with EDM preconditioning.

Architecture ("UNet S" of ``shared/notes/image-prior-measurements.md``): ``block_out_channels =
(32, 64, 64)``, one ResNet layer per block, no attention, 1.06 M parameters; fully
convolutional (any image size that is a multiple of 4, the two downsamplings).

The network ``F_θ`` is wrapped in the EDM preconditioning of [KAAL22] (Karras, Aittala, Aila,
Laine, "Elucidating the design space of diffusion-based generative models", NeurIPS 2022,
Table 1), written in the codec's VE model space (pixels in ``[-1, 1]``, ``y = x + σ n``):

.. math::

    D_θ(y; σ) = c_{\\mathrm{skip}}(σ)\\, y + c_{\\mathrm{out}}(σ)\\,
        F_θ\\big(c_{\\mathrm{in}}(σ)\\, y;\\ c_{\\mathrm{noise}}(σ)\\big),

    c_{\\mathrm{skip}} = \\frac{σ_d^2}{σ^2 + σ_d^2}, \\quad
    c_{\\mathrm{out}} = \\frac{σ σ_d}{\\sqrt{σ^2 + σ_d^2}}, \\quad
    c_{\\mathrm{in}} = \\frac{1}{\\sqrt{σ^2 + σ_d^2}},

with ``σ_d = 0.5``. [KAAL22] use ``c_noise = ln(σ)/4``; diffusers' positional time embedding
expects timesteps on the DDPM scale, so here (our choice, as in the measured "UNet S")

.. math::

    c_{\\mathrm{noise}}(σ) =
        1000\\,\\frac{\\ln σ - \\ln σ_{\\min}}{\\ln σ_{\\max} - \\ln σ_{\\min}},

the training range ``[σ_min, σ_max] = [0.01, 10]`` mapped linearly in ``ln σ`` onto
``[0, 1000]`` (real-valued; σ outside the range extrapolates the embedding).
``D_θ(y; σ)`` estimates ``E[X | X + σN = y]``.
"""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import asdict, dataclass
from typing import Any

#: Architecture of the shipped model (diffusers ``UNet2DModel`` keyword arguments).
UNET_S_CONFIG: dict[str, Any] = {
    "sample_size": 64,
    "in_channels": 3,
    "out_channels": 3,
    "layers_per_block": 1,
    "block_out_channels": (32, 64, 64),
    "down_block_types": ("DownBlock2D", "DownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "UpBlock2D", "UpBlock2D"),
    "norm_num_groups": 32,
}

#: File next to the diffusers weights that describes the preconditioning.
PRECONDITIONING_FILE = "rdptheory_preconditioning.json"


@dataclass(frozen=True)
class EDMPreconditioning:
    """EDM preconditioning constants [KAAL22] (see the module docstring).

    sigma_data : data standard deviation σ_d (model-space units), > 0.
    sigma_min, sigma_max : the σ range mapped onto timesteps [0, 1000] (training range).
    """

    sigma_data: float = 0.5
    sigma_min: float = 0.01
    sigma_max: float = 10.0

    def __post_init__(self) -> None:
        for name in ("sigma_data", "sigma_min", "sigma_max"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {v!r}")
        if self.sigma_min >= self.sigma_max:
            raise ValueError(f"sigma_min must be < sigma_max, got {self.sigma_min} >= "
                             f"{self.sigma_max}")

    def to_json(self) -> dict[str, Any]:
        """The JSON record written next to the weights (``PRECONDITIONING_FILE``)."""
        return {"parameterization": "edm", "prediction": "x0", "space": "ve-pixels[-1,1]",
                "c_noise": "1000*(ln(sigma)-ln(sigma_min))/(ln(sigma_max)-ln(sigma_min))",
                **asdict(self)}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> EDMPreconditioning:
        """Inverse of :meth:`to_json`; raises ``ValueError`` for another parameterisation."""
        if not isinstance(record, dict) or record.get("parameterization") != "edm":
            raise ValueError(f"not an EDM preconditioning record: {record!r}")
        return cls(float(record["sigma_data"]), float(record["sigma_min"]),
                   float(record["sigma_max"]))


def save_preconditioning(directory: str | pathlib.Path, pre: EDMPreconditioning) -> None:
    """Write ``pre`` as ``directory/PRECONDITIONING_FILE``."""
    path = pathlib.Path(directory) / PRECONDITIONING_FILE
    path.write_text(json.dumps(pre.to_json(), indent=2, sort_keys=True) + "\n")


def load_preconditioning(directory: str | pathlib.Path) -> EDMPreconditioning | None:
    """The preconditioning stored in ``directory``, or ``None`` when there is no such file."""
    path = pathlib.Path(directory) / PRECONDITIONING_FILE
    if not path.is_file():
        return None
    return EDMPreconditioning.from_json(json.loads(path.read_text()))


def build_unet(config: dict[str, Any] | None = None) -> Any:
    """A freshly initialised ``UNet2DModel`` (default :data:`UNET_S_CONFIG`; seed torch first)."""
    from diffusers import UNet2DModel

    cfg = dict(UNET_S_CONFIG if config is None else config)
    return UNet2DModel(**cfg)


def _torch_module() -> Any:
    import torch

    class EDMDenoiser(torch.nn.Module):
        """``D_θ(y; σ)`` of the module docstring around a ``UNet2DModel``."""

        def __init__(self, unet: Any, pre: EDMPreconditioning | None = None) -> None:
            super().__init__()
            self.unet = unet
            self.pre = EDMPreconditioning() if pre is None else pre

        def coefficients(self, sigma: Any) -> tuple[Any, Any, Any, Any]:
            """``(c_skip, c_out, c_in, c_noise)`` for a ``(B,)`` tensor of σ."""
            sd = self.pre.sigma_data
            s2 = sigma * sigma + sd * sd
            c_skip = sd * sd / s2
            c_out = sigma * sd / torch.sqrt(s2)
            c_in = 1.0 / torch.sqrt(s2)
            lo, hi = math.log(self.pre.sigma_min), math.log(self.pre.sigma_max)
            c_noise = 1000.0 * (torch.log(sigma) - lo) / (hi - lo)
            return c_skip, c_out, c_in, c_noise

        def forward(self, y: Any, sigma: Any) -> Any:
            """Estimate of ``E[X | X + σN = y]``; ``y`` (B, C, H, W), ``sigma`` (B,) > 0."""
            if y.ndim != 4:
                raise ValueError(f"y must have shape (B, C, H, W), got {tuple(y.shape)}")
            sigma = torch.as_tensor(sigma, dtype=y.dtype, device=y.device).reshape(-1)
            sigma = sigma.expand(y.shape[0]) if sigma.numel() == 1 else sigma
            if sigma.shape[0] != y.shape[0]:
                raise ValueError(f"sigma must be a scalar or have shape ({y.shape[0]},)")
            c_skip, c_out, c_in, c_noise = self.coefficients(sigma)
            b = (-1, 1, 1, 1)
            f = self.unet(y * c_in.reshape(b), c_noise).sample
            return c_skip.reshape(b) * y + c_out.reshape(b) * f

    return EDMDenoiser


def edm_denoiser(unet: Any, pre: EDMPreconditioning | None = None) -> Any:
    """A ``torch.nn.Module`` computing ``D_θ(y; σ)`` (module docstring) around ``unet``."""
    return _torch_module()(unet, pre)


def edm_loss_weight(sigma: Any, sigma_data: float) -> Any:
    """EDM loss weight ``λ(σ) = (σ² + σ_d²)/(σ σ_d)²`` on ``‖D_θ(y; σ) − x‖²`` [KAAL22].

    It makes the loss ``‖F_θ − F_target‖²`` with unit weight at every σ (``λ c_out² = 1``).
    """
    return (sigma * sigma + sigma_data * sigma_data) / (sigma * sigma_data) ** 2


# ------------------------------------------------------------------ shaped (block-DCT) noise


def image_to_blocks(x: Any, basis: Any, patch: int) -> Any:
    """Block-DCT coefficients ``(B, d, H/p, W/p)`` of a torch image batch ``(B, C, H, W)``.

    Patch flattening (channel, row, column) and ``basis`` columns as in
    :func:`rdptheory.models.shaped_noise.block_dct_basis`; H and W must be multiples of p.
    """
    b, c, hh, ww = x.shape
    if hh % patch or ww % patch:
        raise ValueError(f"image sides must be multiples of {patch}, got {hh}x{ww}")
    h, w = hh // patch, ww // patch
    t = x.reshape(b, c, h, patch, w, patch).permute(0, 2, 4, 1, 3, 5).reshape(b, h, w, -1)
    return (t @ basis).permute(0, 3, 1, 2)


def blocks_to_image(z: Any, basis: Any, patch: int, channels: int) -> Any:
    """The inverse of :func:`image_to_blocks` (the basis is orthonormal)."""
    b, _, h, w = z.shape
    t = (z.permute(0, 2, 3, 1) @ basis.T).reshape(b, h, w, channels, patch, patch)
    return t.permute(0, 3, 1, 4, 2, 5).reshape(b, channels, h * patch, w * patch)


def shaped_coefficients(snr: Any, sigma_data: float) -> tuple[Any, Any, Any]:
    """Per-coefficient EDM factors ``(a, c_skip^w, c_out)`` for shaped noise (our derivation).

    With the scaled observation ``w_i = √snr_i x_i + ε_i`` (finite where ``snr_i = 0``) and
    ``y_i = w_i/√snr_i``, [KAAL22]'s factors at per-coefficient ``σ_i² = 1/snr_i`` become

    .. math::

        c_{in} y_i = a_i w_i,\\ a_i = \\frac{1}{\\sqrt{1 + snr_i σ_d^2}},\\qquad
        c_{skip} y_i = \\frac{σ_d^2 \\sqrt{snr_i}}{1 + snr_i σ_d^2} w_i,\\qquad
        c_{out,i} = \\frac{σ_d}{\\sqrt{1 + snr_i σ_d^2}},

    all finite at ``snr_i = 0`` (input pure noise, skip 0, output scale σ_d) and equal to the
    isotropic EDM factors when every ``snr_i = 1/σ²``.
    """
    import torch

    sd2 = sigma_data * sigma_data
    den = 1.0 + snr * sd2
    a = torch.rsqrt(den)
    return a, sd2 * torch.sqrt(snr) / den, sigma_data * a


def wiener_coefficients(snr: Any, variances: Any) -> tuple[Any, Any]:
    r"""Factors ``(a, c_out)`` of the "wiener" skip (our design): per coefficient

    .. math::

        \hat x_i = \mu_i + \frac{\lambda_i\sqrt{snr_i}}{1 + \lambda_i snr_i}
            (w_i - \sqrt{snr_i}\mu_i) + c_{out,i}\,F_i,\qquad
        a_i = \frac{1}{\sqrt{1 + \lambda_i snr_i}},\qquad
        c_{out,i} = \sqrt{\frac{\lambda_i}{1 + \lambda_i snr_i}},

    the skip being the linear MMSE of independent ``N(μ_i, λ_i)`` coefficients (the table),
    the network input ``a_i (w_i − √snr_i μ_i)`` of unit variance under that model and
    ``c_out`` its posterior std (so ``F = 0`` is exactly the Wiener filter).
    """
    import torch

    den = 1.0 + variances * snr
    return torch.rsqrt(den), torch.sqrt(variances / den)


def _shaped_module() -> Any:
    import torch

    class ShapedEDMDenoiser(torch.nn.Module):
        """``E[X^B | w]`` under per-block-DCT-coefficient noise around a ``UNet2DModel``.

        ``forward(w, snr, sigma)``: ``w`` the scaled observation in block-coefficient layout
        ``(B, d, H/p, W/p)``, ``snr`` ``(B, d)`` >= 0, ``sigma`` ``(B,)`` the conditioning
        scalar (:func:`rdptheory.models.shaped_noise.equivalent_sigma`). Returns the estimate
        of ``x^B`` in the same layout:

        .. math::

            \\hat x^B = c_{skip}^w \\odot w + c_{out} \\odot
                \\mathrm{DCT}\\big(F_θ(\\mathrm{DCT}^{-1}(a \\odot w);\\ c_{noise}(σ))\\big)

        (skip "edm": :func:`shaped_coefficients`, ``c_noise`` of the module docstring; with
        isotropic noise it is :class:`EDMDenoiser` on ``y = w/√snr``, tested). Skip "wiener":
        the table's linear MMSE plus ``c_out ⊙ DCT(F(DCT⁻¹(a ⊙ (w − √snr μ))))`` with the
        factors of :func:`wiener_coefficients`.
        """

        def __init__(self, unet: Any, basis: Any, patch: int, channels: int,
                     pre: EDMPreconditioning | None = None, skip: str = "edm",
                     means: Any = None, variances: Any = None) -> None:
            super().__init__()
            self.unet = unet
            self.pre = EDMPreconditioning() if pre is None else pre
            self.patch, self.channels = int(patch), int(channels)
            if skip not in ("edm", "wiener"):
                raise ValueError(f"skip must be 'edm' or 'wiener', got {skip!r}")
            if skip == "wiener" and (means is None or variances is None):
                raise ValueError("the wiener skip needs the table's means and variances")
            self.skip = skip
            self.register_buffer("basis", torch.as_tensor(basis, dtype=torch.float32))
            if skip == "wiener":
                self.register_buffer("means", torch.as_tensor(means, dtype=torch.float32))
                self.register_buffer("variances",
                                     torch.as_tensor(variances, dtype=torch.float32))

        def forward(self, w: Any, snr: Any, sigma: Any) -> Any:
            """The estimate of ``x^B`` (class docstring)."""
            if w.ndim != 4 or snr.shape != w.shape[:2] or sigma.shape != w.shape[:1]:
                raise ValueError(f"w must be (B, d, h, w), snr (B, d) and sigma (B,), got "
                                 f"{tuple(w.shape)}, {tuple(snr.shape)}, {tuple(sigma.shape)}")
            lo, hi = math.log(self.pre.sigma_min), math.log(self.pre.sigma_max)
            c_noise = 1000.0 * (torch.log(sigma) - lo) / (hi - lo)
            if self.skip == "wiener":
                a, out = (c[:, :, None, None] for c in wiener_coefficients(
                    snr, self.variances))
                resid = w - torch.sqrt(snr)[:, :, None, None] * self.means[:, None, None]
                lin = self.means[:, None, None] + (
                    self.variances[:, None, None] * torch.sqrt(snr)[:, :, None, None] * a * a
                    * resid)
                z = blocks_to_image(a * resid, self.basis, self.patch, self.channels)
                f = self.unet(z, c_noise).sample
                return lin + out * image_to_blocks(f, self.basis, self.patch)
            a, skip, out = (c[:, :, None, None] for c in shaped_coefficients(
                snr, self.pre.sigma_data))
            z = blocks_to_image(a * w, self.basis, self.patch, self.channels)
            f = self.unet(z, c_noise).sample
            return skip * w + out * image_to_blocks(f, self.basis, self.patch)

    return ShapedEDMDenoiser


def shaped_denoiser(unet: Any, basis: Any, patch: int = 8, channels: int = 3,
                    pre: EDMPreconditioning | None = None, skip: str = "edm",
                    means: Any = None, variances: Any = None) -> Any:
    """A ``torch.nn.Module`` ``ShapedEDMDenoiser``: skip "edm" (:func:`shaped_coefficients`)
    or "wiener" (:func:`wiener_coefficients`, with the table's ``means`` and ``variances``)."""
    return _shaped_module()(unet, basis, patch, channels, pre, skip, means, variances)


def shaped_loss_weight(snr: Any, sigma_data: float) -> Any:
    """Per-coefficient EDM weight ``1/c_out² = (1 + snr σ_d²)/σ_d²`` on ``(x̂_i^B − x_i^B)²``.

    The isotropic :func:`edm_loss_weight` when ``snr = 1/σ²``: the loss is ``‖F_θ − F_target‖²``
    with unit weight on every coefficient.
    """
    return (1.0 + snr * sigma_data * sigma_data) / (sigma_data * sigma_data)
