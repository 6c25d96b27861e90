-- The arguments of a command sent by mention ("privacy forget confirm K7QX2M"), as a
-- JSON list of words. Only what the parser kept as arguments, never the post text, and
-- only until the mention is answered: a final status clears it.
ALTER TABLE x_mentions ADD COLUMN args TEXT NOT NULL DEFAULT '[]';
