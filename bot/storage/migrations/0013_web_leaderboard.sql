-- The public web leaderboard (bot/web/, docs/web.md), per community: 1 on, 0 or NULL
-- off (off unless an admin ran /kloutadmin web on).
ALTER TABLE guild_settings ADD COLUMN web_enabled INTEGER;
-- The community's part of its web address: random, made on the first /kloutadmin web on
-- and kept after, so a link stays the same when the board is turned off and on again.
-- Not the community's id: ids are sequential, and walking them would tell which servers
-- use the bot.
ALTER TABLE guild_settings ADD COLUMN web_slug TEXT;
CREATE UNIQUE INDEX guild_settings_web_slug ON guild_settings (web_slug)
    WHERE web_slug IS NOT NULL;

-- A member's page address on the web board: a random token, not their platform id
-- (a Discord user id is not on the board) nor the sequential account id. Made when a
-- board page first lists them. Per-account data: a forget deletes the row (account_id),
-- a wipe deletes the community's rows (community_id).
CREATE TABLE web_members (
    community_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    token TEXT NOT NULL UNIQUE,
    PRIMARY KEY (community_id, account_id)
) WITHOUT ROWID;
