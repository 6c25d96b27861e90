-- Weekly leaderboard destinations: one schedule per place the bot posts to.
-- community is the community's external id on that platform (a guild id, the X
-- community, a console community); '' until the adapter tells us (config entries
-- for Discord name only a channel).
CREATE TABLE leaderboard_destinations (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    community TEXT NOT NULL DEFAULT '',
    destination TEXT NOT NULL,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    time TEXT NOT NULL,
    timezone TEXT NOT NULL,
    top INTEGER NOT NULL CHECK (top BETWEEN 1 AND 50),
    enabled INTEGER NOT NULL DEFAULT 1,
    source TEXT NOT NULL DEFAULT 'admin',
    -- Slots due before this moment (epoch s) are never posted: the schedule did not
    -- exist yet, or said something else, at the time.
    effective_from INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (platform, destination)
);

-- One row per (destination, period): claimed before posting, marked after. The
-- primary key is what makes a post happen at most once.
CREATE TABLE leaderboard_posts (
    destination_id INTEGER NOT NULL REFERENCES leaderboard_destinations (id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'posted', 'skipped', 'failed')),
    claimed_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    catch_up INTEGER NOT NULL DEFAULT 0,
    -- The board as it was at claim time, so a retried post has the same parts.
    payload TEXT,
    posted_at INTEGER,
    message_ids TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (destination_id, period)
) WITHOUT ROWID;
CREATE INDEX leaderboard_posts_state ON leaderboard_posts (state);

-- What the console adapter "posted" to a destination, so crash recovery can read the
-- bot's recent posts back as it does on Discord and X. Text here is the bot's own.
CREATE TABLE console_posts (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    text TEXT NOT NULL,
    posted_at INTEGER NOT NULL
);
CREATE INDEX console_posts_destination ON console_posts (destination, posted_at);
