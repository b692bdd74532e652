-- uitkering: an uitkering runs during the period (ingang <= period end, einde empty or
-- >= period start). A person not in the BRP extract has no household (link.py counts them).
SELECT p.hid
FROM uitkeringen u JOIN persons p USING (pid)
WHERE u.ingangsdatum <= $period_end AND (u.einddatum IS NULL OR u.einddatum >= $period_start)
