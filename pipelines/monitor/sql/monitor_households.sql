-- The monitor's facts of a month (indicators.py): one row per household (address) with a case that
-- received signals in the month, from the outreach tables (cases, case_triage) and the outcomes
-- (case_outcomes, case_contacts). Pseudonyms and facts only. Registered as the temp table
-- monitor_households; $accepted: the DDAS v1.2 end results that mean help was accepted.
CREATE OR REPLACE TEMP TABLE monitor_households AS
WITH attempts AS (
    SELECT case_id,
           min(datum)                                                 AS eerste_contact,
           bool_or(coalesce(bereikt, false))                          AS bereikt,
           list_sort(list_distinct(list(soort)))                      AS soorten,
           list_sort(list_distinct(list(soort) FILTER (WHERE bereikt))) AS soorten_bereikt
    FROM case_contacts WHERE period = $period GROUP BY case_id
),
per_case AS (
    SELECT c.case_id, c.hid, c.opened = $period AS nieuw, c.meervoudig, c.opeenvolgend, c.crisis, c.partners,
           o.datum_opgepakt IS NOT NULL                               AS opgepakt,
           o.resultaat,
           a.case_id IS NOT NULL                                      AS contactpoging,
           coalesce(a.bereikt, false)                                 AS bereikt,
           coalesce(a.soorten, [])                                    AS soorten,
           coalesce(a.soorten_bereikt, [])                            AS soorten_bereikt,
           a.eerste_contact IS NOT NULL AND a.eerste_contact <= t.deadline AS binnen_termijn,
           EXISTS (SELECT 1 FROM case_lists l WHERE l.case_id = c.case_id AND l.period = c.period) AS op_lijst
    FROM cases c
    LEFT JOIN case_outcomes o ON o.case_id = c.case_id AND o.period = c.period
    LEFT JOIN attempts a ON a.case_id = c.case_id
    LEFT JOIN case_triage t ON t.case_id = c.case_id AND t.period = c.period
    WHERE c.period = $period AND c.hid IS NOT NULL
)
-- a household has one case in a month (cases.py); should it have more, their facts are joined
SELECT hid,
       bool_or(nieuw)                                                 AS nieuw,
       bool_or(meervoudig)                                            AS meervoudig,
       bool_or(opeenvolgend)                                          AS opeenvolgend,
       bool_or(crisis)                                                AS crisis,
       list_sort(list_distinct(flatten(list(partners))))              AS partners,
       bool_or(op_lijst)                                              AS op_lijst,
       bool_or(opgepakt)                                              AS opgepakt,
       bool_or(contactpoging)                                         AS contactpoging,
       bool_or(bereikt)                                               AS bereikt,
       bool_or(list_contains($accepted, resultaat))                   AS hulp_geaccepteerd,
       bool_or(binnen_termijn)                                        AS binnen_termijn,
       min(resultaat)                                                 AS resultaat,
       list_sort(list_distinct(flatten(list(soorten))))               AS soorten,
       list_sort(list_distinct(flatten(list(soorten_bereikt))))       AS soorten_bereikt
FROM per_case
GROUP BY hid
ORDER BY hid
