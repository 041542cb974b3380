"""Wall and CPU seconds of ``rdptheory report`` per stage, into one JSON entry.

    nice -n 10 .venv/bin/python benchmarks/report_time.py --label after [--jobs 2] \
        [--quick] [--out /tmp/rdptheory-report] [--json benchmarks/results/image_report_time.json]

runs ``rdptheory report --out OUT --force [--jobs N]`` as a child process and records its wall
seconds, the CPU seconds of the child and its workers (``getrusage(RUSAGE_CHILDREN)``, user +
system), the 1-minute load average before and after, and from the report's own
``report.json`` each stage's wall and CPU seconds and which worker ran it. With several workers
the per-worker CPU sums are recorded too: on an otherwise idle machine the wall time is about
the largest of them plus the start-up.

``--from-report DIR`` records an existing report's ``report.json`` instead (no run; its
``meta.timings_s``; earlier reports have no CPU seconds).

Load matters on the shared 2-core box: compare wall seconds of runs made under the same load,
and read CPU seconds next to them.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load() -> float:
    return os.getloadavg()[0]


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _stages(meta: dict) -> dict:
    """{stage: {wall_s, cpu_s, worker}} from a report.json ``meta``."""
    cpu, proc = meta.get("cpu_s", {}), meta.get("stage_process", {})
    return {k: {"wall_s": round(v, 1), "cpu_s": round(cpu[k], 1) if k in cpu else None,
                "worker": proc.get(k)}
            for k, v in meta["timings_s"].items() if k != "total"}


def _per_worker_cpu(stages: dict) -> dict:
    out: dict[str, float] = {}
    for s in stages.values():
        if s["worker"] is not None and s["cpu_s"] is not None:
            key = f"worker {s['worker']}"
            out[key] = round(out.get(key, 0.0) + s["cpu_s"], 1)
    return out


def run_report(out: pathlib.Path, jobs: int | None, quick: bool = False) -> dict:
    """Run the report once; return the entry."""
    cmd = [sys.executable, "-m", "rdptheory", "report", "--out", str(out), "--force"]
    if quick:
        cmd.append("--quick")
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    load0 = _load()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=False, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    meta = json.loads((out / "report.json").read_text())["meta"]
    stages = _stages(meta)
    return {"command": " ".join(["rdptheory", *cmd[3:]]), "commit": _git_commit(),
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "wall_s": round(wall, 1),
            "cpu_s": round((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), 1),
            "load_1min_before": round(load0, 2), "load_1min_after": round(_load(), 2),
            "jobs": meta.get("jobs", 1), "report_total_s": round(meta["timings_s"]["total"], 1),
            "per_worker_cpu_s": _per_worker_cpu(stages), "stages": stages}


def from_report(path: pathlib.Path) -> dict:
    """An entry from an existing report directory (no run)."""
    meta = json.loads((path / "report.json").read_text())["meta"]
    stages = _stages(meta)
    return {"source": str(path / "report.json"), "jobs": meta.get("jobs", 1),
            "report_total_s": round(meta["timings_s"]["total"], 1),
            "per_worker_cpu_s": _per_worker_cpu(stages), "stages": stages}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--label", required=True, help="the entry's key under 'report_runs'")
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="the report's smoke sizes")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("/tmp/rdptheory-report"))
    p.add_argument("--from-report", type=pathlib.Path, default=None)
    p.add_argument("--note", default="")
    p.add_argument("--json", type=pathlib.Path,
                   default=ROOT / "benchmarks/results/image_report_time.json")
    a = p.parse_args(argv)
    entry = from_report(a.from_report) if a.from_report else run_report(a.out, a.jobs, a.quick)
    if a.note:
        entry["note"] = a.note
    doc = json.loads(a.json.read_text()) if a.json.exists() else {}
    doc.setdefault("report_runs", {})[a.label] = entry
    a.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(entry, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
