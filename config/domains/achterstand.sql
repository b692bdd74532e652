-- achterstand: a vroegsignaal with signaaldatum in the look-back window that ends at the
-- period end (achterstand_lookback_months months). The signal's household (hid) is set by the
-- link stage: its person's, or, for a DDAS v1.2 client identified by address, the one
-- household at that address (NULL when the signal is not linked: not counted here).
SELECT v.hid
FROM vroegsignalen v
WHERE v.hid IS NOT NULL AND v.signaaldatum BETWEEN $lookback_start AND $period_end
