-- Uitkeringen export -> uitkeringen (one row per uitkering), BSN pseudonymised.
-- A query: its rows go to a TEMP table (memory, never the warehouse file) while the data
-- contract checks the same rows; values are parsed with try_ functions and _rid is kept, so
-- that only the rows the contract passes are then written to the warehouse (ingest/__init__.py).
SELECT
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad)          AS pid,
    regeling,
    try_strptime(ingangsdatum, $date_format)::DATE                 AS ingangsdatum,
    try_strptime(einddatum, $date_format)::DATE                    AS einddatum,
    inhouding                                                  AS inhouding,
    TRY_CAST(replace(replace(inhouding_bedrag, CASE $decimal WHEN ',' THEN '.' ELSE ',' END, ''), $decimal, '.') AS DECIMAL(9, 2)) AS inhouding_bedrag,
    budgetbeheer                                               AS budgetbeheer,
    _rid
FROM staging;
