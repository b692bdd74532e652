-- Uitkeringen export -> uitkeringen (one row per uitkering), BSN pseudonymised.
CREATE OR REPLACE TABLE uitkeringen AS
SELECT
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad)          AS pid,
    regeling,
    strptime(ingangsdatum, $date_format)::DATE                 AS ingangsdatum,
    strptime(einddatum, $date_format)::DATE                    AS einddatum,
    inhouding = 'Ja'                                           AS inhouding,
    replace(inhouding_bedrag, $decimal, '.')::DECIMAL(9, 2)   AS inhouding_bedrag,
    budgetbeheer = 'Ja'                                        AS budgetbeheer
FROM staging;
