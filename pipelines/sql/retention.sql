-- Retention (pipelines/retention.py, rule R1 of privacy/README.md "Bewaartermijnen").
-- {table} and {column} are identifiers from config/sources.yaml and the schema (never data);
-- the cutoff and the first month kept are bound as parameters.

-- name: dated_count
-- rows dated before the cutoff, per month of their date (a NULL date, a running uitkering, is kept)
SELECT strftime("{column}", '%Y-%m') AS period, count(*) AS n
FROM "{table}" WHERE "{column}" < $cutoff GROUP BY ALL ORDER BY period;

-- name: dated_delete
DELETE FROM "{table}" WHERE "{column}" < $cutoff;

-- name: period_count
-- rows of a month (YYYY-MM) before the first month kept
SELECT period, count(*) AS n FROM "{table}" WHERE period < $keep_from GROUP BY ALL ORDER BY period;

-- name: period_delete
DELETE FROM "{table}" WHERE period < $keep_from;

-- name: tables
SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'
ORDER BY table_name;

-- name: columns
SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main'
AND table_name = $table;
