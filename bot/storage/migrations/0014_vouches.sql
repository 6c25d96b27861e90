-- Members an admin vouched for (/kloutadmin vouch): trust seeds of their community's
-- scores (docs/scoring.md, "Trust seeds"). account_id is an accounts.id, so forgetting
-- the person deletes their rows; opting out deletes them too (privacy.set_opted_out).
CREATE TABLE vouches (
    community_id INTEGER NOT NULL REFERENCES communities(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    vouched_at INTEGER NOT NULL,
    PRIMARY KEY (community_id, account_id)
) WITHOUT ROWID;
