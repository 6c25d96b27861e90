-- events_actor (actor_id) was one of two indexes every ingested event updated at a
-- random page; dropping it made folds ~1.3x faster. What it served is answered without it:
-- - the rescore's largest account id (bot/storage/bulk.py) comes from accounts: an
--   event only ever names stored accounts (forget deletes a person's events before the
--   account, and an account is an orphan only when no event names it);
-- - privacy's "everything this person did" (footprint, forget, export, orphans) scans
--   events_rescore, which carries actor_id and is half the table's size: rare requests,
--   well under a second at a million events (bench/bench_privacy.py).
-- events_target stays: each /klout explanation reads a member's incoming actions.
DROP INDEX IF EXISTS events_actor;
