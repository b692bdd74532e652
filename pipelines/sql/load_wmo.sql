-- Wmo allocations -> wmo (one row per toegewezen product), BSN pseudonymised.
-- Loaded while the data contract checks the same rows: values are parsed with try_
-- functions and _rid is kept, so that rows the contract quarantines can be deleted after.
CREATE OR REPLACE TABLE wmo AS
SELECT
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad)          AS pid,
    productcategorie,
    productcode,
    try_strptime(ingangsdatum, $date_format)::DATE                 AS ingangsdatum,
    try_strptime(einddatum, $date_format)::DATE                    AS einddatum,
    _rid
FROM staging;
