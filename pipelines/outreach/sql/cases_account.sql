-- The month's account: every signal of the month is in a case or counted as unmatched.
INSERT INTO case_matching
SELECT
    $period,
    (SELECT count(*) FROM outreach_signals)::INTEGER,
    (SELECT count(*) FROM case_signals WHERE period = $period)::INTEGER,
    (SELECT count(*) FROM outreach_signals WHERE hid IS NULL)::INTEGER,
    (SELECT count(*) FROM cases WHERE period = $period)::INTEGER,
    (SELECT count(*) FROM cases WHERE period = $period AND opened = $period)::INTEGER,
    (SELECT count(*) FROM cases WHERE period = $period AND opened < $period)::INTEGER;
