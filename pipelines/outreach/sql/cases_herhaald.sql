-- Herhaalde melding, per signal of the month: the same partner type reported a signal at the
-- same address on an earlier day within the 6 months before it, and the amount is not higher
-- than that report's (the latest such report; of several on that day, the lowest amount).
-- Unknown amounts never make a herhaalde melding: such a signal is picked up.
CREATE OR REPLACE TEMP TABLE outreach_herhaald AS
WITH known AS (
    SELECT hid, signaalpartner, bedrag, signaaldatum FROM outreach_history
    UNION ALL
    SELECT hid, signaalpartner, bedrag, signaaldatum FROM outreach_signals WHERE hid IS NOT NULL
),
latest AS (
    SELECT s.sid, s.hid, s.signaalpartner, max(e.signaaldatum) AS signaaldatum
    FROM outreach_signals s
    JOIN known e
      ON e.hid = s.hid AND e.signaalpartner = s.signaalpartner
     AND e.signaaldatum < s.signaaldatum
     AND e.signaaldatum >= s.signaaldatum - INTERVAL 6 MONTH
    GROUP BY s.sid, s.hid, s.signaalpartner
),
previous AS (
    SELECT l.sid, min(e.bedrag) AS bedrag
    FROM latest l
    JOIN known e ON e.hid = l.hid AND e.signaalpartner = l.signaalpartner AND e.signaaldatum = l.signaaldatum
    GROUP BY l.sid
)
SELECT
    s.sid,
    coalesce(s.bedrag IS NOT NULL AND p.bedrag IS NOT NULL AND s.bedrag <= p.bedrag, false) AS herhaalde_melding
FROM outreach_signals s
LEFT JOIN previous p ON p.sid = s.sid
WHERE s.hid IS NOT NULL;
