"""A dependency-free progress bar for long CLI work (writes to stderr).

>>> list(progress(range(3), desc="demo", enabled=False))
[0, 1, 2]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(
    items: Iterable[T],
    *,
    desc: str = "",
    total: int | None = None,
    enabled: bool | None = None,
    width: int = 28,
) -> Iterator[T]:
    """Yield ``items`` while drawing ``desc [####....] k/n  elapsed`` on stderr.

    ``enabled=None`` draws only when stderr is a terminal or ``RDPTHEORY_PROGRESS=1``.
    """
    import os

    if enabled is None:
        enabled = sys.stderr.isatty() or os.environ.get("RDPTHEORY_PROGRESS") == "1"
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if not enabled:
        yield from items
        return
    start = time.perf_counter()

    def draw(k: int) -> None:
        elapsed = time.perf_counter() - start
        if total:
            filled = int(width * k / total)
            bar = "#" * filled + "." * (width - filled)
            eta = elapsed / k * (total - k) if k else 0.0
            line = f"\r{desc} [{bar}] {k}/{total}  {elapsed:6.1f}s  eta {eta:6.1f}s"
        else:
            line = f"\r{desc} {k}  {elapsed:6.1f}s"
        sys.stderr.write(line)
        sys.stderr.flush()

    k = 0
    draw(0)
    for item in items:
        yield item
        k += 1
        draw(k)
    sys.stderr.write("\n")
    sys.stderr.flush()
