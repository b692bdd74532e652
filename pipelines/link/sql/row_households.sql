-- The household of each row of a source with an address link ({table}: a name from
-- sources.yaml): that of its person (pid -> persons.hid) or, for a client identified by
-- address only (pid NULL), the one household at its address (aid); NULL when neither places
-- it (counted by reason in unlinked.sql). Domains and household selections read this `hid`.
-- Every row is set (again): a later link of the same warehouse gives the same column.
ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS hid UUID;
UPDATE "{table}" AS s SET hid = x.hid
FROM (
    SELECT r.rowid AS row_id, coalesce(p.hid, CASE WHEN a.n_households = 1 THEN a.hid END) AS hid
    FROM "{table}" r
    LEFT JOIN persons p ON p.pid = r.pid
    -- one equality (not `r.pid IS NULL AND a.aid = r.aid`, which DuckDB runs as a nested loop:
    -- every signal against every address, hours for the country): a hash join
    LEFT JOIN address_households a ON a.aid = CASE WHEN r.pid IS NULL THEN r.aid END
) x
WHERE s.rowid = x.row_id;
