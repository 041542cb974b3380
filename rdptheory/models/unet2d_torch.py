"""diffusers' ``UNet2DModel`` forward pass in plain torch, for loading without diffusers.

``import diffusers`` costs about 4 s of CPU on a 2-core machine (it imports ``torch._dynamo``,
every transformer model and ``scipy.stats``; measured 2026-12-07 with ``python -X importtime``),
more than loading and running the shipped UNet S once. This module rebuilds the network of a
diffusers ``UNet2DModel`` folder (``config.json`` + ``diffusion_pytorch_model.safetensors``)
from ``torch.nn`` layers, with the same parameter names, and runs the **same torch calls in the
same order** as diffusers 0.42's ``UNet2DModel.forward`` (``ResnetBlock2D``, ``Downsample2D``,
``Upsample2D``, ``UNetMidBlock2D`` with ``Attention`` + ``AttnProcessor2_0``, ``Timesteps``,
``TimestepEmbedding``), so its outputs are bitwise those of diffusers' module, thread policy of
:func:`~rdptheory.models._torch_common.fixed_torch_threads` included (tested against diffusers
on the shipped weights and on random networks, 1 and 2 threads, several sizes).

Only the plain configurations are supported (:func:`check_config`): positional time embedding,
no class embedding, ``DownBlock2D``/``UpBlock2D`` blocks (no attention there),
``UNetMidBlock2D`` with or without its attention, ``resnet_time_scale_shift="default"``,
convolution down/upsampling, SiLU; anything else raises ``ValueError`` and needs diffusers
(:class:`~rdptheory.models.diffusers_models.PixelDiffusionModel` with
``implementation="diffusers"``). Inference only (no dropout, no gradient checkpointing).

The module is named ``UNet2DModel`` and exposes ``config`` (the folder's ``config.json``) and
``state_dict()`` with diffusers' keys, so
:func:`~rdptheory.models._torch_common.module_fingerprint` gives the fingerprint of the
diffusers module: files encoded through either load path decode through the other.
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: The weights file of a diffusers model folder.
WEIGHTS_FILE = "diffusion_pytorch_model.safetensors"

#: Config values this module reproduces (key -> allowed values); other keys are free
#: (channels, layers, groups, eps, ...) or checked in :func:`check_config`.
_FIXED: dict[str, tuple[Any, ...]] = {
    "center_input_sample": (False,),
    "time_embedding_type": ("positional",),
    "mid_block_type": ("UNetMidBlock2D",),
    "downsample_type": ("conv",),
    "upsample_type": ("conv",),
    "act_fn": ("silu", "swish"),
    "resnet_time_scale_shift": ("default",),
    "class_embed_type": (None,),
    "num_class_embeds": (None,),
}
#: diffusers' ``UNet2DModel`` defaults for keys a ``config.json`` may leave out.
_DEFAULTS: dict[str, Any] = {
    "in_channels": 3, "out_channels": 3, "center_input_sample": False,
    "time_embedding_type": "positional", "time_embedding_dim": None, "freq_shift": 0,
    "flip_sin_to_cos": True, "mid_block_type": "UNetMidBlock2D", "layers_per_block": 2,
    "mid_block_scale_factor": 1, "downsample_padding": 1, "downsample_type": "conv",
    "upsample_type": "conv", "dropout": 0.0, "act_fn": "silu", "attention_head_dim": 8,
    "norm_num_groups": 32, "attn_norm_num_groups": None, "norm_eps": 1e-5,
    "resnet_time_scale_shift": "default", "add_attention": True, "class_embed_type": None,
    "num_class_embeds": None,
}


class UNetConfig(dict):
    """A ``UNet2DModel`` config: a dict whose keys also read as attributes (like diffusers')."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def check_config(config: Mapping[str, Any]) -> UNetConfig:
    """The config of a ``UNet2DModel`` this module can run, defaults filled in.

    Raises ``ValueError`` naming the first unsupported setting (such a model loads with
    diffusers), ``TypeError`` when ``config`` is not a mapping.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping, got {type(config).__name__}")
    name = config.get("_class_name", "UNet2DModel")
    if name != "UNet2DModel":
        raise ValueError(f"only UNet2DModel folders are supported, got _class_name {name!r}")
    cfg = UNetConfig(_DEFAULTS | dict(config))
    for key, allowed in _FIXED.items():
        if cfg[key] not in allowed:
            raise ValueError(f"unsupported UNet2DModel setting {key}={cfg[key]!r} (supported: "
                             f"{', '.join(map(repr, allowed))}); load this model with diffusers")
    channels = list(cfg.get("block_out_channels", (224, 448, 672, 896)))
    down = list(cfg.get("down_block_types", ()))
    up = list(cfg.get("up_block_types", ()))
    if not channels or len(down) != len(channels) or len(up) != len(channels):
        raise ValueError("block_out_channels, down_block_types and up_block_types must have "
                         f"the same positive length, got {len(channels)}, {len(down)}, {len(up)}")
    if set(down) != {"DownBlock2D"} or set(up) != {"UpBlock2D"}:
        raise ValueError(f"only DownBlock2D/UpBlock2D blocks are supported, got {down} / {up}; "
                         "load this model with diffusers")
    if not isinstance(cfg["downsample_padding"], int) or cfg["downsample_padding"] < 1:
        raise ValueError(f"downsample_padding must be a positive integer here, got "
                         f"{cfg['downsample_padding']!r}; load this model with diffusers")
    if cfg["norm_num_groups"] is None:
        raise ValueError("norm_num_groups=None is not supported; load this model with diffusers")
    cfg["block_out_channels"], cfg["down_block_types"], cfg["up_block_types"] = channels, down, up
    return cfg


class _Output:
    """``UNet2DOutput``: the prediction in ``.sample``."""

    __slots__ = ("sample",)

    def __init__(self, sample: torch.Tensor) -> None:
        self.sample = sample


class _Resnet(nn.Module):
    """``ResnetBlock2D`` (pre-norm, ``time_embedding_norm="default"``, no up/down)."""

    def __init__(self, cin: int, cout: int, temb: int, groups: int, eps: float,
                 scale: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps, affine=True)
        self.conv2 = nn.Conv2d(cout, cout, kernel_size=3, stride=1, padding=1)
        self.conv_shortcut = (nn.Conv2d(cin, cout, kernel_size=1, stride=1, padding=0)
                              if cin != cout else None)
        self.output_scale_factor = scale

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.norm1(x))
        h = self.conv1(h)
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = F.silu(self.norm2(h))
        h = self.conv2(h)
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return (x + h) / self.output_scale_factor


class _Attention(nn.Module):
    """The mid-block ``Attention`` (group norm, residual, biases) with ``AttnProcessor2_0``."""

    def __init__(self, channels: int, heads: int, groups: int, eps: float,
                 scale: float) -> None:
        super().__init__()
        self.heads = heads
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps, affine=True)
        self.to_q = nn.Linear(channels, channels, bias=True)
        self.to_k = nn.Linear(channels, channels, bias=True)
        self.to_v = nn.Linear(channels, channels, bias=True)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels, bias=True)])
        self.rescale_output_factor = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        b, c, height, width = x.shape
        h = x.view(b, c, height * width).transpose(1, 2)
        h = self.group_norm(h.transpose(1, 2)).transpose(1, 2)
        query, key, value = self.to_q(h), self.to_k(h), self.to_v(h)
        head_dim = key.shape[-1] // self.heads
        query, key, value = (t.view(b, -1, self.heads, head_dim).transpose(1, 2)
                             for t in (query, key, value))
        h = F.scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                           is_causal=False)
        h = h.transpose(1, 2).reshape(b, -1, self.heads * head_dim).to(query.dtype)
        h = self.to_out[0](h)
        h = h.transpose(-1, -2).reshape(b, c, height, width)
        return (h + residual) / self.rescale_output_factor


class _Sampler(nn.Module):
    """``Downsample2D`` (stride-2 conv, ``name="op"``) or ``Upsample2D`` (nearest ×2, conv)."""

    def __init__(self, channels: int, up: bool, padding: int = 1) -> None:
        super().__init__()
        self.up = up
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=1 if up else 2,
                              padding=1 if up else padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)


class _TimeEmbedding(nn.Module):
    """``TimestepEmbedding``: linear, SiLU, linear."""

    def __init__(self, cin: int, dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim, True)
        self.linear_2 = nn.Linear(dim, dim, True)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(emb)))


class _DownBlock(nn.Module):
    """``DownBlock2D``: resnets, then the optional downsampler; every output is a skip."""

    def __init__(self, resnets: Sequence[_Resnet], sample: _Sampler | None) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        self.downsamplers = nn.ModuleList([sample] if sample is not None else [])

    def forward(self, h: torch.Tensor, emb: torch.Tensor,
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        skips: tuple[torch.Tensor, ...] = ()
        for resnet in self.resnets:
            h = resnet(h, emb)
            skips += (h,)
        for sampler in self.downsamplers:
            h = sampler(h)
            skips += (h,)
        return h, skips


class _UpBlock(nn.Module):
    """``UpBlock2D``: each resnet takes the last skip concatenated, then the upsampler."""

    def __init__(self, resnets: Sequence[_Resnet], sample: _Sampler | None) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        self.upsamplers = nn.ModuleList([sample] if sample is not None else [])

    def forward(self, h: torch.Tensor, skips: tuple[torch.Tensor, ...], emb: torch.Tensor,
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        for resnet in self.resnets:
            h = resnet(torch.cat([h, skips[-1]], dim=1), emb)
            skips = skips[:-1]
        for sampler in self.upsamplers:
            h = sampler(h)
        return h, skips


class _MidBlock(nn.Module):
    """``UNetMidBlock2D``: resnet, (attention, resnet) per layer (one layer here)."""

    def __init__(self, resnets: Sequence[_Resnet], attentions: Sequence[_Attention]) -> None:
        super().__init__()
        self.attentions = nn.ModuleList(attentions)  # registered first, as in diffusers
        self.resnets = nn.ModuleList(resnets)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.resnets[0](h, emb)
        for i, resnet in enumerate(self.resnets[1:]):
            if len(self.attentions):
                h = self.attentions[i](h)
            h = resnet(h, emb)
        return h


class UNet2DModel(nn.Module):
    """diffusers' ``UNet2DModel`` for a config :func:`check_config` accepts (module docstring).

    ``forward(sample, timestep)`` returns an object whose ``sample`` is the network output,
    as diffusers' does; ``timestep`` is a float tensor ``(B,)`` or ``()`` (fractional
    timesteps, as the adapters pass them).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        cfg = check_config(config)
        self.config = cfg
        ch = cfg.block_out_channels
        temb = cfg.time_embedding_dim or ch[0] * 4
        groups, eps = cfg.norm_num_groups, cfg.norm_eps
        self.conv_in = nn.Conv2d(cfg.in_channels, ch[0], kernel_size=3, padding=(1, 1))
        self.time_embedding = _TimeEmbedding(ch[0], temb)
        self.down_blocks = nn.ModuleList()
        self.up_blocks = nn.ModuleList()  # registered before the mid block, as in diffusers
        cout = ch[0]
        for i, c in enumerate(ch):
            cin, cout = cout, c
            res = [_Resnet(cin if j == 0 else cout, cout, temb, groups, eps, 1.0)
                   for j in range(cfg.layers_per_block)]
            down = _Sampler(cout, up=False, padding=cfg.downsample_padding) \
                if i < len(ch) - 1 else None
            self.down_blocks.append(_DownBlock(res, down))
        mid, head = ch[-1], cfg.attention_head_dim or ch[-1]
        scale = cfg.mid_block_scale_factor
        attn_groups = cfg.attn_norm_num_groups or groups
        self.mid_block = _MidBlock(
            [_Resnet(mid, mid, temb, groups, eps, scale) for _ in range(2)],
            [_Attention(mid, mid // head, attn_groups, eps, scale)] if cfg.add_attention else [])
        rev = list(reversed(ch))
        cout = rev[0]
        n = cfg.layers_per_block + 1
        for i in range(len(ch)):
            prev, cout, cin = cout, rev[i], rev[min(i + 1, len(ch) - 1)]
            res = [_Resnet((prev if j == 0 else cout) + (cin if j == n - 1 else cout), cout,
                           temb, groups, eps, 1.0) for j in range(n)]
            up = _Sampler(cout, up=True) if i < len(ch) - 1 else None
            self.up_blocks.append(_UpBlock(res, up))
        self.conv_norm_out = nn.GroupNorm(num_channels=ch[0], num_groups=groups, eps=eps)
        self.conv_out = nn.Conv2d(ch[0], cfg.out_channels, kernel_size=3, padding=1)

    def _time_embedding(self, timesteps: torch.Tensor) -> torch.Tensor:
        """``Timesteps`` (``get_timestep_embedding``) then ``TimestepEmbedding``."""
        cfg = self.config
        dim = cfg.block_out_channels[0]
        half = dim // 2
        exponent = -math.log(10000) * torch.arange(start=0, end=half, dtype=torch.float32,
                                                   device=timesteps.device)
        exponent = exponent / (half - cfg.freq_shift)
        emb = torch.exp(exponent)
        emb = timesteps[:, None].float() * emb[None, :]  # diffusers' scale = 1: exact, omitted
        emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
        if cfg.flip_sin_to_cos:
            emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
        if dim % 2 == 1:
            emb = F.pad(emb, (0, 1, 0, 0))
        return self.time_embedding(emb.to(dtype=self.conv_in.weight.dtype))

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor | float) -> _Output:
        """The network output for ``sample`` (B, C, H, W) at ``timestep``."""
        t = timestep
        if not torch.is_tensor(t):
            t = torch.tensor([t], dtype=torch.long, device=sample.device)
        elif t.dim() == 0:
            t = t[None].to(sample.device)
        t = t * torch.ones(sample.shape[0], dtype=t.dtype, device=t.device)
        emb = self._time_embedding(t)
        h = self.conv_in(sample)
        skips: tuple[torch.Tensor, ...] = (h,)
        for down in self.down_blocks:
            h, out = down(h, emb)
            skips += out
        h = self.mid_block(h, emb)
        for up in self.up_blocks:
            h, skips = up(h, skips, emb)
        h = F.silu(self.conv_norm_out(h))
        return _Output(self.conv_out(h))


def load_unet2d(directory: str | pathlib.Path) -> UNet2DModel:
    """The ``UNet2DModel`` of a diffusers folder (``config.json`` and the safetensors weights),
    in eval mode, built without random initialisation (the parameters are created on the
    ``meta`` device and the file's tensors assigned to them).

    Raises ``FileNotFoundError`` when a file is missing, ``ValueError`` for a config this
    module does not support (:func:`check_config`) or weights that do not match it.
    """
    from safetensors.torch import load_file

    d = pathlib.Path(directory)
    config_path, weights_path = d / "config.json", d / WEIGHTS_FILE
    for p in (config_path, weights_path):
        if not p.is_file():
            raise FileNotFoundError(f"{d} has no {p.name}")
    config = json.loads(config_path.read_text())
    with torch.device("meta"):
        model = UNet2DModel(config)
    state = load_file(str(weights_path), device="cpu")
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise ValueError(f"{weights_path} does not match its config.json: {exc}") from None
    return model.eval()
