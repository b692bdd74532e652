"""privacy/audit.py's `run`: every LP gets a bounded number of simplex iterations, and one that runs out is
solved again from scratch (AGAIN), its options restored; a verdict never waits without end."""

from __future__ import annotations

import highspy
import numpy as np
import pytest
from scipy.sparse import csr_matrix

import privacy.audit as audit


def _lp() -> highspy.Highs:
    """A small LP that the dual simplex solves in some twenty iterations without presolve (as the witness LPs
    are solved)."""
    rng = np.random.default_rng(0)
    n = 30
    rows = csr_matrix(rng.integers(0, 2, size=(20, n)).astype(float))
    b = rows @ rng.integers(0, 5, size=n).astype(float)
    h = audit.lp_model(np.zeros(n), np.full(n, 50.0), rows, b, b)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), rng.random(n))
    h.setOptionValue("presolve", "off")
    return h


def _options(h: highspy.Highs) -> tuple:
    return tuple(h.getOptionValue(k)[1] for k in ("presolve", "simplex_strategy"))


def test_an_lp_within_its_iterations_is_solved_once():
    h = _lp()
    audit.run(h)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert 0 < h.getInfo().simplex_iteration_count <= audit.ITERATIONS_PER_ROW_AND_COLUMN * 50 + audit.ITERATIONS_FLOOR
    assert _options(h) == ("off", 1)


def test_an_lp_that_runs_out_every_time_keeps_that_status_and_its_options(monkeypatch):
    monkeypatch.setattr(audit, "ITERATIONS_PER_ROW_AND_COLUMN", 0)
    monkeypatch.setattr(audit, "ITERATIONS_FLOOR", 3)
    h = _lp()
    audit.run(h)
    assert h.getModelStatus() == highspy.HighsModelStatus.kIterationLimit
    assert _options(h) == ("off", 1)  # restored after the attempts with presolve and the primal simplex


def test_an_lp_that_runs_out_is_solved_again_from_scratch(monkeypatch):
    monkeypatch.setattr(audit, "ITERATIONS_PER_ROW_AND_COLUMN", 0)
    monkeypatch.setattr(audit, "ITERATIONS_FLOOR", 3)
    monkeypatch.setattr(audit, "AGAIN", ({"simplex_iteration_limit": 10_000},))  # the second attempt has room
    h = _lp()
    audit.run(h)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    once = _lp()
    once.run()
    assert h.getInfo().objective_function_value == pytest.approx(once.getInfo().objective_function_value)


def test_a_mip_is_run_without_an_iteration_bound():
    h = _lp()
    h.changeColsIntegrality(30, np.arange(30, dtype=np.int32), np.full(30, highspy.HighsVarType.kInteger))
    h.setOptionValue("simplex_iteration_limit", 7)
    audit.run(h)
    assert h.getOptionValue("simplex_iteration_limit")[1] == 7  # left as the caller set it
