-- Vault records before they are written: the first row whose pid or hid is not a pseudonym
-- (UUID), and the first row that repeats an earlier row's pid. Rows by number, never by value.
WITH r AS (
    SELECT _row, TRY_CAST(CAST(pid AS VARCHAR) AS UUID) AS pid, TRY_CAST(CAST(hid AS VARCHAR) AS UUID) AS hid
    FROM vault_records
)
SELECT
    (SELECT min(_row) FROM r WHERE pid IS NULL)                              AS bad_pid,
    (SELECT min(_row) FROM r WHERE hid IS NULL)                              AS bad_hid,
    (SELECT min(_row) FROM (
        SELECT _row, row_number() OVER (PARTITION BY pid ORDER BY _row) AS n FROM r WHERE pid IS NOT NULL
     ) WHERE n > 1)                                                          AS duplicate_pid;
