r"""The paper's perceptual metrics from local weights: LPIPS, DISTS, FID and KID.

No weights are ever downloaded: every network is defined here in torch and loads the
*published* state dicts by their key names from paths the user gives (arguments, the CLI's
``--lpips-weights`` / ``--dists-weights`` / ``--inception-weights``, or the environment
variables ``RDPTHEORY_LPIPS_WEIGHTS``, ``RDPTHEORY_DISTS_WEIGHTS``,
``RDPTHEORY_INCEPTION_WEIGHTS``). Well-kept packages were checked first (2026-12-06, torch
2.13.0+cpu): ``pip install --dry-run`` of torchmetrics, pytorch-fid and clean-fid would replace
torch by 2.14.1 (CUDA build), and lpips/piq need torchvision, whose only release matching
torch 2.13 (0.28.0) is a CUDA build and would add a second heavy dependency for two layer
stacks; so the definitions below are our own transcriptions of the published architectures.

Published files (take them from their projects; checksums are the files' own names):

- LPIPS [ZIESW18] v0.1 linear heads ``alex.pth`` / ``vgg.pth`` (richzhang/PerceptualSimilarity,
  ``lpips/weights/v0.1``; keys ``lin{k}.model.1.weight``) plus the torchvision ImageNet
  backbones ``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth`` (keys
  ``features.{i}.weight|bias``; ``classifier.*`` ignored), all four in one folder;
- DISTS [DMWS20]: ``weights.pt`` of DISTS_pytorch (keys ``alpha``, ``beta``, shape
  (1, 1475, 1, 1)) plus ``vgg16-397923af.pth`` in one folder;
- FID/KID: pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (the TF FID Inception v3
  [SVISW16, HRUNH17] ported, keys ``Conv2d_1a_3x3.conv.weight`` … ``Mixed_7c.*``; ``fc.*``
  ignored).

Images are ``(B, 3, H, W)`` float tensors or arrays in ``[-1, 1]`` (the codec's model space)
or uint8 ``(H, W, 3)`` arrays (:func:`as_batch`).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rdptheory.metrics import bures_w2sq

ENV_LPIPS = "RDPTHEORY_LPIPS_WEIGHTS"
ENV_DISTS = "RDPTHEORY_DISTS_WEIGHTS"
ENV_INCEPTION = "RDPTHEORY_INCEPTION_WEIGHTS"

ALEX_CHANNELS = (64, 192, 384, 256, 256)
VGG_CHANNELS = (64, 128, 256, 512, 512)
_VGG_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
            "M")


# ---- inputs and weight paths -------------------------------------------------------------
def as_batch(images: Any) -> Any:
    """A float32 torch batch (B, 3, H, W) in ``[-1, 1]`` from uint8 (H, W, 3) arrays, a list of
    them, or a float (B, 3, H, W) array/tensor already in ``[-1, 1]``."""
    import torch

    if isinstance(images, torch.Tensor):
        x = images.float()
    elif isinstance(images, (list, tuple)):
        return torch.cat([as_batch(im) for im in images])
    else:
        a = np.asarray(images)
        if a.dtype == np.uint8:
            if a.ndim == 3:
                a = a[None]
            if a.ndim != 4 or a.shape[3] != 3:
                raise ValueError(f"uint8 images must be (H, W, 3) or (B, H, W, 3), got {a.shape}")
            a = a.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
        x = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("images must be finite")
    return x


def weight_path(given: str | os.PathLike[str] | None, env: str) -> pathlib.Path | None:
    """``given``, else the environment variable ``env``, as an existing path; None if neither."""
    value = given if given is not None else os.environ.get(env) or None
    if value is None:
        return None
    p = pathlib.Path(value)
    if not p.exists():
        raise FileNotFoundError(f"weights path {str(p)!r} (from {'argument' if given else env})"
                                " does not exist; rdptheory never downloads weights")
    return p


def _find(folder: pathlib.Path, patterns: Sequence[str], what: str) -> pathlib.Path:
    for pat in patterns:
        hits = sorted(folder.glob(pat))
        if hits:
            return hits[0]
    raise FileNotFoundError(f"{folder} has no {what} (looked for {', '.join(patterns)})")


def _load_state(path: pathlib.Path) -> dict[str, Any]:
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict")
    return state


def _load_into(module: Any, state: dict[str, Any], path: pathlib.Path,
               ignore: tuple[str, ...] = ()) -> None:
    """Load ``state`` (minus keys starting with ``ignore``) strictly: every key must match."""
    state = {k: v for k, v in state.items() if not k.startswith(ignore)}
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(ignore)]  # loaded from another file
    if missing or unexpected:
        raise ValueError(f"{path}: keys do not match the network (missing {list(missing)[:4]}, "
                         f"unexpected {list(unexpected)[:4]})")


# ---- backbones (torchvision key layout ``features.{i}``) ---------------------------------
def _alexnet_features() -> Any:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))


def _vgg16_features() -> Any:
    from torch import nn

    layers: list[Any] = []
    c = 3
    for v in _VGG_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU()]
            c = int(v)
    return nn.Sequential(*layers)


#: Indices (in ``features``) of the ReLU outputs LPIPS taps: AlexNet relu1..5, VGG relu_x_y.
_TAPS = {"alex": (1, 4, 7, 9, 11), "vgg": (3, 8, 15, 22, 29)}


def _build_lpips(net: str) -> Any:
    import torch
    from torch import nn

    class LPIPSNet(nn.Module):
        r"""LPIPS v0.1 [ZIESW18]:

        .. math:: d(x, y) = \sum_l \frac{1}{H_l W_l} \sum_{h,w}
                  \big\| w_l \odot (\hat f^l_{hw}(x) - \hat f^l_{hw}(y)) \big\|_2^2,

        :math:`\hat f^l` the channel-normalised activations of tap ``l``
        (``f / (‖f‖₂ + 1e-10)``), :math:`w_l ≥ 0` the learned 1×1 linear head.
        """

        def __init__(self) -> None:
            super().__init__()
            self.net_name = net
            self.features = _alexnet_features() if net == "alex" else _vgg16_features()
            chans = ALEX_CHANNELS if net == "alex" else VGG_CHANNELS
            for k, c in enumerate(chans):
                head = nn.ModuleDict({"model": nn.Sequential(nn.Dropout(),
                                                             nn.Conv2d(c, 1, 1, bias=False))})
                setattr(self, f"lin{k}", head)  # keys lin{k}.model.1.weight (lpips v0.1)
            self.register_buffer("shift", torch.tensor([-.030, -.088, -.188])[None, :, None,
                                                                               None])
            self.register_buffer("scale", torch.tensor([.458, .448, .450])[None, :, None, None])

        def taps(self, x: Any) -> list[Any]:
            h, out = (x - self.shift) / self.scale, []
            for i, layer in enumerate(self.features):
                h = layer(h)
                if i in _TAPS[self.net_name]:
                    out.append(h)
                    if len(out) == 5:
                        break
            return out

        def forward(self, x: Any, y: Any) -> Any:
            total = 0.0
            for k, (fx, fy) in enumerate(zip(self.taps(x), self.taps(y))):
                nx = fx / (fx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                ny = fy / (fy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                lin = getattr(self, f"lin{k}")["model"][1]
                total = total + lin((nx - ny) ** 2).mean(dim=(2, 3))[:, 0]
            return total

    return LPIPSNet()


def load_lpips(folder: str | os.PathLike[str] | None = None, *, net: str = "alex") -> Any:
    """LPIPS network ``net`` ∈ {"alex", "vgg"} from a folder (module docstring), eval mode.

    ``folder`` defaults to ``$RDPTHEORY_LPIPS_WEIGHTS``; ``FileNotFoundError`` if neither.
    """
    if net not in ("alex", "vgg"):
        raise ValueError(f"net must be 'alex' or 'vgg', got {net!r}")
    d = weight_path(folder, ENV_LPIPS)
    if d is None or not d.is_dir():
        raise FileNotFoundError(f"give the LPIPS weights folder (--lpips-weights or ${ENV_LPIPS})"
                                ": LPIPS v0.1 alex.pth/vgg.pth and the torchvision backbones")
    m = _build_lpips(net)
    back = _find(d, ["alexnet*.pth"] if net == "alex" else ["vgg16*.pth"], f"{net} backbone")
    _load_into(m.features, {k[len("features."):]: v for k, v in _load_state(back).items()
                            if k.startswith("features.")}, back)
    head = _find(d, [f"{net}.pth"], f"LPIPS {net} linear heads")
    _load_into(m, _load_state(head), head, ignore=("features.", "shift", "scale"))
    m._loaded_from = (back, head)
    return m.eval()


def _pair_distance(model: Any, x: Any, y: Any) -> np.ndarray:
    """``model(a, b)`` per image pair without gradients, as float64 numpy (B,)."""
    import torch

    a, b = as_batch(x), as_batch(y)
    if a.shape != b.shape:
        raise ValueError(f"image batches differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    with torch.no_grad():
        return model(a, b).double().numpy()


def lpips(model: Any, x: Any, y: Any) -> np.ndarray:
    """LPIPS distance per image pair (float64 array (B,)); images as in :func:`as_batch`."""
    return _pair_distance(model, x, y)


# ---- DISTS ---------------------------------------------------------------------------------
DISTS_CHANNELS = (3, 64, 128, 256, 512, 512)


def _build_dists() -> Any:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class L2Pool(nn.Module):
        """Hanning-window L2 pooling, stride 2 (DISTS' replacement of max pooling)."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            a = torch.from_numpy(np.hanning(5)[1:-1]).float()
            g = a[:, None] * a[None, :]
            self.register_buffer("filter", (g / g.sum())[None, None].repeat(channels, 1, 1, 1))
            self.channels = channels

        def forward(self, x: Any) -> Any:
            out = F.conv2d(x**2, self.get_buffer("filter"), stride=2, padding=1,
                           groups=self.channels)
            return (out + 1e-12).sqrt()

    class DISTSNet(nn.Module):
        r"""DISTS [DMWS20]: with feature maps :math:`f^{(k)}_j` of stage ``k`` (the image is
        stage 0), channel means μ, variances σ² and covariance σ_xy over space,

        .. math:: D(x, y) = 1 - \sum_{k,j} \Big(α_{kj}\frac{2μ^x_{kj}μ^y_{kj} + c_1}
                  {(μ^x_{kj})^2 + (μ^y_{kj})^2 + c_1} + β_{kj}\frac{2σ^{xy}_{kj} + c_2}
                  {(σ^x_{kj})^2 + (σ^y_{kj})^2 + c_2}\Big),

        ``α, β`` normalised to sum to one together, ``c₁ = c₂ = 10⁻⁶``.
        """

        def __init__(self) -> None:
            super().__init__()
            self.features = _vgg16_features()
            for i, c in zip((4, 9, 16, 23), (64, 128, 256, 512)):
                self.features[i] = L2Pool(c)  # the max-pools become L2 pools
            n = sum(DISTS_CHANNELS)
            self.alpha = nn.Parameter(torch.full((1, n, 1, 1), 0.1))
            self.beta = nn.Parameter(torch.full((1, n, 1, 1), 0.1))
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406])[None, :, None,
                                                                             None])
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225])[None, :, None, None])

        def stages(self, x: Any) -> list[Any]:
            h = ((x + 1) / 2 - self.mean) / self.std
            out = [(x + 1) / 2]
            for i, layer in enumerate(self.features):
                if i > 29:
                    break
                h = layer(h)
                if i in (3, 8, 15, 22, 29):
                    out.append(h)
            return out

        def forward(self, x: Any, y: Any) -> Any:
            w = self.alpha.sum() + self.beta.sum()
            alpha = torch.split(self.alpha / w, list(DISTS_CHANNELS), dim=1)
            beta = torch.split(self.beta / w, list(DISTS_CHANNELS), dim=1)
            d1: Any = 0.0
            d2: Any = 0.0
            for k, (fx, fy) in enumerate(zip(self.stages(x), self.stages(y))):
                mx, my = fx.mean([2, 3], keepdim=True), fy.mean([2, 3], keepdim=True)
                s1 = (2 * mx * my + 1e-6) / (mx**2 + my**2 + 1e-6)
                vx = ((fx - mx) ** 2).mean([2, 3], keepdim=True)
                vy = ((fy - my) ** 2).mean([2, 3], keepdim=True)
                cxy = (fx * fy).mean([2, 3], keepdim=True) - mx * my
                s2 = (2 * cxy + 1e-6) / (vx + vy + 1e-6)
                d1 = d1 + (alpha[k] * s1).sum(1)
                d2 = d2 + (beta[k] * s2).sum(1)
            return 1 - (d1 + d2).reshape(-1)

    return DISTSNet()


