"""``rdptheory report --out DIR``: the main job.

Runs every claim check (``verify``), the empirical traversal with real bitstreams
(:mod:`rdptheory.experiments.traversal`) and every figure, then writes ``index.html`` and
``report.md`` (tables and images) and ``report.json`` (every number) into DIR.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdptheory._io import atomic_write_text
from rdptheory.cli import add_output_dir_arguments

#: The files ``report`` writes into DIR (besides figures/ and images/).
REPORT_FILES = ("report.json", "index.html", "report.md")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    p = subparsers.add_parser(
        "report",
        help="run verify, the codec traversal and the figures; write an HTML/Markdown report",
        description="The main job: claims checked, real-bit RDP traversal, figures, one report.",
    )
    add_output_dir_arguments(p, quick_help="tiny sizes (smoke run, ~1 minute)",
                             force_help="overwrite the report files of an earlier run in DIR")
    p.add_argument("--no-images", action="store_true", help="skip the image-codec section")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes for the report's independent stages (default: "
                        "min(2, available cores); 1 runs everything in this process). The "
                        "numbers do not depend on N")
    p.set_defaults(func=run)


@dataclass
class _Report:
    """Everything the report shows, filled stage by stage."""

    out: Path
    quick: bool
    verify: list = field(default_factory=list)
    traversal: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    images: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)
    process: dict = field(default_factory=dict)
    jobs: int = 1


def _tasks(rep: _Report, images: bool) -> list[tuple[str, Any]]:
    """(label, thunk) for every unit of work, in order; each thunk fills ``rep``."""
    from rdptheory.experiments.traversal import default_traversal
    from rdptheory.figures import FIGURES
    from rdptheory.proofs_check import run_all

    tasks: list[tuple[str, Any]] = [("verify", lambda: rep.verify.extend(run_all(quick=rep.quick)))]
    for label, thunk in default_traversal(quick=rep.quick):
        tasks.append((f"traversal: {label}", lambda t=thunk: rep.traversal.extend(t())))
    for name in FIGURES:
        tasks.append((f"figure: {name}", lambda n=name: rep.figures.extend(_figure(rep, n))))
    if images:
        tasks.append(("images", lambda: _images(rep)))
    return tasks


def _figure(rep: _Report, name: str) -> list:
    from rdptheory.figures import make_all

    return make_all(rep.out / "figures", quick=rep.quick, only=[name])


def _images(rep: _Report) -> None:
    """I6's image section if importable; otherwise (or on failure) a note in the report."""
    try:
        from rdptheory.experiments.image_report import report_section
    except ImportError as exc:
        rep.notes.append(f"image section skipped: rdptheory.experiments.image_report unavailable "
                         f"({exc})")
        return
    try:
        model = _image_model(rep)
        rep.images.extend((str(t), Path(p)) for t, p in report_section(rep.out / "images",
                                                                       quick=True, model=model))
    except Exception as exc:  # the image codec must not take the whole report down
        rep.notes.append(f"image section failed: {type(exc).__name__}: {exc}")


def _image_model(rep: _Report) -> Any:
    """The codec model of the image section: the default (the shipped UNet); without torch or
    diffusers, the torch-free shift-averaged patch GMM, with a note saying so."""
    from rdptheory.models import default_model, load_model

    try:
        return default_model()
    except ImportError as exc:
        rep.notes.append(f"image section: {exc}; its codec figures use gmm-shift instead")
        return load_model("gmm-shift")


# ---------------------------------------------------------------------------- scheduling
#: Stages that encode the same files (the traversal's white d=8 one-shot and progressive files
#: are the measured_rdp figure's 1 bit/dim files): one unit, so one process encodes them once
#: (:func:`rdptheory.experiments.traversal.shared_encodes`).
SHARED_ENCODE_GROUP = ("traversal: white d=8 traversal", "traversal: progressive",
                       "figure: measured_rdp")

#: CPU seconds of each stage in the full report (2026-12-07, 766 s run, before the shared
#: encodes); only the order in which units are handed to the workers (longest first) uses them.
_COST_HINT = {
    "verify": 15.0, "traversal: white d=256, 1 bit/dim": 111.0,
    "traversal: white d=256, 0.5 bit/dim": 81.0, "traversal: white d=8 traversal": 29.0,
    "traversal: i^-2 isotropic": 23.0, "traversal: i^-2 shaped": 32.0,
    "traversal: chunk budget": 85.0, "traversal: progressive": 77.0,
    "figure: measured_rdp": 70.0, "figure: gmm_mmse_gap": 14.0,
    "figure: nonwhite_gap_images": 20.0, "figure: solver_rdp": 10.0, "images": 82.0,
}


