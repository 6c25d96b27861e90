-- Ingestion appends here; EventWriter folds batches into events (deduplicating there).
-- Every insert into events updates seven b-trees, two of them (events_actor,
-- events_target) at random pages: committed 500 rows at a time that rewrote most of
-- those pages per commit and capped ingestion near 60k rows/s. This table has no
-- secondary index, so a small commit appends to its last pages only; the fold then
-- touches each index page once per few thousand rows, in one statement run by SQLite.
-- Exactly once: a fold inserts (OR IGNORE, against events_dedupe) and deletes what it
-- folded in one transaction, so a crash leaves every row either here or in events.
-- Readers that need completeness (rescore, removals, reply lookups, privacy) fold first.
-- Forget and wipe reach these rows through actor_id/target_id and community_id.
CREATE TABLE event_inbox (
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
