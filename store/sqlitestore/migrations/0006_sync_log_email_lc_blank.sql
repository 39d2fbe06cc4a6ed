-- sync_log.email_lc is '' from now on when the email is already folded (as every email the engine
-- logs is): the filter on the folded address then compares email. Blank it in the rows written
-- before, which held the same address twice.
UPDATE {p}sync_log SET email_lc = '' WHERE email_lc = email;
