-- Wmo allocations -> wmo (one row per toegewezen product), BSN pseudonymised.
CREATE OR REPLACE TABLE wmo AS
SELECT
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad)          AS pid,
    productcategorie,
    productcode,
    strptime(ingangsdatum, $date_format)::DATE                 AS ingangsdatum,
    strptime(einddatum, $date_format)::DATE                    AS einddatum
FROM staging;
