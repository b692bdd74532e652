-- The month's signals of the listed cases (listed_cases: a registered table of case ids).
SELECT s.case_id, s.pid, v.signaalpartner, v.bedrag, v.signaaldatum, v.crisissignaal, s.herhaalde_melding
FROM case_signals s
JOIN vroegsignalen v ON v.sid = s.sid
WHERE s.period = ? AND s.case_id IN (SELECT CAST(case_id AS UUID) FROM listed_cases)
ORDER BY s.case_id, v.signaaldatum, v.signaalpartner
