-- The rescore reads every event of a window. This index holds everything it
-- needs, so that read is one range scan that never visits the table (whose
-- rows also carry channel and source). events_window is its prefix, so it goes.
-- Being an index, SQLite keeps it in step with every insert and delete: the
-- events table stays the one source of truth.
CREATE INDEX events_rescore ON events (community_id, ts, actor_id, target_id, kind, weight);
DROP INDEX IF EXISTS events_window;

-- "Anything new since the last rescore?" is max(id) per community: one seek here
-- instead of a scan of the community's events (ids grow, so inserts append).
CREATE INDEX events_community_id ON events (community_id, id);

-- Events whose weight is not the default 1 are read one by one (their float must
-- arrive exactly); this partial index finds the few there are without a scan.
CREATE INDEX events_weighted ON events (community_id, ts) WHERE weight <> 1.0;

-- Only accounts whose facts differ from the defaults matter to a rescore.
CREATE INDEX accounts_facts ON accounts (id, is_bot, followers, listed)
    WHERE is_bot <> 0 OR followers IS NOT NULL OR listed IS NOT NULL;
