-- Keyed pseudonym: HMAC-SHA256 (RFC 2104) over the normalised identifier, first 128 bits
-- as a UUID. ipad/opad are derived from the key in memory and bound as parameters;
-- the macro is TEMP: it lives in this connection only, never in the warehouse file.
CREATE OR REPLACE TEMP MACRO pseudonym(x, ipad, opad) AS
    substr(sha256(opad || unhex(sha256(ipad || encode(x)))), 1, 32)::UUID;
