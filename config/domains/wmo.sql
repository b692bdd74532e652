-- wmo: a Wmo allocation runs during the period.
SELECT p.hid
FROM wmo w JOIN persons p USING (pid)
WHERE w.ingangsdatum <= $period_end AND (w.einddatum IS NULL OR w.einddatum >= $period_start)
