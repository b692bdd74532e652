-- The outcomes tables (intake.py), created when missing; the warehouse keeps them. The case key
-- and the fill-in values only: no name, address, free text (toelichting) or signal ID reaches them.
--
-- case_outcomes: what the wijkteam or the case system recorded for a case in the month of its list,
-- one row per (case_id, period); a later import of the same case and month replaces it.
CREATE TABLE IF NOT EXISTS case_outcomes (
    case_id        UUID,
    period         VARCHAR,    -- YYYY-MM: the month of the list (XLSX) or of the case's newest linked signal (DDAS)
    datum_opgepakt DATE,       -- the day the gemeente picked the case up; NULL: not (yet) picked up
    resultaat      VARCHAR,    -- DDAS v1.2 EnumEindresultaat; NULL: no end result yet
    source         VARCHAR,    -- lijst (a wijkteam's XLSX) | ddas (DDAS v1.2 vroegsignaalzaken JSON)
    file_sha256    VARCHAR,    -- SHA-256 of the file the row came from
    "row"          INTEGER     -- its sheet row (XLSX, header = 1) or its vroegsignaalzaak's position in the file (DDAS, from 1)
);
-- case_contacts: the contact attempts of a case in that month (replaced with its case_outcomes row).
CREATE TABLE IF NOT EXISTS case_contacts (
    case_id UUID,
    period  VARCHAR,
    seq     INTEGER,           -- the attempt's position in its file row or vroegsignaalzaak, from 1
    soort   VARCHAR,           -- DDAS v1.2 EnumContactsoort
    datum   DATE,
    dagdeel VARCHAR,           -- DDAS v1.2 EnumDagdeel (DDAS only; the list has no such column)
    bereikt BOOLEAN            -- NULL: not recorded
);
