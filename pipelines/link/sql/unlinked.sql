-- Source rows whose person is not in the BRP extract (moved away, typo in an export):
-- loaded, but not placed in any household or buurt. Counted per source in audit.json.
-- (A LEFT JOIN lets DuckDB hash the small source side, not all persons.)
WITH s AS (
    SELECT 'uitkeringen' AS source, pid FROM uitkeringen
    UNION ALL SELECT 'vroegsignalen', pid FROM vroegsignalen
    UNION ALL SELECT 'wmo', pid FROM wmo
)
SELECT source, count(*) FILTER (WHERE p.pid IS NULL) AS n
FROM s LEFT JOIN persons p USING (pid)
GROUP BY source
ORDER BY source;
