"""The forward-KL excess table's file: written by the solver, read by the theory."""

from __future__ import annotations

import numpy as np

from rdptheory.gaussian._kl_forward_table import ExcessTable, read_table, write_table
from rdptheory.solver import tabulate


def test_shipped_table_is_on_the_solver_grid():
    tab = read_table()
    assert tab.p_grid == tabulate.P_GRID and tab.t_grid == tabulate.T_GRID
    assert tab.grid == tabulate.GRID and tab.tol == tabulate.TOL
    assert tab.excess.shape == (len(tab.p_grid), len(tab.t_grid))
    # e = 0 exactly at both ends of every row (the bounds meet there); |e| <= 2.8e-4 nats
    assert np.all(tab.excess[:, 0] == 0.0) and np.all(tab.excess[:, -1] == 0.0)
    assert 2e-4 < np.abs(tab.excess).max() <= 2.8e-4
    assert 0.0 < tab.max_gap <= 1e-5


def test_write_read_round_trip(tmp_path):
    excess = np.array([[0.0, 1.2345678e-4, -2.5e-8], [0.0, 3.3e-13, 0.0]])
    table = ExcessTable((0.1, 1.0), (0.0, 0.5, 1.0), excess, {"n": 61, "width": 7.0},
                        1e-8, 2.93456e-6, "a note")
    write_table(tmp_path / "t.json", table)
    back = read_table(tmp_path / "t.json")
    assert back.p_grid == table.p_grid and back.t_grid == table.t_grid
    assert back.grid == table.grid and back.tol == table.tol and back.note == "a note"
    expected = excess.copy()
    expected[0, 1] = 1.234568e-4  # rounded to 7 significant digits; the others are exact
    np.testing.assert_array_equal(back.excess, expected)
    assert back.max_gap == 2.935e-6  # 4 significant digits
