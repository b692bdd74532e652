-- Rows of one source ({table}: a name from sources.yaml) that are loaded but not placed in
-- any household or buurt, by reason; counted per source in audit.json (`linking`):
--   no_person_with_bsn            a BSN no person of the BRP extract has (moved away, a typo)
--   no_person_at_address          (a client identified by address) no person of the extract lives there
--   several_households_at_address (idem) the extract places more than one household there
-- {aid} is s."aid" for a source with an address link, NULL otherwise.
-- (A LEFT JOIN lets DuckDB hash the small source side, not all persons.)
SELECT
    '{source}'                                                                 AS source,
    count(*) FILTER (WHERE s.pid IS NOT NULL AND p.pid IS NULL)                AS no_person_with_bsn,
    count(*) FILTER (WHERE s.pid IS NULL AND {aid} IS NOT NULL AND a.aid IS NULL) AS no_person_at_address,
    count(*) FILTER (WHERE s.pid IS NULL AND a.n_households > 1)               AS several_households_at_address,
    count(*) FILTER (WHERE s.pid IS NULL AND a.n_households = 1)               AS linked_by_address
FROM "{table}" s
LEFT JOIN persons p ON p.pid = s.pid
LEFT JOIN address_households a ON a.aid = CASE WHEN s.pid IS NULL THEN {aid} END  -- one equality: a hash join
