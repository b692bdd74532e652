-- The month's signals, each with the address (hid) of its person; hid is NULL when the
-- person has no household in the BRP extract (counted as unmatched, never dropped).
CREATE OR REPLACE TEMP TABLE outreach_signals AS
WITH person AS (SELECT pid, min(hid) AS hid FROM persons WHERE hid IS NOT NULL GROUP BY pid)
SELECT
    v.sid,
    v.pid,
    p.hid,
    v.signaalpartner,
    v.bedrag,
    v.signaaldatum,
    coalesce(v.crisissignaal, false) AS crisis
FROM vroegsignalen v
LEFT JOIN person p ON p.pid = v.pid
WHERE v.signaaldatum BETWEEN $period_start AND $period_end;
