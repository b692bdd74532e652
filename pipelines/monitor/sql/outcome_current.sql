-- What the warehouse holds for the cases of an import (registered as `outcome_keys`).
SELECT CAST(o.case_id AS VARCHAR) AS case_id, o.period, o.datum_opgepakt, o.resultaat,
       list([c.soort, CAST(c.datum AS VARCHAR), c.dagdeel, CAST(c.bereikt AS VARCHAR)] ORDER BY c.seq)
           FILTER (WHERE c.seq IS NOT NULL) AS contacts
FROM case_outcomes o
JOIN outcome_keys k ON k.case_id = CAST(o.case_id AS VARCHAR) AND k.period = o.period
LEFT JOIN case_contacts c ON c.case_id = o.case_id AND c.period = o.period
GROUP BY ALL
