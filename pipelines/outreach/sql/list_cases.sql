-- The month's triaged cases of a selection's households ({members}: the selection's own
-- compiled condition, whose values are bound parameters ahead of the month's).
SELECT
    c.case_id, c.hid, c.buurtcode, c.meervoudig, c.opeenvolgend, c.herhaalde_melding, c.crisis,
    t.team, t.action, t.priority, t.deadline, t.expires, t.rule, t.rules_fired
FROM cases c
JOIN case_triage t ON t.case_id = c.case_id AND t.period = c.period
WHERE c.hid IN ({members}) AND c.period = ?
ORDER BY c.case_id
