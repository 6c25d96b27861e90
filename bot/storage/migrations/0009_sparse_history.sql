-- Score history becomes sparse: a member gets a row on the day their score or
-- model version changes, a row with score NULL on the day they stop being
-- scored, and nothing on the days in between. Readers carry the latest row on
-- or before a day forward. Dense daily snapshots made a new day's first rescore
-- rewrite nearly every page of the table (17-25 s at 1M members holding 30 days).
--
-- Existing dense rows are compacted. A row is kept when it is the member's first,
-- differs from their previous row, or follows a day the community was rescored
-- without them; such a day gets a NULL row (they were not scored then). A day
-- "was rescored" when any member of the community has a row for it.
CREATE TABLE score_history_sparse (
    community_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    -- NULL: not scored from this day on, until the member's next row.
    score INTEGER,
    model_version TEXT NOT NULL,
    PRIMARY KEY (community_id, account_id, day)
) WITHOUT ROWID;

CREATE TEMP TABLE rescored_days (
    community_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    next_day INTEGER,
    PRIMARY KEY (community_id, day)
) WITHOUT ROWID;

INSERT INTO temp.rescored_days (community_id, day, next_day)
SELECT community_id, day, lead(day) OVER (PARTITION BY community_id ORDER BY day)
FROM (SELECT DISTINCT community_id, day FROM score_history);

-- Consecutive days cannot hide a rescore between them, so the lookups into
-- rescored_days happen only across calendar gaps (rare in a daily history).
INSERT INTO score_history_sparse (community_id, account_id, day, score, model_version)
SELECT community_id, account_id, day, score, model_version FROM (
    SELECT community_id, account_id, day, score, model_version,
           lag(day) OVER member AS prev_day, lag(score) OVER member AS prev_score,
           lag(model_version) OVER member AS prev_model
    FROM score_history
    WINDOW member AS (PARTITION BY community_id, account_id ORDER BY day)
) h
WHERE prev_day IS NULL OR score <> prev_score OR model_version <> prev_model
   OR (day > prev_day + 1 AND (SELECT r.next_day FROM temp.rescored_days r
        WHERE r.community_id = h.community_id AND r.day = h.prev_day) < day);

INSERT INTO score_history_sparse (community_id, account_id, day, score, model_version)
SELECT community_id, account_id, gone_day, NULL, model_version FROM (
    SELECT h.community_id, h.account_id, h.model_version, h.next_row,
           (SELECT r.next_day FROM temp.rescored_days r
            WHERE r.community_id = h.community_id AND r.day = h.day) AS gone_day
    FROM (
        SELECT community_id, account_id, day, model_version,
               lead(day) OVER member AS next_row
        FROM score_history
        WINDOW member AS (PARTITION BY community_id, account_id ORDER BY day)
    ) h
    WHERE h.next_row IS NULL OR h.next_row > h.day + 1
)
WHERE gone_day IS NOT NULL AND (next_row IS NULL OR next_row > gone_day);

DROP TABLE temp.rescored_days;
DROP TABLE score_history;
ALTER TABLE score_history_sparse RENAME TO score_history;
-- Pruning walks each community's oldest rows through this.
CREATE INDEX score_history_day ON score_history (community_id, day);
