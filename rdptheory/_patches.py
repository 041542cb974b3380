"""Image <-> non-overlapping patch tiling with reflect padding at the borders.

An image of shape ``(C, H, W)`` is reflect-padded on the bottom/right to multiples of the
patch size ``p`` and cut into ``(H'/p)·(W'/p)`` patches of ``C·p·p`` values each, flattened
in ``(C, p, p)`` order. Padding makes the tiling exact for any size; :func:`patches_to_image`
crops the padding away again, so ``patches_to_image(image_to_patches(x)) == x`` exactly.

>>> import numpy as np
>>> x = np.arange(2 * 5 * 7, dtype=float).reshape(1, 2, 5, 7)
>>> grid = PatchGrid(channels=2, height=5, width=7, patch=4)
>>> grid.rows, grid.cols, grid.patch_dim
(2, 2, 32)
>>> bool(np.array_equal(patches_to_image(image_to_patches(x, grid), grid), x))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rdptheory._validation import check_int


@dataclass(frozen=True)
class PatchGrid:
    """The tiling of a ``(channels, height, width)`` image into ``patch × patch`` tiles."""

    channels: int
    height: int
    width: int
    patch: int

    def __post_init__(self) -> None:
        check_int(self.channels, "channels", low=1)
        check_int(self.height, "height", low=1)
        check_int(self.width, "width", low=1)
        check_int(self.patch, "patch", low=1)

    @property
    def rows(self) -> int:
        """Number of patch rows, ``ceil(height / patch)``."""
        return -(-self.height // self.patch)

    @property
    def cols(self) -> int:
        """Number of patch columns, ``ceil(width / patch)``."""
        return -(-self.width // self.patch)

    @property
    def n_patches(self) -> int:
        """Patches per image."""
        return self.rows * self.cols

    @property
    def patch_dim(self) -> int:
        """Values per patch, ``channels · patch²``."""
        return self.channels * self.patch * self.patch


def _reflect_pad(x: np.ndarray, pad_h: int, pad_w: int) -> np.ndarray:
    """Pad the last two axes at the end; 'reflect' needs size > pad, so fall back to 'edge'."""
    if pad_h == 0 and pad_w == 0:
        return x
    width = [(0, 0)] * (x.ndim - 2) + [(0, pad_h), (0, pad_w)]
    if x.shape[-2] > pad_h and x.shape[-1] > pad_w:
        return np.pad(x, width, mode="reflect")
    return np.pad(x, width, mode="edge")


def image_to_patches(images: np.ndarray, grid: PatchGrid) -> np.ndarray:
    """Cut ``(B, C, H, W)`` images into ``(B, n_patches, C·p·p)`` patches (row-major tiles).

    Parameters
    ----------
    images : array, shape (batch, channels, height, width)
    grid : PatchGrid matching the image shape.

    Returns
    -------
    array, shape (batch, grid.n_patches, grid.patch_dim)
    """
    b, c, h, w = images.shape
    if (c, h, w) != (grid.channels, grid.height, grid.width):
        raise ValueError(f"images must have shape (B, {grid.channels}, {grid.height}, "
                         f"{grid.width}), got {images.shape}")
    p = grid.patch
    x = _reflect_pad(images, grid.rows * p - h, grid.cols * p - w)
    x = x.reshape(b, c, grid.rows, p, grid.cols, p).transpose(0, 2, 4, 1, 3, 5)
    return x.reshape(b, grid.n_patches, grid.patch_dim)


def patches_to_image(patches: np.ndarray, grid: PatchGrid) -> np.ndarray:
    """Inverse of :func:`image_to_patches`: tile ``(B, n_patches, C·p·p)`` and crop the padding."""
    b = patches.shape[0]
    if patches.shape[1:] != (grid.n_patches, grid.patch_dim):
        raise ValueError(f"patches must have shape (B, {grid.n_patches}, {grid.patch_dim}), "
                         f"got {patches.shape}")
    p, c = grid.patch, grid.channels
    x = patches.reshape(b, grid.rows, grid.cols, c, p, p).transpose(0, 3, 1, 4, 2, 5)
    x = x.reshape(b, c, grid.rows * p, grid.cols * p)
    return x[:, :, : grid.height, : grid.width]


def random_patches(image: np.ndarray, patch: int, n: int, seed: int) -> np.ndarray:
    """``n`` overlapping patches at uniform random positions of one ``(C, H, W)`` image.

    Returns an array of shape ``(n, C·patch²)`` in the same flattening order as the tiling.
    """
    c, h, w = image.shape
    if h < patch or w < patch:
        raise ValueError(f"image ({h}x{w}) is smaller than the patch size {patch}")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, h - patch + 1, size=n)
    cols = rng.integers(0, w - patch + 1, size=n)
    offs = np.arange(patch)
    idx_r = (rows[:, None] + offs[None, :])[:, None, :, None]
    idx_c = (cols[:, None] + offs[None, :])[:, None, None, :]
    out = image[np.arange(c)[None, :, None, None], idx_r, idx_c]
    return out.reshape(n, c * patch * patch)
