-- Addresses -> the BRP households living there (a TEMP table: the link stage's own, never the
-- warehouse file). An address is one pseudonym (aid: postcode + huisnummer + toevoeging, see
-- pipelines/ingest/address_key.sql). n_households > 1: the BRP places several households at
-- that address (rooms, a care home, an address without its toevoeging in the extract); a
-- signal identified by that address cannot be given to one of them, so it is not linked.
CREATE OR REPLACE TEMP TABLE address_households AS
SELECT aid, min(hid) AS hid, count(DISTINCT hid)::INTEGER AS n_households
FROM persons
WHERE aid IS NOT NULL
GROUP BY aid;
