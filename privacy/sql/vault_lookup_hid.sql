-- The vault's records of the wanted households (the registered Arrow table `vault_keys`).
SELECT p.pid::VARCHAR AS pid, p.hid::VARCHAR AS hid, p.voornamen, p.geslachtsnaam, p.straat, p.huisnummer,
       p.postcode, p.woonplaats
FROM vault.personen AS p
WHERE p.hid IN (SELECT TRY_CAST(CAST(k AS VARCHAR) AS UUID) FROM vault_keys)
ORDER BY p.hid, p.pid;
