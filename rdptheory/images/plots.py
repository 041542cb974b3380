"""Plots of image-codec evaluations (matplotlib, Agg): rate–distortion, rate–perception, and
the distortion–perception curve over ρ with the Gaussian-theory curve overlaid (THEORY.md §3).
Each function draws one figure from already computed numbers and returns its path."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import numpy as np


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.6), constrained_layout=True)
    return plt, fig, ax


def _by_rho(result) -> dict[float, list]:
    groups: dict[float, list] = {}
    for p in result.points:
        groups.setdefault(p.rho, []).append(p)
    return {r: sorted(v, key=lambda q: q.bpp) for r, v in sorted(groups.items())}


def rate_distortion(result, path: str | pathlib.Path) -> pathlib.Path:
    """PSNR (dB) against bits per pixel, one line per ρ."""
    plt, fig, ax = _figure()
    for rho, pts in _by_rho(result).items():
        ax.plot([p.bpp for p in pts], [p.psnr for p in pts], "o-", label=f"ρ = {rho:g}")
    ax.set(xlabel="bits per pixel (file size)", ylabel="PSNR (dB)",
           title=f"Rate–distortion ({len(result.images)} images)")
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return pathlib.Path(path)


def rate_perception(result, path: str | pathlib.Path) -> pathlib.Path:
    """Patch Fréchet distance (per dimension) against bits per pixel, one line per ρ."""
    plt, fig, ax = _figure()
    for rho, pts in _by_rho(result).items():
        ax.semilogy([p.bpp for p in pts], [p.frechet for p in pts], "o-", label=f"ρ = {rho:g}")
    ax.set(xlabel="bits per pixel (file size)", ylabel="patch Fréchet distance / dim",
           title="Rate–perception (lower = more realistic)")
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return pathlib.Path(path)


def distortion_perception(points: Sequence, path: str | pathlib.Path, *,
                          title: str = "") -> pathlib.Path:
    """MSE against patch Fréchet distance over ρ, per noise level, with Gaussian theory.

    ``points`` are :class:`rdptheory.images.evaluate.RhoPoint` records; markers are measured,
    dashed lines are :func:`rdptheory.gaussian.score_scaled_point` for the prior's covariance.
    """
    plt, fig, ax = _figure()
    levels = sorted({p.noise_var for p in points})
    for k, t2 in enumerate(levels):
        pts = sorted((p for p in points if p.noise_var == t2), key=lambda q: q.rho)
        color = f"C{k}"
        ax.plot([p.frechet for p in pts], [p.mse for p in pts], "o-", color=color,
                label=f"t² = {t2:.3g} (measured)")
        ax.plot([p.theory_w2sq for p in pts], [p.theory_mse for p in pts], "s--", color=color,
                alpha=0.6, label=f"t² = {t2:.3g} (Gaussian theory)")
        for p in (pts[0], pts[-1]):
            ax.annotate(f"ρ={p.rho:g}", (p.frechet, p.mse), fontsize=7)
    ax.set_xscale("symlog", linthresh=1e-5)
    ax.set(xlabel="perception: W₂² / dim (Fréchet of patch fits)", ylabel="MSE / dim",
           title=title or "Distortion–perception over ρ")
    ax.legend(fontsize=6)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return pathlib.Path(path)


def psnr_gain_over_rho(points: Sequence, path: str | pathlib.Path, *,
                       title: str = "") -> pathlib.Path:
    """PSNR (from the per-dimension MSE) against ρ at each noise level: measured (solid),
    Gaussian theory of the prior covariance (dashed), the exact posterior mean (dotted)."""
    plt, fig, ax = _figure()
    levels = sorted({p.noise_var for p in points})
    for k, t2 in enumerate(levels):
        pts = sorted((p for p in points if p.noise_var == t2), key=lambda q: q.rho)
        r = [p.rho for p in pts]
        ax.plot(r, [-10 * np.log10(p.mse) for p in pts], "o-", color=f"C{k}",
                label=f"t² = {t2:.3g}")
        ax.plot(r, [-10 * np.log10(p.theory_mse) for p in pts], "--", color=f"C{k}", alpha=0.6)
        ax.axhline(-10 * np.log10(pts[0].mmse), color=f"C{k}", ls=":", lw=1)
    ax.set(xlabel="score scale ρ", ylabel="PSNR (dB)",
           title=title or "PSNR over ρ (dashed: Gaussian theory; dotted: exact E[X|Y])")
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return pathlib.Path(path)
