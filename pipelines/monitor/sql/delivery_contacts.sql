-- The contact attempts recorded for the month's cases (case_contacts, imported with their
-- case_outcomes row), in the order of their file row or vroegsignaalzaak.
SELECT CAST(case_id AS VARCHAR) AS case_id, seq, soort, datum, dagdeel, bereikt
FROM case_contacts
WHERE period = $period
ORDER BY case_id, seq
