import itertools

import numpy as np
import pandas as pd
from small_tables import table

import privacy.suppression_milp as milp
from privacy.audit import audit, checked_witnesses
from privacy.disclosure import primary_suppression
from privacy.protection_lp import weights
from privacy.relations import build
from privacy.secondary import LEVEL_RANK, lp_secondary

# four buurten in two wijken; a table where hiding cell by cell (the protection LPs) is not the cheapest
BUURTEN4 = pd.DataFrame({"buurtcode": ["BU1", "BU2", "BU3", "BU4"], "wijkcode": ["WK1", "WK1", "WK2", "WK2"],
                         "gemeentecode": "GM1"})
VALUES = {"BU1": (6, 4), "BU2": (30, 15), "BU3": (4, 1), "BU4": (2, 6)}


def setup():
    cells = primary_suppression(table(VALUES, BUURTEN4), {"t": 10})
    rels = build(cells, BUURTEN4)
    w = pd.Series(weights(cells.value.to_numpy(dtype=float), cells.level.map(LEVEL_RANK).to_numpy(),
                          (cells.category == "totaal").to_numpy()), index=cells.index)
    return cells, rels, w


def protected(cells, rels, hide) -> bool:
    pattern = cells.copy()
    pattern.loc[list(hide), "status"] = "suppressed"
    return not audit(pattern, rels, {"t": 10}, both=False).failing


def test_the_pattern_is_the_cheapest_of_all_patterns_that_pass_the_audit():
    cells, rels, w = setup()
    chosen, stats = lp_secondary(cells, rels, {"t": 10})
    assert stats["not_converged"] == 0 and protected(cells, rels, chosen)
    assert w[chosen].sum() < w[lp_secondary(cells, rels, {"t": 10}, method="greedy")[0]].sum()
    # every pattern that weighs less (by more than the MIP's 1 % gap), tried by the audit: none protects
    candidates = cells.index[(cells.status == "published") & (cells.value > 0)]
    lighter = [s for k in range(len(candidates) + 1) for s in itertools.combinations(candidates, k)
               if w[list(s)].sum() < 0.99 * w[chosen].sum()]
    assert len(lighter) > 100
    assert not any(protected(cells, rels, s) for s in lighter)
    assert lp_secondary(cells, rels, {"t": 10})[0] == chosen  # deterministic


def test_past_its_limits_the_loop_hands_over_to_the_protection_lps(monkeypatch):
    cells, rels, w = setup()
    monkeypatch.setattr(milp, "MAX_ROUNDS", 1)
    chosen, stats = lp_secondary(cells, rels, {"t": 10})
    assert stats["not_converged"] == 1 and stats["cut_rounds"] == 1
    assert protected(cells, rels, chosen)
    assert w[chosen].sum() <= w[lp_secondary(cells, rels, {"t": 10}, method="greedy")[0]].sum() + 1e-9


def test_cells_that_may_not_be_hidden_are_never_chosen():
    cells, rels, _ = setup()
    free, _ = lp_secondary(cells, rels, {"t": 10})
    tried = 0
    for cell in free:  # published by an earlier release, say
        cells["locked"] = cells.index == cell
        chosen, stats = lp_secondary(cells, rels, {"t": 10})
        if stats["unprotected"]:  # protection LPs confirm: nothing can protect a cell then
            continue
        tried += 1
        assert cell not in chosen and protected(cells, rels, chosen)
    assert tried >= 2


def test_the_programs_witnesses_are_certificates_the_audit_checks(monkeypatch):
    cells, rels, _ = setup()
    for rounds in (milp.MAX_ROUNDS, 1):  # converged, and handed over to the protection LPs
        monkeypatch.setattr(milp, "MAX_ROUNDS", rounds)
        chosen, stats = lp_secondary(cells, rels, {"t": 10})
        assert stats["not_converged"] == (rounds == 1)
        pattern = cells.copy()
        pattern.loc[chosen, "status"] = "suppressed"
        small = pattern.index[(pattern.status == "suppressed") & (pattern.value < 10)]
        settled = checked_witnesses(pattern, rels, {"t": 10}, stats["witnesses"])
        assert stats["witnesses"] and set(settled) <= set(small) and len(settled) >= len(small) // 2
        assert all(v >= 10 - 1e-6 for v in settled.values())
        # a certificate the pattern does not allow (one of its hidden cells published again) is refused
        moved, dev = next((m, d) for m, d in stats["witnesses"] if set(m) & set(chosen))
        assert checked_witnesses(pattern, rels, {"t": 10}, [(moved, dev)])
        undone = pattern.copy()
        undone.loc[sorted(set(moved) & set(chosen)), "status"] = "published"
        assert not checked_witnesses(undone, rels, {"t": 10}, [(moved, dev)])


def _lightest(weight, cuts):
    """The lightest 0/1 choice that meets every cut, by trying every choice."""
    best = None
    for bits in itertools.product((False, True), repeat=len(weight)):
        x = np.array(bits)
        if all(coef @ x[cols] >= rhs - 1e-9 for cols, coef, rhs in cuts):
            w = float(weight[x].sum())
            best = w if best is None or w < best else best
    return best


