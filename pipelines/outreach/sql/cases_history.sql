-- The signals of the 6 months before the month, each at its address: the address it was
-- matched to then (case_signals) when it was matched, else its person's address now or, for a
-- client identified by address only, the household link places there ({by_address}, as in cases_signals.sql).
CREATE OR REPLACE TEMP TABLE outreach_history AS
WITH person AS (SELECT pid, min(hid) AS hid FROM persons WHERE hid IS NOT NULL GROUP BY pid),
matched AS (SELECT sid, min(hid) AS hid FROM case_signals WHERE period < $period GROUP BY sid)
SELECT
    v.sid,
    coalesce(m.hid, p.hid, {by_address}) AS hid,
    v.signaalpartner,
    v.bedrag,
    v.signaaldatum
FROM vroegsignalen v
LEFT JOIN matched m ON m.sid = v.sid
LEFT JOIN person p ON p.pid = v.pid
WHERE v.signaaldatum >= $history_start AND v.signaaldatum < $period_start
  AND coalesce(m.hid, p.hid, {by_address}) IS NOT NULL;
