-- Per reference period, one row per household with one flag per problem domain:
--   uitkering   : an uitkering runs during the period (ingang <= period end, einde empty
--                 or >= period start); inhouding / budgetbeheer on such an uitkering
--   achterstand : a vroegsignaal with signaaldatum in the look-back window ending at
--                 the period end
--   wmo         : a Wmo allocation runs during the period
-- Source rows whose person is not in the BRP extract cannot be placed in a buurt;
-- link.py counts them.
INSERT INTO household_facts
WITH
u AS (
    SELECT p.hid, bool_or(u.inhouding) AS inhouding, bool_or(u.budgetbeheer) AS budgetbeheer
    FROM uitkeringen u JOIN persons p USING (pid)
    WHERE u.ingangsdatum <= $period_end AND (u.einddatum IS NULL OR u.einddatum >= $period_start)
    GROUP BY p.hid
),
a AS (
    SELECT p.hid, count(*)::INTEGER AS n_signalen, bool_or(v.crisissignaal) AS crisis
    FROM vroegsignalen v JOIN persons p USING (pid)
    WHERE v.signaaldatum BETWEEN $lookback_start AND $period_end
    GROUP BY p.hid
),
w AS (
    SELECT p.hid, count(*)::INTEGER AS n_wmo
    FROM wmo w JOIN persons p USING (pid)
    WHERE w.ingangsdatum <= $period_end AND (w.einddatum IS NULL OR w.einddatum >= $period_start)
    GROUP BY p.hid
)
SELECT
    $period                                     AS period,
    h.hid,
    h.buurtcode,
    h.n_personen,
    h.n_minderjarigen,
    h.n_75plus,
    u.hid IS NOT NULL                           AS uitkering,
    coalesce(u.inhouding, false)                AS inhouding,
    coalesce(u.budgetbeheer, false)             AS budgetbeheer,
    a.hid IS NOT NULL                           AS achterstand,
    coalesce(a.n_signalen, 0)                   AS n_signalen,
    coalesce(a.crisis, false)                   AS crisissignaal,
    w.hid IS NOT NULL                           AS wmo,
    (u.hid IS NOT NULL)::INTEGER + (a.hid IS NOT NULL)::INTEGER + (w.hid IS NOT NULL)::INTEGER AS n_domeinen
FROM households h
LEFT JOIN u USING (hid)
LEFT JOIN a USING (hid)
LEFT JOIN w USING (hid);
