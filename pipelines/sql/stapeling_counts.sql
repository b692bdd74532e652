-- Households per buurt and combination of problem domains, for one period.
SELECT buurtcode, uitkering, achterstand, wmo, count(*)::INTEGER AS n
FROM household_facts
WHERE period = $period
GROUP BY ALL
ORDER BY ALL;
