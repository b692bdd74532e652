-- The month's signals, each with the address (hid) of its person or, for a client identified by
-- address only (DDAS v1.2), the one household at that address (link's `hid`, row_households.sql:
-- {by_address} is `v.hid` for a row without a person when vroegsignalen has it, else NULL); hid is NULL when neither places
-- the signal: the person has no household in the BRP extract, or the address none or several
-- (counted as unmatched, never dropped).
CREATE OR REPLACE TEMP TABLE outreach_signals AS
WITH person AS (SELECT pid, min(hid) AS hid FROM persons WHERE hid IS NOT NULL GROUP BY pid)
SELECT
    v.sid,
    v.pid,
    coalesce(p.hid, {by_address}) AS hid,
    v.signaalpartner,
    v.bedrag,
    v.signaaldatum,
    coalesce(v.crisissignaal, false) AS crisis
FROM vroegsignalen v
LEFT JOIN person p ON p.pid = v.pid
WHERE v.signaaldatum BETWEEN $period_start AND $period_end;
