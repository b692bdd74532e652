-- The month's vroegsignalen (signal date in the month) with what the warehouse knows of their
-- handling: the case each joined in that month (case_signals), that case's outcome for the
-- month (case_outcomes) and how many persons the case's signals of the month concern (a result
-- about one person, "Inwoner is overleden", is a signal's status only when the case has one).
-- Pseudonyms and facts only: a signal's own ID and its client are not in the warehouse; they
-- are read from its source file (delivery.py) and joined in memory by the pseudonym sid.
-- and how many partner types its signals of the month come from (a result about a signal,
-- "Niet opgepakt: herhaalde melding", is a signal's status only when they come from one).
WITH persons AS (
    SELECT cs.case_id, count(DISTINCT cs.pid) AS n_persons, count(DISTINCT sv.signaalpartner) AS n_partners
    FROM case_signals cs
    JOIN vroegsignalen sv ON sv.sid = cs.sid
    WHERE cs.period = $period
    GROUP BY cs.case_id
)
SELECT
    CAST(v.sid AS VARCHAR)     AS sid,
    v.signaalpartner,
    v.bedrag,
    v.ontstaansdatum,
    v.signaaldatum,
    v.crisissignaal,
    CAST(s.case_id AS VARCHAR) AS case_id,
    o.datum_opgepakt,
    o.resultaat,
    p.n_persons,
    p.n_partners
FROM vroegsignalen v
LEFT JOIN case_signals s ON s.sid = v.sid AND s.period = $period
LEFT JOIN case_outcomes o ON o.case_id = s.case_id AND o.period = $period
LEFT JOIN persons p ON p.case_id = s.case_id
WHERE v.signaaldatum BETWEEN $period_start AND $period_end
ORDER BY sid
