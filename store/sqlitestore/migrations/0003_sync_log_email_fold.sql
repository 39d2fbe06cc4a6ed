-- sync_log.email_lc is hubsync.FoldEmail(email) from now on: trimmed as well as lower-cased.
-- Rows written before were only lower-cased; trim the ASCII white space around the few whose
-- address had any, so a filter on the folded address finds them too.
UPDATE {p}sync_log SET email_lc = trim(email_lc, char(32, 9, 10, 11, 12, 13))
WHERE email_lc <> trim(email_lc, char(32, 9, 10, 11, 12, 13));
