-- Households per buurt and combination of problem domains, for one period. rk is the sum
-- of the households' record keys for the cell-key method (privacy/cellkey.py): the low
-- 32 bits of the md5 of the household pseudonym; 0 unless $record_keys.
SELECT buurtcode, uitkering, achterstand, wmo, count(*)::INTEGER AS n,
       sum(CASE WHEN $record_keys THEN md5_number_lower(hid::VARCHAR) % 4294967296 ELSE 0 END)::BIGINT AS rk
FROM household_facts
WHERE period = $period
GROUP BY ALL
ORDER BY ALL;
