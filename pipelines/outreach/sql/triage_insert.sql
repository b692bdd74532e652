-- The month's triage, from the frame triage.py built (registered as outreach_triaged).
INSERT INTO case_triage
SELECT
    case_id::UUID,
    period,
    team,
    action,
    priority::INTEGER,
    term,
    deadline::DATE,
    expires::DATE,
    rule,
    rules_fired::VARCHAR[]
FROM outreach_triaged
ORDER BY case_id
