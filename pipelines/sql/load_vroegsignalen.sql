-- DDAS vroegsignalen -> vroegsignalen (one row per signal). The client's BSN and the
-- partner's signal ID become pseudonyms; name, address and birth date are never read.
CREATE OR REPLACE TABLE vroegsignalen AS
SELECT
    pseudonym('vs:' || signaal_id, $ipad, $opad)               AS sid,
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad)          AS pid,
    signaalpartner,
    bedrag::INTEGER                                            AS bedrag,
    strptime(ontstaansdatum, $date_format)::DATE               AS ontstaansdatum,
    strptime(signaaldatum, $date_format)::DATE                 AS signaaldatum,
    coalesce(crisissignaal = 'true', false)                    AS crisissignaal
FROM staging;
