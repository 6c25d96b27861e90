"""The public web leaderboard the bot serves itself (docs/web.md)."""