def _units(labels: list[str]) -> list[tuple[str, ...]]:
    """The stages grouped into units of work (the shared-encode group is one unit), longest
    first by :data:`_COST_HINT` (ties: report order)."""
    group = tuple(lb for lb in labels if lb in SHARED_ENCODE_GROUP)
    units: list[tuple[str, ...]] = [(lb,) for lb in labels if lb not in SHARED_ENCODE_GROUP]
    if group:
        units.insert(0, group)
    cost = lambda u: sum(_COST_HINT.get(lb, 3.0) for lb in u)
    return sorted(units, key=lambda u: -cost(u))  # stable: equal costs keep report order


@dataclass
class _StageResult:
    """What one stage added to a :class:`_Report`, with its wall and CPU seconds."""

    label: str
    part: _Report
    seconds: float
    cpu_seconds: float
    pid: int


def _run_unit(out: Path, quick: bool, images: bool, unit: tuple[str, ...]) -> list[_StageResult]:
    """Run the stages of ``unit`` (in this process), each into a fresh :class:`_Report`.

    Encodes are shared between the stages of a unit only
    (:func:`~rdptheory.experiments.traversal.shared_encodes`).
    """
    import os
    import time

    from rdptheory.experiments.traversal import shared_encodes

    results = []
    with shared_encodes():
        for label in unit:
            part = _Report(out, quick)
            thunk = dict(_tasks(part, images))[label]
            t0, c0 = time.perf_counter(), time.process_time()
            thunk()
            results.append(_StageResult(label, part, time.perf_counter() - t0,
                                        time.process_time() - c0, os.getpid()))
    return results


#: The worker's BLAS limit (kept alive for the worker's lifetime).
_WORKER_LIMIT: list[Any] = []


def _worker_init() -> None:
    """Each worker: one BLAS thread and (unless ``RDPTHEORY_MODEL_THREADS`` is set) one model
    thread -- the other worker holds the other core, and torch's spinning OpenMP threads only
    contend there. Model outputs do not depend on the model's thread count
    (:func:`rdptheory.models._torch_common.fixed_torch_threads`)."""
    import os

    os.environ.setdefault("RDPTHEORY_MODEL_THREADS", "1")
    _WORKER_LIMIT.append(_one_blas_thread())


def _one_blas_thread() -> Any:
    """A context (and, on creation, a limit) of one BLAS/OpenMP thread for this process, as
    in every worker, so ``jobs=1`` computes with the same thread counts; a no-op without
    threadpoolctl."""
    from contextlib import nullcontext

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scipy/scikit-learn
        return nullcontext()
    return threadpool_limits(limits=1)


def default_jobs() -> int:
    """min(2, the cores this process may use)."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


def run_stages(rep: _Report, labels: list[str] | None = None, *, images: bool = True,
               jobs: int = 1, progress: bool | None = None) -> None:
    """Run the report's stages (all, or those in ``labels``) and merge them into ``rep`` in
    report order, whatever process ran them.

    ``jobs`` > 1 runs the units (:func:`_units`) in that many spawned worker processes,
    longest first; each stage is deterministic for the report's fixed seeds, so the result does
    not depend on ``jobs`` (checked in ``tests/cli/test_report_jobs.py``). ``rep.timings`` gets
    each stage's wall seconds, ``rep.cpu`` its CPU seconds (the process that ran it, all its
    threads), ``rep.process`` which worker ran it (0, 1, ... in order of first result).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from rdptheory._progress import progress as bar

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    order = [lb for lb, _ in _tasks(_Report(rep.out, rep.quick), images)]
    if labels is None:
        labels = order
    unknown = [lb for lb in labels if lb not in order]
    if unknown:
        raise ValueError(f"unknown report stage(s) {unknown}; stages: {order}")
    units = _units([lb for lb in order if lb in labels])
    done: dict[str, _StageResult] = {}
    rep.jobs = min(jobs, len(units)) or 1
    if rep.jobs == 1:
        with _one_blas_thread():
            for unit in bar(units, desc="report", enabled=progress):
                done.update((r.label, r) for r in _run_unit(rep.out, rep.quick, images, unit))
    else:
        ctx = multiprocessing.get_context("spawn")  # no inherited torch/BLAS thread state
        with ProcessPoolExecutor(rep.jobs, mp_context=ctx, initializer=_worker_init) as pool:
            futures = [pool.submit(_run_unit, rep.out, rep.quick, images, u) for u in units]
            for fut in bar(as_completed(futures), desc="report", total=len(futures),
                           enabled=progress):
                done.update((r.label, r) for r in fut.result())
    for label in (lb for lb in order if lb in done):
        r = done[label]
        for name in ("verify", "traversal", "figures", "images", "notes"):
            getattr(rep, name).extend(getattr(r.part, name))
        rep.timings[label] = r.seconds
        rep.cpu[label] = r.cpu_seconds
    pids = list(dict.fromkeys(r.pid for r in done.values()))
    rep.process.update((lb, pids.index(r.pid)) for lb, r in done.items())