def load_dists(folder: str | os.PathLike[str] | None = None) -> Any:
    """DISTS from a folder with ``weights.pt`` (α, β) and ``vgg16-*.pth`` (module docstring)."""
    d = weight_path(folder, ENV_DISTS)
    if d is None or not d.is_dir():
        raise FileNotFoundError(f"give the DISTS weights folder (--dists-weights or ${ENV_DISTS})"
                                ": DISTS_pytorch weights.pt and vgg16-397923af.pth")
    m = _build_dists()
    back = _find(d, ["vgg16*.pth"], "vgg16 backbone")
    vgg = {k[len("features."):]: v for k, v in _load_state(back).items()
           if k.startswith("features.") and int(k.split(".")[1]) < 30}
    vgg.update({f"{i}.filter": m.features[i].filter for i in (4, 9, 16, 23)})
    _load_into(m.features, vgg, back)
    ab = _find(d, ["weights.pt"], "DISTS alpha/beta (weights.pt)")
    _load_into(m, _load_state(ab), ab, ignore=("features.", "mean", "std"))
    return m.eval()


def dists(model: Any, x: Any, y: Any) -> np.ndarray:
    """DISTS distance per image pair (float64 array (B,)); images as in :func:`as_batch`."""
    return _pair_distance(model, x, y)


