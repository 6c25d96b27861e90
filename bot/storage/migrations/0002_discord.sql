-- Per-community settings that server admins change with /kloutadmin.
-- community_id is communities.id (a Discord guild is one community).
CREATE TABLE guild_settings (
    community_id INTEGER PRIMARY KEY,
    -- Where and when the weekly leaderboard is posted; NULL channel = not scheduled.
    leaderboard_channel TEXT,
    leaderboard_weekday TEXT NOT NULL DEFAULT 'mon',
    leaderboard_time TEXT NOT NULL DEFAULT '09:00',
    leaderboard_timezone TEXT NOT NULL DEFAULT 'UTC',
    leaderboard_top INTEGER NOT NULL DEFAULT 10,
    updated_at INTEGER
);

-- What does not count: channels, roles and users (bots included) by platform id.
CREATE TABLE guild_exclusions (
    community_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('channel', 'role', 'user')),
    external_id TEXT NOT NULL,
    PRIMARY KEY (community_id, kind, external_id)
) WITHOUT ROWID;

-- Optional role reward per tier.
CREATE TABLE tier_roles (
    community_id INTEGER NOT NULL,
    tier TEXT NOT NULL,
    role_id TEXT NOT NULL,
    PRIMARY KEY (community_id, tier)
) WITHOUT ROWID;

-- The reward role each member was last given, so a rescore only touches members whose tier
-- changed (mass role edits are what earn leveling bots their 429s).
CREATE TABLE tier_role_grants (
    community_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    role_id TEXT NOT NULL,
    PRIMARY KEY (community_id, account_id)
) WITHOUT ROWID;

-- History backfill, per channel: the span of message ids already read. A restart resumes
-- below oldest_id (and above newest_id for messages that arrived meanwhile).
CREATE TABLE backfill_progress (
    community_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    oldest_id INTEGER NOT NULL,
    newest_id INTEGER NOT NULL,
    -- Set once the channel has been read back to the window's start.
    complete INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (community_id, channel)
) WITHOUT ROWID;

-- The few accounts that opted out, so a rank or member count "among those who didn't"
-- starts from them instead of scanning a community's scores (1M rows in a big server).
CREATE INDEX accounts_opted_out_ids ON accounts (id) WHERE opted_out = 1;
