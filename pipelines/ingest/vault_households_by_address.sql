-- vault_households.sql's second branch, when link gave vroegsignalen its `hid` (the one
-- household at the address of a client identified by address only; row_households.sql).
    UNION
    SELECT v.hid FROM vroegsignalen v
    WHERE v.signaaldatum BETWEEN $period_start AND $period_end AND v.hid IS NOT NULL
