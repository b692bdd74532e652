-- monitor_snapshots: the monitor's facts of a month as the first release that published its monitor
-- tables had them (indicators.py): every later release of the month tabulates its monitor from
-- these rows, so that what it publishes equals what was published and every relation between
-- them is exact. Pseudonyms and facts only; written before that release is committed.
CREATE TABLE IF NOT EXISTS monitor_snapshots (
    period            VARCHAR,
    release_id        VARCHAR,
    hid               UUID,
    nieuw             BOOLEAN,
    meervoudig        BOOLEAN,
    opeenvolgend      BOOLEAN,
    crisis            BOOLEAN,
    partners          VARCHAR[],
    op_lijst          BOOLEAN,
    opgepakt          BOOLEAN,
    contactpoging     BOOLEAN,
    bereikt           BOOLEAN,
    hulp_geaccepteerd BOOLEAN,
    binnen_termijn    BOOLEAN,
    resultaat         VARCHAR,
    soorten           VARCHAR[],
    soorten_bereikt   VARCHAR[]
);
