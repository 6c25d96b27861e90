-- When each account was created on its platform (epoch seconds; NULL = unknown). The
-- earned base counts an account's tenure from the older of this and its first event
-- seen, so a member whose account is years old is trusted the day the bot joins their
-- server, while a throwaway's creation time is as recent as the attack. Per-account
-- data: forget deletes it with the account row.
ALTER TABLE accounts ADD COLUMN created_at INTEGER;

-- A Discord user id is a snowflake whose top bits are its creation time in ms since
-- 2015-01-01 (bot/adapters/discord_ingest.py, snowflake_time), so the Discord accounts
-- already stored get theirs now; ingestion sets it for new ones, X lookups for X.
UPDATE accounts
SET created_at = ((CAST(external_id AS INTEGER) >> 22) + 1420070400000) / 1000
WHERE platform = 'discord' AND external_id <> '' AND external_id NOT GLOB '*[^0-9]*'
    AND length(external_id) <= 19;

-- The rescore reads (id, created_at) of every account with a known one in one scan of
-- this index, never visiting the table.
CREATE INDEX accounts_created ON accounts (id, created_at) WHERE created_at IS NOT NULL;
