-- achterstand: a vroegsignaal with signaaldatum in the look-back window that ends at the
-- period end (achterstand_lookback_months months).
SELECT p.hid
FROM vroegsignalen v JOIN persons p USING (pid)
WHERE v.signaaldatum BETWEEN $lookback_start AND $period_end
