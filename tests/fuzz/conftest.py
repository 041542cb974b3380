"""Fuzz harness: every decoder call runs in a forked child under a memory and a time limit.

A decompression bomb or a hang then fails the test (the child dies or the parent stops
waiting) instead of taking the machine down. ``run_isolated(body)`` forks, sets
``RLIMIT_AS`` to the child's current address space plus :data:`MEMORY_BUDGET`, runs
``body(stats)`` (which drives hypothesis and calls ``stats.case(...)`` per example) and
returns the child's statistics: cases, outcomes, worst time per case, peak RSS. With
``RDPTHEORY_FUZZ_LOG=path`` each test appends its statistics to ``path`` (JSON lines).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import time
import traceback

import pytest

#: Address space a fuzz child may add to what it had at the fork (bytes).
MEMORY_BUDGET = 1536 * 2**20
#: A single decoder call slower than this is a hang (not a performance claim).
CASE_TIME_LIMIT_S = 10.0


def _vm_size_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Stats:
    """Per-child fuzz statistics; :meth:`case` runs one decoder call and classifies it."""

    def __init__(self) -> None:
        self.cases = self.ok = self.value_errors = 0
        self.worst_s = self.total_s = 0.0
        self.worst_case = ""
        self.rss_start_mb = _rss_mb()

    def case(self, label: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``: its result, or None if it raised ValueError."""
        start = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
            self.ok += 1
        except ValueError as exc:
            assert str(exc), f"{label}: ValueError without a message"
            out = None
            self.value_errors += 1
        finally:  # other exceptions propagate: hypothesis reports them as failures
            elapsed = time.perf_counter() - start
            self.cases += 1
            self.total_s += elapsed
            if elapsed > self.worst_s:
                self.worst_s, self.worst_case = elapsed, label
        assert elapsed < CASE_TIME_LIMIT_S, f"{label}: one call took {elapsed:.1f} s (a hang)"
        return out

    def as_dict(self) -> dict:
        peak = _rss_mb()
        return {"cases": self.cases, "ok": self.ok, "value_errors": self.value_errors,
                "worst_case_s": round(self.worst_s, 4),
                "decoder_s": round(self.total_s, 2), "worst_case": self.worst_case,
                "peak_rss_mb": round(peak, 1),
                "peak_rss_growth_mb": round(peak - self.rss_start_mb, 1)}


def _child(body, conn) -> None:
    try:
        limit = _vm_size_bytes() + MEMORY_BUDGET
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        stats = Stats()
        try:
            body(stats)
            conn.send(("ok", stats.as_dict(), ""))
        except BaseException:  # noqa: BLE001 - report everything, MemoryError included
            conn.send(("fail", stats.as_dict(), traceback.format_exc()))
    finally:
        conn.close()
        os._exit(0)


def run_isolated(name: str, body, *, timeout_s: float = 300.0) -> dict:
    """Run ``body(stats)`` in a forked child under the limits; fail the test on any problem."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(body, send), daemon=True)
    start = time.perf_counter()
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout_s):
            proc.kill()
            pytest.fail(f"{name}: fuzz child still running after {timeout_s:.0f} s (a hang)")
        try:
            status, stats, tb = recv.recv()
        except EOFError:
            proc.join(5)
            pytest.fail(f"{name}: fuzz child died (exit code {proc.exitcode}): a crash or a "
                        "memory bomb")
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    stats["wall_s"] = round(time.perf_counter() - start, 2)
    stats["test"] = name
    log = os.environ.get("RDPTHEORY_FUZZ_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps(stats) + "\n")
    if status != "ok":
        pytest.fail(f"{name}: {tb}\nstats: {stats}")
    return stats


@pytest.fixture
def isolated():
    """The :func:`run_isolated` function."""
    return run_isolated
