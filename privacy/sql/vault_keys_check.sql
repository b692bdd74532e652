-- The first wanted key (by position) that is not a pseudonym (UUID).
SELECT min(_n) FROM vault_keys WHERE TRY_CAST(CAST(k AS VARCHAR) AS UUID) IS NULL;
