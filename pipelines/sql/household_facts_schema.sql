CREATE TABLE IF NOT EXISTS household_facts (
    period          VARCHAR NOT NULL,
    hid             UUID NOT NULL,
    buurtcode       VARCHAR NOT NULL,
    n_personen      INTEGER NOT NULL,
    n_minderjarigen INTEGER NOT NULL,
    n_75plus        INTEGER NOT NULL,
    uitkering       BOOLEAN NOT NULL,
    inhouding       BOOLEAN NOT NULL,
    budgetbeheer    BOOLEAN NOT NULL,
    achterstand     BOOLEAN NOT NULL,
    n_signalen      INTEGER NOT NULL,
    crisissignaal   BOOLEAN NOT NULL,
    wmo             BOOLEAN NOT NULL,
    n_domeinen      INTEGER NOT NULL
);
