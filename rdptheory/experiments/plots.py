"""Plots of image-codec evaluations in the report's paper style (:mod:`.style`).

Each function draws one figure from already computed numbers (the caller writes them to CSV or
JSON first) and returns the PNG path (a PDF is written next to it by the report figures).
Units: MSE and patch distances are per dimension on the [0, 1] pixel scale; rates are bits
per pixel of the whole file (header, side information and indices).
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rdptheory.experiments import style as _style

#: Legend/axis text for the per-dimension patch Fréchet distance.
FRECHET_LABEL = "patch Fréchet distance / dim"


@dataclass(frozen=True)
class SweepSet:
    """One panel of the decoder-only ρ sweep: its label and its :class:`RhoPoint` records."""

    label: str
    points: tuple


def _rho_color(rho: float, rhos: Sequence[float]) -> str:
    return _style.COLORS[sorted(set(rhos)).index(rho) % len(_style.COLORS)]


def _by_rho(result) -> dict[float, list]:
    groups: dict[float, list] = {}
    for p in result.points:
        groups.setdefault(p.rho, []).append(p)
    return {r: sorted(v, key=lambda q: q.bpp) for r, v in sorted(groups.items())}


def _save_png(fig, path: str | pathlib.Path) -> pathlib.Path:
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    fig.savefig(path, dpi=200)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)
    return path


#: Line styles of the classical baselines (grey shades, distinct markers).
BASELINE_STYLE = {"jpeg": ("s--", "0.15"), "webp": ("^--", "0.45"), "avif": ("D:", "0.3"),
                  "jpeg2000": ("v:", "0.6")}
BASELINE_LABEL = {"jpeg": "JPEG (optimize)", "webp": "WebP (m6)", "avif": "AVIF",
                  "jpeg2000": "JPEG 2000"}


def _rd_axes(ax, result, field: str) -> None:
    groups = _by_rho(result)
    for rho, pts in groups.items():
        label = "ours, posterior mean" if rho == float("inf") else f"ours, ρ = {rho:g}"
        ax.plot([p.bpp for p in pts], [getattr(p, field) for p in pts], "o-",
                color=_rho_color(rho, list(groups)), label=label)
    for curve in getattr(result, "baselines", ()):
        pts = sorted(curve.points, key=lambda q: q.bpp)
        style, color = BASELINE_STYLE.get(curve.codec, ("x:", "0.5"))
        ax.plot([p.bpp for p in pts], [getattr(p, field) for p in pts], style, color=color,
                mfc="none", label=BASELINE_LABEL.get(curve.codec, curve.codec))
    ax.set_xlabel("rate (bits per pixel, file size)")


def rate_distortion(result, path: str | pathlib.Path) -> pathlib.Path:
    """PSNR (dB) against bits per pixel, one line per ρ."""
    with _style.paper_style() as plt:
        fig, ax = plt.subplots(figsize=(_style.WIDTH_1COL, 2.5))
        _rd_axes(ax, result, "psnr")
        ax.set_ylabel("PSNR (dB)")
        ax.legend()
        return _save_png(fig, path)


def rate_perception(result, path: str | pathlib.Path) -> pathlib.Path:
    """Patch Fréchet distance (per dimension) against bits per pixel, one line per ρ."""
    with _style.paper_style() as plt:
        fig, ax = plt.subplots(figsize=(_style.WIDTH_1COL, 2.5))
        _rd_axes(ax, result, "frechet")
        ax.set_yscale("log")
        ax.set_ylabel(f"{FRECHET_LABEL} (lower = more realistic)")
        ax.legend()
        return _save_png(fig, path)


def blockiness(result, path: str | pathlib.Path) -> pathlib.Path:
    """Blockiness (:func:`rdptheory.metrics.image.blockiness`) against bits per pixel, per ρ
    and per baseline, with the originals' value as a horizontal line (1 = no block grid)."""
    with _style.paper_style() as plt:
        fig, ax = plt.subplots(figsize=(_style.WIDTH_1COL, 2.5))
        _rd_axes(ax, result, "blockiness")
        ref = getattr(result, "original_blockiness", float("nan"))
        if np.isfinite(ref):
            ax.axhline(ref, color="k", lw=0.8, ls=":", label="originals")
            ax.axhspan(0.9 * ref, 1.1 * ref, color="0.85", zorder=0, lw=0)
        ax.set_yscale("log")
        ax.set_ylabel("blockiness (8×8 grid; 1 = none)")
        ax.legend(fontsize=6.5)
        return _save_png(fig, path)


