-- The persons whose names and address the identity vault holds (pipelines/ingest/identities.py):
-- those of every household with a vroegsignaal dated in the month, placed by the signal's
-- person (persons.hid, as outreach/cases_signals.sql places it) or by its address (the `hid`
-- link gave the row). A signal list shows only the month's cases (a case is a household with a
-- signal in the month) and names the persons of those signals: nobody else can be on a list.
-- The placeholder in the CTE: vault_households_by_address.sql when vroegsignalen has link's `hid`, else nothing.
WITH signal_households AS (
    SELECT p.hid
    FROM vroegsignalen v JOIN persons p ON p.pid = v.pid
    WHERE v.signaaldatum BETWEEN $period_start AND $period_end AND p.hid IS NOT NULL
    {by_address}
)
SELECT DISTINCT CAST(p.pid AS VARCHAR) AS pid, CAST(p.hid AS VARCHAR) AS hid
FROM persons p
WHERE p.hid IN (SELECT hid FROM signal_households) AND p.pid IS NOT NULL
ORDER BY hid, pid;
