-- BRP extract -> persons. No BSN, name or address is kept: the person and household
-- are pseudonyms, the birth date is reduced to the year (enough for age bands).
CREATE OR REPLACE TABLE persons AS
SELECT
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad)          AS pid,
    pseudonym('hh:' || trim(huishouden_id), $ipad, $opad)      AS hid,
    year(strptime(geboortedatum, $date_format))::SMALLINT      AS geboortejaar,
    buurtcode
FROM staging;
