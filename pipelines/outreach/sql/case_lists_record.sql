-- The cases of a month on one selection's signal lists (registered in memory as `listed`: case_id),
-- replacing what an earlier run of the month recorded for that selection.
DELETE FROM case_lists WHERE period = $period AND selection = $selection;
INSERT INTO case_lists SELECT CAST(case_id AS UUID), $period, $selection FROM listed ORDER BY 1;
