-- A month is matched again from scratch: its own rows go first (earlier months stay).
DELETE FROM case_signals WHERE period = $period;
DELETE FROM cases WHERE period = $period;
DELETE FROM case_matching WHERE period = $period;
DELETE FROM case_lists WHERE period = $period;
