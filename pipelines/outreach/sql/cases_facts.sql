-- One row per case with signals this month, with the month's facts (see cases_schema.sql).
INSERT INTO cases
WITH sig AS (
    SELECT cs.case_id, cs.hid, s.signaalpartner, s.bedrag, s.signaaldatum, s.crisis, cs.herhaalde_melding
    FROM case_signals cs JOIN outreach_signals s ON s.sid = cs.sid
    WHERE cs.period = $period
),
month AS (
    SELECT
        case_id,
        min(hid)                                            AS hid,
        count(*)::INTEGER                                   AS n_signalen,
        bool_and(herhaalde_melding)                         AS herhaalde_melding,
        count(*) FILTER (WHERE herhaalde_melding)::INTEGER  AS n_herhaald,
        bool_or(crisis)                                     AS crisis,
        list_sort(list_distinct(list(signaalpartner)))      AS partners,
        sum(bedrag)::BIGINT                                 AS totaal_bedrag,
        min(signaaldatum)                                   AS eerste_signaaldatum,
        max(signaaldatum)                                   AS laatste_signaaldatum
    FROM sig GROUP BY case_id
),
prior AS (
    SELECT case_id, min(opened) AS opened, arg_max(status, period) AS status, sum(n_signalen) AS n_before
    FROM cases WHERE period < $period GROUP BY case_id
),
earlier AS (SELECT DISTINCT hid FROM outreach_history)
SELECT
    m.case_id,
    $period                                       AS period,
    m.hid,
    hh.buurtcode,
    coalesce(p.opened, $period)                   AS opened,
    coalesce(p.status, 'open')                    AS status,
    m.n_signalen,
    m.n_signalen >= 2                             AS meervoudig,
    e.hid IS NOT NULL                             AS opeenvolgend,
    m.herhaalde_melding,
    m.n_herhaald,
    m.crisis,
    m.partners,
    m.totaal_bedrag,
    m.eerste_signaaldatum,
    m.laatste_signaaldatum,
    (coalesce(p.n_before, 0) + m.n_signalen)::INTEGER AS n_signalen_zaak
FROM month m
LEFT JOIN prior p ON p.case_id = m.case_id
LEFT JOIN earlier e ON e.hid = m.hid
LEFT JOIN households hh ON hh.hid = m.hid
ORDER BY m.case_id;
