-- BRP extract -> persons. No BSN, name or address is kept: the person, household and
-- address are pseudonyms, the birth date is reduced to the year (enough for age bands).
-- The address pseudonym (aid) is computed by address_key (pipelines/ingest/address_key.sql),
-- as for a DDAS v1.2 client without BSN; this extract has no toevoeging column ('': none).
-- The household pseudonym is computed once per household, not once per member.
-- A query: its rows go to a TEMP table (memory, never the warehouse file) while the data
-- contract checks the same rows; values are parsed with try_ functions and _rid is kept, so
-- that only the rows the contract passes are then written to the warehouse (ingest/__init__.py).
WITH household AS (
    SELECT h, pseudonym('hh:' || h, $ipad, $opad) AS hid
    FROM (SELECT DISTINCT trim(huishouden_id) AS h FROM staging)
)
SELECT
    pseudonym(lpad(trim(s.bsn), 9, '0'), $ipad, $opad)        AS pid,
    household.hid,
    year(try_strptime(s.geboortedatum, $date_format))::SMALLINT    AS geboortejaar,
    s.buurtcode,
    pseudonym(address_key(s.postcode, s.huisnummer, NULL), $ipad, $opad) AS aid,
    s._rid
FROM staging s
LEFT JOIN household ON trim(s.huishouden_id) = household.h;
