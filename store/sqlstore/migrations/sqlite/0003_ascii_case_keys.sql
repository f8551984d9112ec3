-- email_key and name_key fold ASCII letters only (provisioning.EmailKey and
-- NameKey); keys written by version 1 folded with Unicode rules. The keys
-- are recomputed by Go code that Migrate runs right after this file, in the
-- same transaction (rekeyFolded in rekey.go); this file only records the
-- version.
SELECT 1;