# ---- FID Inception v3 ---------------------------------------------------------------------
def _build_inception() -> Any:  # noqa: C901 - one architecture, transcribed block by block
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Conv(nn.Module):
        def __init__(self, cin: int, cout: int, **kw: Any) -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
            self.bn = nn.BatchNorm2d(cout, eps=0.001)

        def forward(self, x: Any) -> Any:
            return F.relu(self.bn(self.conv(x)))

    def avg(x: Any) -> Any:  # the FID graph's pooling excludes the padding
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)

    class A(nn.Module):
        def __init__(self, cin: int, pool: int) -> None:
            super().__init__()
            self.branch1x1 = Conv(cin, 64, kernel_size=1)
            self.branch5x5_1 = Conv(cin, 48, kernel_size=1)
            self.branch5x5_2 = Conv(48, 64, kernel_size=5, padding=2)
            self.branch3x3dbl_1 = Conv(cin, 64, kernel_size=1)
            self.branch3x3dbl_2 = Conv(64, 96, kernel_size=3, padding=1)
            self.branch3x3dbl_3 = Conv(96, 96, kernel_size=3, padding=1)
            self.branch_pool = Conv(cin, pool, kernel_size=1)

        def forward(self, x: Any) -> Any:
            return torch.cat([
                self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(avg(x))], 1)

    class B(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.branch3x3 = Conv(cin, 384, kernel_size=3, stride=2)
            self.branch3x3dbl_1 = Conv(cin, 64, kernel_size=1)
            self.branch3x3dbl_2 = Conv(64, 96, kernel_size=3, padding=1)
            self.branch3x3dbl_3 = Conv(96, 96, kernel_size=3, stride=2)

        def forward(self, x: Any) -> Any:
            return torch.cat([
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, 3, 2)], 1)

    class C(nn.Module):
        def __init__(self, cin: int, c7: int) -> None:
            super().__init__()
            self.branch1x1 = Conv(cin, 192, kernel_size=1)
            self.branch7x7_1 = Conv(cin, c7, kernel_size=1)
            self.branch7x7_2 = Conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
            self.branch7x7_3 = Conv(c7, 192, kernel_size=(7, 1), padding=(3, 0))
            self.branch7x7dbl_1 = Conv(cin, c7, kernel_size=1)
            self.branch7x7dbl_2 = Conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
            self.branch7x7dbl_3 = Conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
            self.branch7x7dbl_4 = Conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
            self.branch7x7dbl_5 = Conv(c7, 192, kernel_size=(1, 7), padding=(0, 3))
            self.branch_pool = Conv(cin, 192, kernel_size=1)

        def forward(self, x: Any) -> Any:
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for k in range(1, 6):
                d = getattr(self, f"branch7x7dbl_{k}")(d)
            return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(avg(x))], 1)

    class D(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.branch3x3_1 = Conv(cin, 192, kernel_size=1)
            self.branch3x3_2 = Conv(192, 320, kernel_size=3, stride=2)
            self.branch7x7x3_1 = Conv(cin, 192, kernel_size=1)
            self.branch7x7x3_2 = Conv(192, 192, kernel_size=(1, 7), padding=(0, 3))
            self.branch7x7x3_3 = Conv(192, 192, kernel_size=(7, 1), padding=(3, 0))
            self.branch7x7x3_4 = Conv(192, 192, kernel_size=3, stride=2)

        def forward(self, x: Any) -> Any:
            d = x
            for k in range(1, 5):
                d = getattr(self, f"branch7x7x3_{k}")(d)
            return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), d,
                              F.max_pool2d(x, 3, 2)], 1)

    class E(nn.Module):
        def __init__(self, cin: int, max_pool: bool) -> None:
            super().__init__()
            self.max_pool = max_pool  # FID's Mixed_7c pools with max (a TF graph quirk)
            self.branch1x1 = Conv(cin, 320, kernel_size=1)
            self.branch3x3_1 = Conv(cin, 384, kernel_size=1)
            self.branch3x3_2a = Conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
            self.branch3x3_2b = Conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
            self.branch3x3dbl_1 = Conv(cin, 448, kernel_size=1)
            self.branch3x3dbl_2 = Conv(448, 384, kernel_size=3, padding=1)
            self.branch3x3dbl_3a = Conv(384, 384, kernel_size=(1, 3), padding=(0, 1))
            self.branch3x3dbl_3b = Conv(384, 384, kernel_size=(3, 1), padding=(1, 0))
            self.branch_pool = Conv(cin, 192, kernel_size=1)

        def forward(self, x: Any) -> Any:
            b3 = self.branch3x3_1(x)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            p = F.max_pool2d(x, 3, 1, 1) if self.max_pool else avg(x)
            return torch.cat([
                self.branch1x1(x),
                torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1),
                torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1),
                self.branch_pool(p)], 1)

    class FIDInception(nn.Module):
        """pytorch-fid's FID Inception v3: 299×299 bilinear resize, pool3 features (2048)."""

        def __init__(self) -> None:
            super().__init__()
            self.Conv2d_1a_3x3 = Conv(3, 32, kernel_size=3, stride=2)
            self.Conv2d_2a_3x3 = Conv(32, 32, kernel_size=3)
            self.Conv2d_2b_3x3 = Conv(32, 64, kernel_size=3, padding=1)
            self.Conv2d_3b_1x1 = Conv(64, 80, kernel_size=1)
            self.Conv2d_4a_3x3 = Conv(80, 192, kernel_size=3)
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = A(192, 32), A(256, 64), A(288, 64)
            self.Mixed_6a = B(288)
            self.Mixed_6b, self.Mixed_6c = C(768, 128), C(768, 160)
            self.Mixed_6d, self.Mixed_6e = C(768, 160), C(768, 192)
            self.Mixed_7a = D(768)
            self.Mixed_7b, self.Mixed_7c = E(1280, False), E(2048, True)

        def forward(self, x: Any) -> Any:
            h = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            h = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(h)))
            h = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(h, 3, 2)))
            h = F.max_pool2d(h, 3, 2)
            for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
                h = getattr(self, f"Mixed_{name}")(h)
            return F.adaptive_avg_pool2d(h, 1).flatten(1)

    return FIDInception()