def run(args: argparse.Namespace) -> int:
    """Run every stage with a progress bar, write the report files, print a summary."""
    import time

    from rdptheory._io import check_output_dir

    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        raise SystemExit(f"rdptheory report: --jobs must be >= 1, got {jobs}")
    check_output_dir(args.out, REPORT_FILES, force=args.force)  # before the long run
    rep = _Report(Path(args.out), args.quick)
    rep.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    run_stages(rep, images=not args.no_images, jobs=jobs)
    rep.timings["total"] = time.perf_counter() - start
    rep.cpu["total"] = sum(rep.cpu.values())
    paths = write_all(rep)
    from rdptheory.proofs_check import format_table

    print(format_table(rep.verify))
    print(f"\nreport written in {rep.timings['total']:.0f} s: " + ", ".join(map(str, paths)))
    return 0 if all(r.ok for r in rep.verify) else 1


# ---------------------------------------------------------------------------- writing
def _row_dict(row: Any) -> dict:
    """A traversal row as plain JSON data (with the derived per-dimension numbers)."""
    from dataclasses import asdict

    p = row.point
    d = asdict(row)
    d["point"].update(rate_bits_per_dim=p.rate_bits_per_dim, overhead=p.overhead)
    return d


def _table_rows(rep: _Report) -> list[list[str]]:
    """Traversal table cells (per-component numbers)."""
    rows = []
    for r in rep.traversal:
        p, d = r.point, r.point.d
        rows.append([
            r.experiment, r.source, r.mode, r.decoder, f"{p.rate_bits_per_dim:.3f}",
            f"{p.info_bits / d:.3f}", f"{p.rdp_bits / d:.3f}", f"{100 * p.overhead:+.1f}%",
            f"{p.rd_bits_measured / d:.3f}",
            f"{p.mse / d:.4f} ± {p.mse_se / d:.4f}", f"{p.theory_mse / d:.4f}",
            f"{p.w2sq_diag / d:.4f}", f"{p.theory_w2sq / d:.4f}", f"{r.seconds_encode:.1f}",
        ])
    return rows


TRAVERSAL_HEADER = [
    "experiment", "source", "mode", "decoder", "real bits/dim", "I(X;Y) bits/dim",
    "R(D,P) bits/dim", "rate over R(D,P)", "R(measured MSE) bits/dim", "MSE/dim (±1 s.e.)",
    "theory MSE/dim",
    "W2²/dim (diag fit)", "theory W2²/dim", "encode s",
]
VERIFY_HEADER = ["claim", "verdict", "method", "worst error", "time"]


def _verify_rows(rep: _Report) -> list[list[str]]:
    fmt = lambda x: "-" if x != x else f"{x:.2e}"
    return [[r.claim_id, r.verdict_text, r.method, fmt(r.worst_error), f"{r.seconds:.1f} s"]
            for r in rep.verify]


TIMING_HEADER = ["stage", "wall s", "CPU s"]


def _timing_rows(rep: _Report) -> list[list[str]]:
    """Wall and CPU seconds per stage (CPU: the process that ran it, all its threads)."""
    cpu = lambda k: f"{rep.cpu[k]:.1f}" if k in rep.cpu else "-"
    return [[k, f"{v:.1f}", cpu(k)] for k, v in rep.timings.items()]


def _timing_note(rep: _Report) -> str:
    return (f"{rep.jobs} worker process(es); stages run side by side, so their wall seconds "
            "add up to more than the total" if rep.jobs > 1 else "one process")


def _headline(rep: _Report) -> list[str]:
    """A few sentences with the numbers a reader wants first."""
    n_ok = sum(r.ok for r in rep.verify)
    lines = [f"{n_ok}/{len(rep.verify)} claims checked as expected (verdicts below)."]
    for r in rep.traversal:
        if r.experiment == "overhead" and r.decoder == "rho=1":
            p = r.point
            lines.append(
                f"One-shot RCC, {r.source}, n={p.n}: {p.rate_bits_per_dim:.3f} real bits/dim vs "
                f"R(D,P) = {p.rdp_bits / p.d:.3f} bits/dim ({100 * p.overhead:+.1f}%), "
                f"MSE/dim {p.mse / p.d:.4f} vs theory {p.theory_mse / p.d:.4f} "
                f"(R(D) at the measured MSE: {p.rd_bits_measured / p.d:.3f} bits/dim).")
    return lines


