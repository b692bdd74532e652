-- Uitkeringen export -> uitkeringen (one row per uitkering), BSN pseudonymised.
-- Loaded while the data contract checks the same rows: values are parsed with try_
-- functions and _rid is kept, so that rows the contract quarantines can be deleted after.
CREATE OR REPLACE TABLE uitkeringen AS
SELECT
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad)          AS pid,
    regeling,
    try_strptime(ingangsdatum, $date_format)::DATE                 AS ingangsdatum,
    try_strptime(einddatum, $date_format)::DATE                    AS einddatum,
    inhouding = 'Ja'                                           AS inhouding,
    TRY_CAST(replace(replace(inhouding_bedrag, CASE $decimal WHEN ',' THEN '.' ELSE ',' END, ''), $decimal, '.') AS DECIMAL(9, 2)) AS inhouding_bedrag,
    budgetbeheer = 'Ja'                                        AS budgetbeheer,
    _rid
FROM staging;