def rate_distortion_perception(result, path: str | pathlib.Path) -> pathlib.Path:
    """Two panels: (a) PSNR and (b) patch Fréchet distance against bits per pixel, per ρ."""
    with _style.paper_style() as plt:
        fig, (a, b) = plt.subplots(1, 2, figsize=(_style.WIDTH_2COL, 2.5))
        _rd_axes(a, result, "psnr")
        a.set(ylabel="PSNR (dB)", title="distortion: PSNR (higher = closer)")
        _rd_axes(b, result, "frechet")
        b.set_yscale("log")
        b.set(ylabel=FRECHET_LABEL, title="perception (lower = more realistic)")
        a.legend(title="decoder score scale")
        for ax, lab in ((a, "a"), (b, "b")):
            _style.panel_label(ax, lab)
        fig.tight_layout()
        return _save_png(fig, path)


def _level_label(pts) -> str:
    return f"t² = {pts[0].noise_var:g} (≈{pts[0].rate_bits_per_dim:.2f} bit/dim)"


def _dp_panel(ax, s: SweepSet) -> None:
    levels = sorted({p.noise_var for p in s.points})
    for k, t2 in enumerate(levels):
        pts = sorted((p for p in s.points if p.noise_var == t2), key=lambda q: q.rho)
        c = _style.COLORS[k % len(_style.COLORS)]
        ax.plot([1e3 * p.frechet for p in pts], [1e3 * p.mse for p in pts], "o-", color=c,
                label=f"{_level_label(pts)}, measured")
        ax.plot([1e3 * p.theory_w2sq for p in pts], [1e3 * p.theory_mse for p in pts], "s--",
                color=c, alpha=0.55, mfc="none", label="  Gaussian theory (prior Σ)")
        for p, dx, dy, ha in ((pts[0], -3, -10, "right"), (pts[-1], 3, -10, "left")):
            ax.annotate(f"ρ={p.rho:g}", (1e3 * p.frechet, 1e3 * p.mse), xytext=(dx, dy),
                        textcoords="offset points", fontsize=6.5, color=c, ha=ha)
    ax.margins(y=0.15)
    ax.set_xlim(left=0)
    ax.set(xlabel=f"perception: {FRECHET_LABEL} (×10⁻³)",
           ylabel="distortion: MSE / dim (×10⁻³)", title=s.label)


def distortion_perception(sets: Sequence[SweepSet], path: str | pathlib.Path) -> pathlib.Path:
    """MSE against patch Fréchet distance over ρ (one panel per patch set), with the
    Gaussian-theory points of the prior's covariance (:func:`rdptheory.gaussian.
    score_scaled_point`); linear axes, one legend below the panels."""
    with _style.paper_style() as plt:
        fig, axes = plt.subplots(1, len(sets), figsize=(_style.WIDTH_2COL, 3.1))
        for k, (ax, s) in enumerate(zip(np.atleast_1d(axes), sets, strict=True)):
            _dp_panel(ax, s)
            _style.panel_label(ax, "abcd"[k])
        fig.tight_layout(rect=(0, 0.13, 1, 1))
        fig.legend(*np.atleast_1d(axes)[0].get_legend_handles_labels(), loc="lower center",
                   ncol=2, fontsize=7)
        return _save_png(fig, path)


def _psnr_panel(ax, s: SweepSet) -> None:
    for j, t2 in enumerate(sorted({p.noise_var for p in s.points})):
        pts = sorted((p for p in s.points if p.noise_var == t2), key=lambda q: q.rho)
        c, r = _style.COLORS[j % len(_style.COLORS)], [p.rho for p in pts]
        ax.plot(r, [-10 * np.log10(p.mse) for p in pts], "o-", color=c, label=_level_label(pts))
        ax.plot(r, [-10 * np.log10(p.theory_mse) for p in pts], "--", color=c, alpha=0.55)
        ax.axhline(-10 * np.log10(pts[0].mmse), color=c, ls=":", lw=1)
    ax.set(xlabel="decoder score scale ρ", ylabel="PSNR (dB)", title=s.label)


