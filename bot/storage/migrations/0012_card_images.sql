-- Whether /klout and /leaderboard answers carry an image in this community (1 on,
-- 0 off); NULL follows the operator's [cards] enabled_by_default.
ALTER TABLE guild_settings ADD COLUMN cards_enabled INTEGER;
