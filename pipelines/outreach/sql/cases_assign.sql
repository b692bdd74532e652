-- Each matched signal of the month joins a case: the address's case that is still open (its
-- latest status is open and its latest triage's expiry, if it was triaged, is not before the
-- month), or else a new case. A new case's id is a hash of the address pseudonym and the
-- month: the same every time the month is matched, and it tells nothing the hid does not.
INSERT INTO case_signals
WITH latest AS (
    SELECT hid, arg_max(case_id, period) AS case_id, arg_max(status, period) AS status
    FROM cases WHERE period < $period GROUP BY hid
),
expiry AS (
    SELECT case_id, arg_max(expires, period) AS expires
    FROM case_triage WHERE period < $period GROUP BY case_id
),
open_case AS (
    SELECT l.hid, l.case_id
    FROM latest l LEFT JOIN expiry x ON x.case_id = l.case_id
    WHERE l.status = 'open' AND (x.expires IS NULL OR x.expires >= $period_start)
)
SELECT
    s.sid,
    coalesce(o.case_id, substr(sha256('wijksignaal-case:' || s.hid::VARCHAR || ':' || $period), 1, 32)::UUID)
                                   AS case_id,
    $period                        AS period,
    s.hid,
    s.pid,
    h.herhaalde_melding
FROM outreach_signals s
JOIN outreach_herhaald h ON h.sid = s.sid
LEFT JOIN open_case o ON o.hid = s.hid
ORDER BY case_id, s.sid;
