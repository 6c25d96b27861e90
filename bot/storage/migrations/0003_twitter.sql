-- X (Twitter) adapter state. Post text is never stored: a mention row keeps what the
-- answer needs (who asked, about whom, the parsed command), not what they wrote.

-- Every mention the bot will answer is claimed here (INSERT OR IGNORE, committed)
-- before any reply is attempted. status:
--   claimed  nothing posted yet (safe to post)
--   posting  a reply was sent and its outcome is unknown until the bot's own
--            timeline has been checked (never re-posted before that check)
--   replied  reply_id is the bot's reply
--   failed   a final refusal (deleted, protected, not allowed); detail says why
--   skipped  deliberately not answered (loop guard, per-author cap, not a question)
CREATE TABLE x_mentions (
    post_id TEXT PRIMARY KEY,
    author_id TEXT NOT NULL,
    author_handle TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    is_reply INTEGER NOT NULL DEFAULT 0,
    command TEXT NOT NULL DEFAULT '',
    -- JSON [[user id or "", username], ...] and [username, ...]
    targets TEXT NOT NULL DEFAULT '[]',
    unresolved TEXT NOT NULL DEFAULT '[]',
    -- A UserError raised while parsing: its key and JSON context.
    error_key TEXT,
    error_context TEXT,
    status TEXT NOT NULL DEFAULT 'claimed',
    attempts INTEGER NOT NULL DEFAULT 0,
    reply_id TEXT,
    -- The bot's own pending reply, kept only until it is confirmed, so a retry after
    -- an unknown outcome sends the same words (X then refuses a duplicate).
    reply_text TEXT,
    detail TEXT,
    created_at INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,
    answered_at INTEGER
);
CREATE INDEX x_mentions_status ON x_mentions (status, post_id);
CREATE INDEX x_mentions_author ON x_mentions (author_id, answered_at);
CREATE INDEX x_mentions_conversation ON x_mentions (conversation_id, author_id);

-- Small key/value state: the bot's id and handle, the first-run floor, the newest mention.
CREATE TABLE x_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Billable resources as X charges them: each (UTC day, kind, resource id) once.
-- day = days since the Unix epoch (UTC). Old days are pruned; x_spend keeps totals.
CREATE TABLE x_charges (
    day INTEGER NOT NULL,
    kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (day, kind, resource_id)
) WITHOUT ROWID;

CREATE TABLE x_spend (
    day INTEGER NOT NULL,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, kind)
) WITHOUT ROWID;

-- Public profiles and engagement samples of X accounts, so repeat questions cost no read.
-- status: ok | missing (not found or suspended) | protected (posts not visible)
CREATE TABLE x_profiles (
    user_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok',
    followers INTEGER,
    listed INTEGER,
    fetched_at INTEGER NOT NULL,
    posts_sampled INTEGER,
    avg_likes REAL,
    avg_retweets REAL,
    avg_replies REAL,
    avg_quotes REAL,
    posts_at INTEGER
);
CREATE INDEX x_profiles_username ON x_profiles (username COLLATE NOCASE);

-- Hashes of what the bot posted, so no new post repeats one (X refuses duplicates).
CREATE TABLE x_sent (
    text_hash TEXT PRIMARY KEY,
    mention_id TEXT NOT NULL DEFAULT '',
    sent_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX x_sent_at ON x_sent (sent_at);