def load_inception(path: str | os.PathLike[str] | None = None) -> Any:
    """The FID Inception v3 from pytorch-fid's ``pt_inception-2015-12-05-*.pth`` (or
    ``$RDPTHEORY_INCEPTION_WEIGHTS``); a folder is searched for ``pt_inception*.pth``."""
    p = weight_path(path, ENV_INCEPTION)
    if p is None:
        raise FileNotFoundError(f"give the FID Inception weights (--inception-weights or "
                                f"${ENV_INCEPTION}): pytorch-fid pt_inception-2015-12-05-*.pth")
    if p.is_dir():
        p = _find(p, ["pt_inception*.pth"], "FID Inception weights")
    m = _build_inception()
    _load_into(m, _load_state(p), p, ignore=("fc.", "AuxLogits."))
    return m.eval()


def inception_features(model: Any, images: Any, *, batch: int = 32) -> np.ndarray:
    """Pool3 features (N, 2048) float64 of images in ``[-1, 1]`` (the FID graph's input range)."""
    import torch

    x = as_batch(images)
    if int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)]
                         ).double().numpy()


def _features(f: npt.ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(f, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(f"{name} must be (n, d) features with n >= 2, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite")
    return a


def fid_from_features(f1: npt.ArrayLike, f2: npt.ArrayLike) -> float:
    r"""Fréchet Inception distance [HRUNH17] of two feature sets (n, d):

    .. math:: \mathrm{FID} = \|μ_1 - μ_2\|^2 + \mathrm{tr}\big(Σ_1 + Σ_2
              - 2 (Σ_2^{1/2} Σ_1 Σ_2^{1/2})^{1/2}\big) = W_2^2(N(μ_1, Σ_1), N(μ_2, Σ_2)),

    the Bures W₂² (:func:`rdptheory.metrics.bures_w2sq`) of the Gaussian fits (unbiased
    covariances, as pytorch-fid).
    """
    a, b = _features(f1, "f1"), _features(f2, "f2")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    return bures_w2sq(a.mean(0), np.atleast_2d(np.cov(a, rowvar=False)), b.mean(0),
                      np.atleast_2d(np.cov(b, rowvar=False)))


def kid_from_features(f1: npt.ArrayLike, f2: npt.ArrayLike, *, subsets: int | None = None,
                      subset_size: int = 1000, seed: int = 0) -> float:
    r"""Kernel Inception distance [BSAG18]: the unbiased MMD² with the cubic kernel
    :math:`k(x, y) = (x^\top y / d + 1)^3`,

    .. math:: \widehat{\mathrm{MMD}}^2_u = \frac{1}{m(m-1)}\sum_{i \ne j} k(x_i, x_j)
              + \frac{1}{n(n-1)}\sum_{i \ne j} k(y_i, y_j) - \frac{2}{mn}\sum_{i,j} k(x_i, y_j).

    ``subsets=None``: on the full sets; else the mean over ``subsets`` random subsets of
    ``min(subset_size, m, n)`` rows from each set (the usual KID protocol; seeded).
    """
    a, b = _features(f1, "f1"), _features(f2, "f2")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    if subsets is None:
        return _mmd2_unbiased(a, b)
    if int(subsets) < 1 or int(subset_size) < 2:
        raise ValueError("subsets must be >= 1 and subset_size >= 2")
    rng = np.random.default_rng(seed)
    k = min(int(subset_size), len(a), len(b))
    return float(np.mean([_mmd2_unbiased(a[rng.choice(len(a), k, replace=False)],
                                         b[rng.choice(len(b), k, replace=False)])
                          for _ in range(int(subsets))]))


def _mmd2_unbiased(a: np.ndarray, b: np.ndarray) -> float:
    d = a.shape[1]
    kxx, kyy, kxy = ((a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3)
    m, n = len(a), len(b)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())
