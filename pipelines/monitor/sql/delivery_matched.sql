-- Whether the outreach stage matched the month's signals to cases (one case_matching row per month).
SELECT count(*) FROM case_matching WHERE period = $period
