-- The cases of a month a list row can name: the 8-hex prefix the list shows, the team, and the
-- latest signal date (a case cannot be picked up before its last signal of the month).
SELECT left(CAST(c.case_id AS VARCHAR), 8) AS zaak, CAST(c.case_id AS VARCHAR) AS case_id, t.team,
       c.laatste_signaaldatum
FROM cases c
JOIN case_triage t ON t.case_id = c.case_id AND t.period = c.period
WHERE c.period = $period
