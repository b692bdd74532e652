-- address_key(postcode, huisnummer, toevoeging): the text an address is pseudonymised from,
-- the same in every load SQL (the BRP's persons and a DDAS v1.2 client without BSN), so that
-- the two pseudonyms (aid) are equal exactly when the addresses are. Normalised:
--   postcode    upper case, spaces removed ('1234 ab' -> '1234AB');
--   huisnummer  trimmed; digits as a number ('010' -> '10'), otherwise upper case;
--   toevoeging  huisletter and/or huisnummertoevoeging as one text, upper case, spaces and
--               '-' removed ('a' -> 'A', ' - 2' -> '2'); missing and '' are the same: no toevoeging.
-- NULL (no pseudonym) when the postcode or the huisnummer is missing or blank.
CREATE OR REPLACE TEMP MACRO address_key(postcode, huisnummer, toevoeging) AS
    CASE WHEN nullif(trim(postcode), '') IS NULL OR nullif(trim(huisnummer), '') IS NULL THEN NULL
         ELSE 'adr:' || upper(regexp_replace(postcode, '\s+', '', 'g'))
              || ':' || coalesce(CAST(TRY_CAST(trim(huisnummer) AS BIGINT) AS VARCHAR), upper(trim(huisnummer)))
              || ':' || upper(regexp_replace(coalesce(toevoeging, ''), '[\s-]+', '', 'g'))
    END;
