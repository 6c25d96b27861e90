-- Communities: a Discord guild, the X network, or a console community.
CREATE TABLE communities (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT,
    removed_at INTEGER,
    UNIQUE (platform, external_id)
);

-- Accounts on a platform. No message text is ever stored anywhere.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    handle TEXT,
    display_name TEXT,
    is_bot INTEGER NOT NULL DEFAULT 0,
    followers INTEGER,
    listed INTEGER,
    opted_out INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER,
    UNIQUE (platform, external_id)
);
CREATE INDEX accounts_handle ON accounts (platform, handle COLLATE NOCASE);

-- Membership and per-community display name (Discord nicknames differ per guild).
CREATE TABLE members (
    community_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    display_name TEXT,
    last_seen INTEGER,
    PRIMARY KEY (community_id, account_id)
) WITHOUT ROWID;
CREATE INDEX members_account ON members (account_id);

-- Interaction events: who acted on whom, how, where and when. target_id 0 = none.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    actor_id INTEGER NOT NULL,
    target_id INTEGER NOT NULL DEFAULT 0,
    ts INTEGER NOT NULL,
    channel TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    weight REAL NOT NULL DEFAULT 1.0
);
-- Replays (gateway resume, backfill, restarts) must never count an action twice.
CREATE UNIQUE INDEX events_dedupe ON events (community_id, source, kind, actor_id, target_id);
CREATE INDEX events_window ON events (community_id, ts);
CREATE INDEX events_target ON events (target_id, community_id);
CREATE INDEX events_actor ON events (actor_id);

-- Latest score per member of a community, with its rank for O(1) lookups.
CREATE TABLE scores (
    community_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    score INTEGER NOT NULL,
    raw REAL NOT NULL,
    rank INTEGER NOT NULL,
    -- What this member confers per unit of action; explanations of others need it.
    give_rate REAL NOT NULL DEFAULT 0,
    model_version TEXT NOT NULL,
    computed_at INTEGER NOT NULL,
    PRIMARY KEY (community_id, account_id)
) WITHOUT ROWID;
CREATE INDEX scores_rank ON scores (community_id, rank);

-- Daily snapshots; day = days since the Unix epoch (UTC).
CREATE TABLE score_history (
    community_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    score INTEGER NOT NULL,
    model_version TEXT NOT NULL,
    PRIMARY KEY (community_id, account_id, day)
) WITHOUT ROWID;
CREATE INDEX score_history_day ON score_history (community_id, day);

-- When each community was last rescored, and how much was ingested since.
CREATE TABLE rescore_state (
    community_id INTEGER PRIMARY KEY,
    computed_at INTEGER NOT NULL,
    events_seen INTEGER NOT NULL
);
