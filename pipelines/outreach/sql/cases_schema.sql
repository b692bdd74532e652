-- The outreach tables, created when missing (the warehouse keeps them from month to month).
-- Pseudonyms and facts only: no name, address or BSN ever reaches these tables.
--
-- cases: one row per case and month in which the case received signals, with that month's
-- facts (a case carried over into a later month gets a new row there, under the same case_id).
CREATE TABLE IF NOT EXISTS cases (
    case_id              UUID,       -- derived from hid and the month the case opened
    period               VARCHAR,    -- YYYY-MM: the month of these signals
    hid                  UUID,       -- the address (household)
    buurtcode            VARCHAR,    -- the household's buurt when matched
    opened               VARCHAR,    -- YYYY-MM: the month the case opened
    status               VARCHAR,    -- open | closed (closed by the outcomes stage)
    n_signalen           INTEGER,    -- signals at the address in this month
    meervoudig           BOOLEAN,    -- 2 or more signals at the address in this month
    opeenvolgend         BOOLEAN,    -- a signal at the address in the 6 months before this month
    herhaalde_melding    BOOLEAN,    -- every signal of this month is a herhaalde melding
    n_herhaald           INTEGER,    -- how many signals of this month are herhaalde meldingen
    crisis               BOOLEAN,    -- a signal of this month is a crisissignaal
    partners             VARCHAR[],  -- the partner types of this month's signals, sorted, each once
    totaal_bedrag        BIGINT,     -- the sum of this month's amounts (euro); NULL if none is known
    eerste_signaaldatum  DATE,       -- the first signal date of this month
    laatste_signaaldatum DATE,       -- the last signal date of this month
    n_signalen_zaak      INTEGER     -- signals in the case so far, this month included
);
-- case_signals: which case each matched signal belongs to.
CREATE TABLE IF NOT EXISTS case_signals (
    sid               UUID,
    case_id           UUID,
    period            VARCHAR,
    hid               UUID,          -- the address the signal was matched to (history keeps it)
    pid               UUID,
    herhaalde_melding BOOLEAN        -- same partner type, same address, within 6 months, amount not higher
);
-- case_matching: one row per matched month, with its account: signals = in_cases + unmatched.
CREATE TABLE IF NOT EXISTS case_matching (
    period       VARCHAR,
    signals      INTEGER,           -- signals with a signal date in the month
    in_cases     INTEGER,           -- of which matched to an address and so to a case
    unmatched    INTEGER,           -- of which placed in no household (by person or by address)
    cases        INTEGER,           -- cases with signals this month
    new_cases    INTEGER,           -- of which opened this month
    carried_over INTEGER            -- of which still open from an earlier month
);
-- case_triage: the triage of each case in each month it received signals (triage.py).
CREATE TABLE IF NOT EXISTS case_triage (
    case_id     UUID,
    period      VARCHAR,
    team        VARCHAR,
    action      VARCHAR,
    priority    INTEGER,
    term        VARCHAR,
    deadline    DATE,
    expires     DATE,              -- the case stays open (new signals join it) up to this day
    rule        VARCHAR,           -- the rule that decided: the first whose conditions hold
    rules_fired VARCHAR[]          -- every rule whose conditions hold, in the file's order
);
-- case_lists: which cases of a month were on the signal lists of which selection (lists.py): the
-- monitor's "op een signaallijst" (only a listed case can have an outcome from a list).
CREATE TABLE IF NOT EXISTS case_lists (
    case_id   UUID,
    period    VARCHAR,
    selection VARCHAR
);
