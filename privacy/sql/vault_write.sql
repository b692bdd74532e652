-- The vault's one table, written straight into the attached encrypted database (`vault`):
-- the pseudonyms and the name and address of each person, nothing else.
CREATE TABLE vault.personen AS
SELECT
    CAST(CAST(pid AS VARCHAR) AS UUID) AS pid,
    CAST(CAST(hid AS VARCHAR) AS UUID) AS hid,
    CAST(voornamen AS VARCHAR)         AS voornamen,
    CAST(geslachtsnaam AS VARCHAR)     AS geslachtsnaam,
    CAST(straat AS VARCHAR)            AS straat,
    CAST(huisnummer AS VARCHAR)        AS huisnummer,
    CAST(postcode AS VARCHAR)          AS postcode,
    CAST(woonplaats AS VARCHAR)        AS woonplaats
FROM vault_records
ORDER BY hid, pid;
