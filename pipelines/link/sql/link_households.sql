-- Persons -> households -> buurt. A household lives in the buurt of its members;
-- several_buurten flags a household whose members the BRP places in different buurten.
CREATE OR REPLACE TABLE households AS
SELECT
    hid,
    min(buurtcode)                                               AS buurtcode,
    count(*)::INTEGER                                            AS n_personen,
    count(*) FILTER (WHERE geboortejaar > $year - 18)::INTEGER   AS n_minderjarigen,
    count(*) FILTER (WHERE geboortejaar <= $year - 75)::INTEGER  AS n_75plus,
    min(buurtcode) <> max(buurtcode)                             AS several_buurten
FROM persons
GROUP BY hid;