def test_the_program_solved_block_by_block_is_the_lightest_pattern_meeting_every_cut_so_far():
    rng = np.random.default_rng(3)
    weight = rng.uniform(1, 3, 12)
    program = milp.Blocks(weight)

    def cut(group, cols=None):  # three variables of a group (four variables each), random coefficients
        cols = np.sort(rng.choice(np.arange(4 * group, 4 * group + 4), 3, replace=False)) if cols is None else cols
        return np.asarray(cols), rng.uniform(0.5, 2, 3), float(rng.uniform(1, 2))

    every = []
    # cuts in each of three groups: three blocks; then a cut in one of them; then one that joins two
    for cuts, solves in (([cut(0), cut(1), cut(2), cut(1)], 3), ([cut(1)], 4), ([cut(0, [1, 8, 10])], 5)):
        every += cuts
        chosen = program.solve(cuts)
        x = np.zeros(12, dtype=bool)
        x[chosen] = True
        assert all(coef @ x[cols] >= rhs - 1e-9 for cols, coef, rhs in every)
        assert weight[x].sum() <= _lightest(weight, every) * (1 + milp.MIP_REL_GAP) + 1e-9
        assert program.solves == solves  # only the blocks the new cuts touch are solved again
    assert milp.Blocks(weight).solve([(np.array([], dtype=int), np.array([]), 1.0)]) is None  # nothing can meet it


def test_a_partner_process_gives_the_pattern_one_process_gives(monkeypatch):
    import privacy.audit as audit_module

    rng = np.random.default_rng(5)
    buurten = pd.DataFrame({"buurtcode": [f"BU{i:02d}" for i in range(60)],
                            "wijkcode": [f"WK{i // 6}" for i in range(60)], "gemeentecode": "GM1"})
    values = {b: tuple(int(v) for v in rng.integers(1, 14, 2)) for b in buurten.buurtcode}
    cells = primary_suppression(table(values, buurten), {"t": 10})
    rels = build(cells, buurten)
    monkeypatch.setattr(audit_module, "WORKERS", 2)
    monkeypatch.setattr(milp, "PARTNER_UNSAFE", 10**9)
    alone = lp_secondary(cells, rels, {"t": 10})
    started = []
    monkeypatch.setattr(milp, "PARTNER_UNSAFE", 1)
    monkeypatch.setattr(milp.Partner, "__init__", lambda self, *a, _init=milp.Partner.__init__:
                        (started.append(1), _init(self, *a))[1])
    # a 0/1 program solved in this process before the fork (above): the partner must not wait for its threads
    together = lp_secondary(cells, rels, {"t": 10})
    assert started and alone[1]["cut_rounds"] > 1
    assert together[0] == alone[0] and together[1]["lps"] == alone[1]["lps"]
    assert [(list(m), list(d)) for m, d in together[1]["witnesses"]] == \
        [(list(m), list(d)) for m, d in alone[1]["witnesses"]]


def test_a_block_whose_program_stops_before_any_pattern_hides_all_its_cells(monkeypatch):
    monkeypatch.setattr(milp, "MIP_MAX_NODES", 0)
    made = milp.new_highs

    def no_search():  # no presolve, no heuristics: at the node limit HiGHS has no pattern at all
        h = made()
        h.setOptionValue("presolve", "off")
        h.setOptionValue("mip_heuristic_effort", 0.0)
        return h

    monkeypatch.setattr(milp, "new_highs", no_search)
    rng = np.random.default_rng(7)
    weight = rng.uniform(1, 3, 30)
    cuts = [(np.sort(rng.choice(30, 6, replace=False)), rng.uniform(0.2, 1, 6), 1.5) for _ in range(40)]
    chosen = milp.Blocks(weight).solve(cuts)
    x = np.zeros(30, dtype=bool)
    x[chosen] = True
    assert all(coef @ x[cols] >= rhs - 1e-9 for cols, coef, rhs in cuts)  # not the all-zero non-answer


def test_a_helper_process_ends_when_the_first_process_is_gone():
    from types import SimpleNamespace

    from privacy.protection_lp import Ahead

    for make in (lambda: milp.Partner(SimpleNamespace(), milp.Blocks(np.ones(3))),
                 lambda: Ahead(SimpleNamespace(suppressed=np.zeros(3, dtype=bool), candidate=np.zeros(3, dtype=bool)))):
        helper = make()
        helper.conn.close()  # as when the first process dies
        helper.process.join(timeout=20)
        assert not helper.process.is_alive()


def test_a_solver_refused_for_its_thread_count_is_run_again_not_taken_as_a_verdict():
    import highspy

    from privacy.audit import run

    def model(h):
        h.setOptionValue("output_flag", False)
        h.addVars(2, np.zeros(2), np.full(2, 5.0))
        h.changeColsCost(2, np.arange(2, dtype=np.int32), np.array([-1.0, -1.0]))
        h.addRows(1, np.array([-np.inf]), np.array([7.0]), 2, np.array([0], dtype=np.int32),
                  np.arange(2, dtype=np.int32), np.ones(2))
        return h

    other = model(highspy.Highs())
    other.setOptionValue("threads", 2)  # a pool of two threads, made by someone else first
    other.run()
    ours = model(milp.new_highs())
    assert ours.run() == highspy.HighsStatus.kError  # what a bare run() would have returned
    run(ours)
    assert ours.getModelStatus() == highspy.HighsModelStatus.kOptimal and ours.getInfo().objective_function_value == -7


def test_a_partner_ends_when_its_first_process_is_killed():
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    code = ("import time\nfrom types import SimpleNamespace\nimport numpy as np\nimport privacy.suppression_milp as m\n"
            "p = m.Partner(SimpleNamespace(), m.Blocks(np.ones(3)))\nprint(p.process.pid, flush=True)\ntime.sleep(120)\n")
    first = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2])
    pid = int(first.stdout.readline())
    first.send_signal(signal.SIGKILL)  # no clean-up runs: the partner must notice by itself
    first.wait()

    def alive() -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 20
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    still = alive()
    if still:
        os.kill(pid, signal.SIGKILL)
    assert not still
