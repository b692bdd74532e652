-- Source rows whose person is not in the BRP extract (moved away, typo in an export):
-- loaded, but not placed in any household or buurt. Counted per source in audit.json.
SELECT 'uitkeringen' AS source, count(*) AS n FROM uitkeringen WHERE pid NOT IN (SELECT pid FROM persons)
UNION ALL
SELECT 'vroegsignalen', count(*) FROM vroegsignalen WHERE pid NOT IN (SELECT pid FROM persons)
UNION ALL
SELECT 'wmo', count(*) FROM wmo WHERE pid NOT IN (SELECT pid FROM persons)
ORDER BY source;
