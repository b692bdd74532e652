-- DDAS vroegsignalen -> vroegsignalen (one row per signal). The client's BSN and the
-- partner's signal ID become pseudonyms; name and birth date are never read. A client
-- without BSN (DDAS v1.2: identified by postcode + huisnummer [+ toevoeging]) gets the
-- pseudonym of that address (aid, by address_key as for the BRP's persons) and no pid;
-- a client with a BSN gets no aid. No postcode or huisnummer is kept.
-- A query: its rows go to a TEMP table (memory, never the warehouse file) while the data
-- contract checks the same rows; values are parsed with try_ functions and _rid is kept, so
-- that only the rows the contract passes are then written to the warehouse (ingest/__init__.py).
SELECT
    pseudonym('vs:' || signaal_id, $ipad, $opad)               AS sid,
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad)          AS pid,
    CASE WHEN bsn IS NULL THEN pseudonym(address_key(postcode, huisnummer, huisnummertoevoeging), $ipad, $opad)
    END                                                        AS aid,
    signaalpartner,
    TRY_CAST(bedrag AS INTEGER)                                            AS bedrag,
    try_strptime(ontstaansdatum, $date_format)::DATE               AS ontstaansdatum,
    try_strptime(signaaldatum, $date_format)::DATE                 AS signaaldatum,
    coalesce(crisissignaal, false)                             AS crisissignaal,
    _rid
FROM staging;