def write_json(rep: _Report) -> Path:
    """report.json: every number of the report."""
    import json
    import platform

    from rdptheory import __version__
    from rdptheory.proofs_check._serialize import _clean, results_to_json

    doc = {
        "meta": {"version": __version__, "quick": rep.quick, "python": platform.python_version(),
                 "jobs": rep.jobs, "timings_s": rep.timings, "cpu_s": rep.cpu,
                 "stage_process": rep.process,
                 "notes": rep.notes},
        "verify": results_to_json(rep.verify),
        "traversal": [_clean(_row_dict(r)) for r in rep.traversal],
        "figures": [{"name": f.name, "title": f.title, "png": str(f.png.relative_to(rep.out)),
                     "pdf": str(f.pdf.relative_to(rep.out)), "csv": str(f.csv.relative_to(rep.out))}
                    for f in rep.figures],
        "images": [{"title": t, "path": _rel(rep, p)} for t, p in rep.images],
    }
    path = rep.out / "report.json"
    atomic_write_text(path, json.dumps(doc, indent=2))
    return path


def _rel(rep: _Report, p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(rep.out.resolve()))
    except ValueError:
        return str(p)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    from html import escape

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f3f3f3}"
        "img{max-width:100%;border:1px solid #eee}figure{margin:1.5em 0}"
        "details{margin:.4em 0}code{background:#f6f6f6}")


def write_html(rep: _Report) -> Path:
    """index.html: headline, claims, traversal, figures, images, timings."""
    from html import escape

    parts = [f"<!doctype html><meta charset='utf-8'><title>rdptheory report</title>"
             f"<style>{_CSS}</style><h1>rdptheory report</h1>",
             "<ul>" + "".join(f"<li>{escape(s)}</li>" for s in _headline(rep)) + "</ul>",
             "<h2>1. Claims (rdptheory verify)</h2>", _html_table(VERIFY_HEADER, _verify_rows(rep))]
    from rdptheory.proofs_check import format_details

    parts += [f"<details><summary>{escape(r.claim_id)}: {escape(r.title)}</summary><pre>"
              f"{escape(format_details(r))}</pre></details>" for r in rep.verify]
    parts += ["<h2>2. Empirical traversal: real bitstreams, one encode, many decodes</h2>",
              "<p>Rates are 8 × file bytes / samples (header, chunk layouts, CRCs included). "
              "R(D,P) is evaluated at the decoder's theoretical (D, P) (ideal channel "
              "simulation); R(measured MSE) is the rate-distortion function at the MSE actually "
              "measured, a floor for any code with that MSE.</p>",
              _html_table(TRAVERSAL_HEADER, _table_rows(rep)), "<h2>3. Figures</h2>"]
    for f in rep.figures:
        parts.append(f"<figure><img src='{_rel(rep, f.png)}' alt='{escape(f.name)}'><figcaption>"
                     f"<b>{escape(f.title)}</b> — <a href='{_rel(rep, f.pdf)}'>PDF</a>, "
                     f"<a href='{_rel(rep, f.csv)}'>CSV</a></figcaption></figure>")
    parts.append("<h2>4. Images</h2>")
    parts += [f"<figure><img src='{_rel(rep, p)}'><figcaption>{escape(t)}</figcaption></figure>"
              for t, p in rep.images]
    parts += [f"<p><i>{escape(n)}</i></p>" for n in rep.notes]
    parts += ["<h2>5. Timings</h2>", f"<p>{escape(_timing_note(rep))}</p>",
              _html_table(TIMING_HEADER, _timing_rows(rep))]
    path = rep.out / "index.html"
    atomic_write_text(path, "\n".join(parts))
    return path


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    esc = lambda c: c.replace("|", "\\|")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows])


def write_markdown(rep: _Report) -> Path:
    """report.md: the same content as index.html, in Markdown."""
    parts = ["# rdptheory report", "", *[f"- {s}" for s in _headline(rep)], "",
             "## 1. Claims (rdptheory verify)", "", _md_table(VERIFY_HEADER, _verify_rows(rep)),
             "", "## 2. Empirical traversal", "", _md_table(TRAVERSAL_HEADER, _table_rows(rep)),
             "", "## 3. Figures", ""]
    parts += [f"![{f.name}]({_rel(rep, f.png)})\n\n*{f.title}* ([PDF]({_rel(rep, f.pdf)}), "
              f"[CSV]({_rel(rep, f.csv)}))\n" for f in rep.figures]
    parts += ["## 4. Images", "", *[f"![{t}]({_rel(rep, p)})\n\n*{t}*\n" for t, p in rep.images],
              *[f"*{n}*" for n in rep.notes], "", "## 5. Timings", "", _timing_note(rep), "",
              _md_table(TIMING_HEADER, _timing_rows(rep))]
    path = rep.out / "report.md"
    atomic_write_text(path, "\n".join(parts) + "\n")
    return path


def write_all(rep: _Report) -> list[Path]:
    """Write report.json, index.html and report.md; return their paths."""
    return [write_json(rep), write_html(rep), write_markdown(rep)]
