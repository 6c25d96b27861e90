"""Weekly leaderboard posts: schedules, the board, pagination, and exactly-once posting."""