def psnr_over_rho(sets: Sequence[SweepSet], path: str | pathlib.Path) -> pathlib.Path:
    """PSNR against ρ per noise level (one panel per patch set): measured (solid), Gaussian
    theory of the prior covariance (dashed), the exact posterior mean E[X|Y] (dotted)."""
    from matplotlib.lines import Line2D

    with _style.paper_style() as plt:
        fig, axes = plt.subplots(1, len(sets), figsize=(_style.WIDTH_2COL, 2.9))
        for k, (ax, s) in enumerate(zip(np.atleast_1d(axes), sets, strict=True)):
            _psnr_panel(ax, s)
            _style.panel_label(ax, "abcd"[k])
        handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
        for ls, lab in (("-", "measured (PF-ODE decode)"), ("--", "Gaussian theory (prior Σ)"),
                        (":", "exact posterior mean E[X|Y]")):
            handles.append(Line2D([], [], color="0.35", ls=ls))
            labels.append(lab)
        fig.tight_layout(rect=(0, 0.12, 1, 1))
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7)
        return _save_png(fig, path)


def reconstructions(original: np.ndarray, rows: Sequence[Sequence[tuple]],
                    path: str | pathlib.Path, *,
                    row_labels: Sequence[str] = ()) -> pathlib.Path:
    """The original and decodes of one bitstream: one row per rate (stream prefix), one
    column per ρ; ``rows[i][j] = (rho, image uint8, bpp, psnr_db)``; ``row_labels`` name the
    rows (left margin)."""
    ncol = 1 + max(len(r) for r in rows)
    with _style.paper_style() as plt:
        fig, axes = plt.subplots(len(rows), ncol, squeeze=False,
                                 figsize=(_style.WIDTH_2COL, 1.95 * len(rows)))
        for i, row in enumerate(rows):
            axes[i, 0].imshow(original, interpolation="nearest")
            axes[i, 0].set_title("original", fontsize=8)
            if i < len(row_labels):
                axes[i, 0].set_ylabel(row_labels[i], fontsize=8)
            for j, (rho, img, bpp, db) in enumerate(row, start=1):
                axes[i, j].imshow(img, interpolation="nearest")
                axes[i, j].set_title(f"ρ = {rho:g}: {bpp:.2f} bpp, {db:.1f} dB", fontsize=7.5)
        _bare_image_axes(axes)
        fig.tight_layout(w_pad=0.3, h_pad=1.2)
        return _save_png(fig, path)


def _bare_image_axes(axes: np.ndarray) -> None:
    """Image panels: no ticks, grid or frame."""
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for sp in ax.spines.values():
            sp.set_visible(False)


def side_by_side(originals: Sequence[np.ndarray], rows: Sequence[Sequence[tuple]],
                 path: str | pathlib.Path) -> pathlib.Path:
    """One row per image: the original, then each codec's reconstruction;
    ``rows[i][j] = (label, image uint8, bpp, psnr_db, blockiness)``."""
    ncol = 1 + max(len(r) for r in rows)
    with _style.paper_style() as plt:
        fig, axes = plt.subplots(len(rows), ncol, squeeze=False,
                                 figsize=(_style.WIDTH_2COL, 1.75 * len(rows)))
        for i, (orig, row) in enumerate(zip(originals, rows, strict=True)):
            axes[i, 0].imshow(orig, interpolation="nearest")
            axes[i, 0].set_title("original", fontsize=7.5)
            for j, (label, img, bpp, db, blk) in enumerate(row, start=1):
                axes[i, j].imshow(img, interpolation="nearest")
                axes[i, j].set_title(f"{label}\n{bpp:.2f} bpp, {db:.1f} dB, blk {blk:.2f}",
                                     fontsize=6.5)
        _bare_image_axes(axes)
        fig.tight_layout(w_pad=0.3, h_pad=0.8)
        return _save_png(fig, path)
