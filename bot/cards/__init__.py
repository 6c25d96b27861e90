"""Score cards and leaderboards as PNG images (see docs/cards.md)."""
