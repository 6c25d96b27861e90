"""`klout-bot status`: what the X adapter spent and how its mentions stand.

Reads the database read-only, so it is safe while the bot runs.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAME = "status"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="show X API spend against the budgets, and mentions answered",
        description="Billable X API reads and writes today and this month (UTC), counted "
                    "from the responses the bot got, their estimated cost at X's prices, "
                    "the configured budgets, and how many mentions were answered, are "
                    "pending or failed.")
    parser.add_argument("--db", metavar="PATH", help="SQLite file (default from config)")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace, config: Any) -> int:
    # Imported here: bot/cli.py imports this module to build its parser, and
    # `klout-bot score` should not pay for storage and asyncio.
    import asyncio

    from bot.storage import StorageError

    db = args.db or config.storage.path
    if not Path(db).exists():
        sys.stderr.write(f"klout-bot: no database at {db}; the bot has not run there yet\n")
        return 1
    try:
        text = asyncio.run(status_text(db, config, datetime.now(UTC)))
    except StorageError as exc:
        sys.stderr.write(f"klout-bot: {exc}\n")
        return 1
    sys.stdout.write(text + "\n")
    return 0


def _money(value: Any) -> str:
    return f"${value:.3f}"


async def status_text(db: str, config: Any, now: datetime) -> str:
    from bot.adapters.x_spend import KINDS, cost_of, day_number, month_days, prices_with
    from bot.storage import Storage
    from bot.storage.twitter import TwitterRepository

    async with Storage(db, read_only=True) as store:
        tables = await store.db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'x_spend'")
        if not tables:
            return f"No X activity recorded in {db}."
        repo = TwitterRepository(store.db)
        today = day_number(now)
        first, _ = month_days(today)
        day_counts = await repo.spend(today, today)
        month_counts = await repo.spend(first, today)
        statuses = await repo.status_counts()
    daily = config.twitter.daily_budget_usd
    monthly = config.twitter.monthly_budget_usd
    prices = prices_with(config.twitter.media_upload_usd)
    day_usd, month_usd = cost_of(day_counts, prices), cost_of(month_counts, prices)
    lines = [f"X API spend, counted from the responses (UTC {now:%Y-%m-%d}, month "
             f"{now:%Y-%m}):",
             f"  {'kind':<14}{'price':>8}{'today':>8}{'cost':>10}{'month':>9}{'cost':>10}"]
    for kind in KINDS:
        d, m = day_counts.get(kind, 0), month_counts.get(kind, 0)
        price = prices[kind]
        lines.append(f"  {kind:<14}{_money(price):>8}{d:>8}{_money(price * d):>10}"
                     f"{m:>9}{_money(price * m):>10}")
    lines.append(f"  {'total':<14}{'':>8}{'':>8}{_money(day_usd):>10}{'':>9}"
                 f"{_money(month_usd):>10}")
    lines.append(f"Budgets: daily ${daily:.2f} ({_share(day_usd, daily)} used), "
                 f"monthly ${monthly:.2f} ({_share(month_usd, monthly)} used)")
    lines.append(
        f"Mentions: answered {statuses.get('replied', 0)}, "
        f"pending {statuses.get('claimed', 0) + statuses.get('posting', 0)} "
        f"(outcome unknown {statuses.get('posting', 0)}), failed {statuses.get('failed', 0)}, "
        f"skipped {statuses.get('skipped', 0)}")
    return "\n".join(lines)


def _share(spent: Any, budget: float) -> str:
    if budget <= 0:
        return "n/a"
    return f"{float(spent) / budget:.0%}"
