"""The forward-KL excess table: its file format, read here and written by the solver.

The table (``kl_forward_excess.json`` beside this module) holds the excess
e = R − R_lo (nats) of the true forward-KL Gaussian R(D, P) over the rigorous lower bound, at
P = ``p_grid[i]`` and d = 1 − s_G² + ``t_grid[j]`` (s_G² + m); ``excess[i][j]`` is one certified
solve each.  It is data produced by :mod:`rdptheory.solver.tabulate` (which writes it with
:func:`write_table`) and consumed by :mod:`rdptheory.gaussian._kl_forward` (through
:func:`read_table`): living here, below both, the theory reads its table without importing
the solver.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

#: The shipped table (regenerate with ``python -m rdptheory.solver.tabulate``).
TABLE_PATH = Path(__file__).with_name("kl_forward_excess.json")


class ExcessTable(NamedTuple):
    """The excess e(P, t) (nats) on its grid, with how it was solved."""

    p_grid: tuple[float, ...]
    t_grid: tuple[float, ...]
    excess: np.ndarray  # (len(p_grid), len(t_grid)), nats
    grid: dict[str, float]  # discretisation of every entry (n, width, stretch)
    tol: float  # certificate tolerance of every entry (nats)
    max_gap: float  # largest certificate gap of an entry (nats)
    note: str


def read_table(path: Path = TABLE_PATH) -> ExcessTable:
    """Read a table written by :func:`write_table`."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return ExcessTable(tuple(raw["p_grid"]), tuple(raw["t_grid"]),
                       np.array(raw["excess"], dtype=float), dict(raw["grid"]),
                       float(raw["tol"]), float(raw["max_gap"]), str(raw["note"]))


def write_table(path: Path, table: ExcessTable) -> None:
    """Write ``table`` as JSON, one row of the excess a line (7 significant digits)."""
    head = {"note": table.note, "p_grid": list(table.p_grid), "t_grid": list(table.t_grid),
            "grid": table.grid, "tol": table.tol, "max_gap": float(f"{table.max_gap:.3e}")}
    rows = ",\n    ".join(json.dumps([float(f"{v:.6e}") for v in r])
                           for r in np.asarray(table.excess))
    body = ",\n  ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in head.items())
    Path(path).write_text(f'{{\n  {body},\n  "excess": [\n    {rows}\n  ]\n}}\n',
                          encoding="utf-8")
