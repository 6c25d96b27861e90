-- The arguments of a command sent by mention ("privacy forget confirm K7QX2M"), as a
-- JSON list of words. Only what the parser kept as arguments, never the post text, and
-- only until the mention is answered: a final status clears it.
ALTER TABLE x_mentions ADD COLUMN args TEXT NOT NULL DEFAULT '[]';

-- The id of the account's latest post, as X's user object reports it: the one-post
-- engagement probe reads that post instead of a whole sample when it can.
ALTER TABLE x_profiles ADD COLUMN latest_post_id TEXT;
