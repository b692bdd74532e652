-- The month's cases with, per triage rule, whether its conditions hold (r0, r1, ...: built
-- by triage.py from fixed fragments; every value in them is a bound parameter, as the month is).
SELECT
    c.case_id,
    c.buurtcode,
    c.eerste_signaaldatum,
    {conditions}
FROM cases c
WHERE c.period = ?
ORDER BY c.case_id
