-- DDAS signal IDs (registered in memory as `outcome_ids`: zaak number, ID) to their cases:
-- the ID pseudonymised as at ingest (config/sources/vroegsignalen.sql), then case_signals and
-- the signal's date. An ID without a case gives a row with NULL case_id.
SELECT i.zaak, CAST(s.case_id AS VARCHAR) AS case_id, s.period, v.signaaldatum
FROM outcome_ids i
LEFT JOIN case_signals s ON s.sid = pseudonym('vs:' || i.id, $ipad, $opad)
LEFT JOIN vroegsignalen v ON v.sid = s.sid
