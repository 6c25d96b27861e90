"""What the bot spends on the X API, counted from the responses it gets, and the caps.

X bills pay-per-use by resource: every post or user a response returns is a read, every
created post a write, and each (UTC day, kind, resource id) is charged once. We count
the same way, persist it (bot/storage/twitter.py), and check every call's worst case
against the daily and monthly budgets BEFORE it is made, so the bot never overspends
without saying so: a call that might cross a cap raises BudgetExceeded instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.clock import Clock
from bot.storage.twitter import TwitterRepository

log = logging.getLogger(__name__)

DAY_S = 86_400
#: X's pay-per-use prices in US dollars per resource (2026).
PRICES: dict[str, Decimal] = {
    "post_read": Decimal("0.005"),
    "user_read": Decimal("0.010"),
    "owned_read": Decimal("0.001"),
    "post_create": Decimal("0.015"),
    "reply_create": Decimal("0.010"),
    # X's rate card lists no price for POST /2/media/upload; this assumes it is billed
    # per request like its nearest neighbour, "Media Metadata" ($0.005). The operator
    # sets the real figure with [twitter] media_upload_usd (prices_with).
    "media_upload": Decimal("0.005"),
}
KINDS = tuple(PRICES)
# Charge rows older than this are pruned; x_spend keeps the totals.
KEEP_CHARGE_DAYS = 3


class BudgetExceeded(Exception):
    """A call could cross a spending cap (ours, or X's usage cap). Pause until `until`."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(f"{reason}; paused until {until.isoformat()}")
        self.reason = reason
        self.until = until


def day_number(when: datetime) -> int:
    return int(when.timestamp() // DAY_S)


def day_start(day: int) -> datetime:
    return datetime.fromtimestamp(day * DAY_S, tz=UTC)


def month_days(day: int) -> tuple[int, int]:
    """First and last day number of the UTC calendar month containing `day`."""
    first = day_start(day).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return day_number(first), day_number(following) - 1


def prices_with(media_upload_usd: float | None = None) -> dict[str, Decimal]:
    """X's prices, with the configured price of a media upload."""
    prices = dict(PRICES)
    if media_upload_usd is not None:
        prices["media_upload"] = Decimal(str(media_upload_usd))
    return prices


def cost_of(counts: Mapping[str, int], prices: Mapping[str, Decimal] = PRICES) -> Decimal:
    return sum((prices[k] * n for k, n in counts.items() if k in prices), Decimal("0"))


@dataclass(frozen=True, slots=True)
class SpendReport:
    today: dict[str, int]
    month: dict[str, int]
    daily_budget: Decimal
    monthly_budget: Decimal
    prices: Mapping[str, Decimal] = field(default_factory=lambda: dict(PRICES))

    @property
    def today_usd(self) -> Decimal:
        return cost_of(self.today, self.prices)

    @property
    def month_usd(self) -> Decimal:
        return cost_of(self.month, self.prices)


class SpendTracker:
    """Counts billable resources and enforces the budgets. Call `load()` once first."""

    def __init__(self, repo: TwitterRepository, clock: Clock, *, daily_usd: float,
                 monthly_usd: float, prices: Mapping[str, Decimal] = PRICES) -> None:
        self.repo = repo
        self.prices = dict(prices)
        self.clock = clock
        self.daily_budget = Decimal(str(daily_usd))
        self.monthly_budget = Decimal(str(monthly_usd))
        self._day = -1
        self._charged: set[tuple[str, str]] = set()
        self._today: dict[str, int] = {}
        self._month: dict[str, int] = {}

    async def load(self) -> None:
        await self._roll(force=True)

    async def _roll(self, force: bool = False) -> None:
        today = day_number(self.clock.now())
        if today == self._day and not force:
            return
        self._day = today
        self._charged = await self.repo.charged_on(today)
        self._today = await self.repo.spend(today, today)
        first, _ = month_days(today)
        self._month = await self.repo.spend(first, today)
        await self.repo.prune_charges(today - KEEP_CHARGE_DAYS)

    async def record(self, kind: str, resource_ids: Iterable[str],
                     at: datetime | None = None) -> int:
        """Count resources a response returned; returns how many were newly billable."""
        if kind not in self.prices:
            raise ValueError(f"unknown billable kind {kind!r}")
        ids = [str(r) for r in resource_ids]
        if not ids:
            return 0
        await self._roll()
        day = day_number(at or self.clock.now())
        fresh = await self.repo.charge(day, kind, ids)
        if day == self._day and fresh:
            self._charged.update((kind, r) for r in fresh)
            self._today[kind] = self._today.get(kind, 0) + len(fresh)
            self._month[kind] = self._month.get(kind, 0) + len(fresh)
        elif fresh:  # a charge learnt late (a reply found after a crash): reload totals
            await self._roll(force=True)
        return len(fresh)

    def uncharged(self, kind: str, resource_ids: Iterable[str]) -> list[str]:
        return [r for r in dict.fromkeys(resource_ids) if (kind, r) not in self._charged]

    async def worst_case(self, kind: str, resource_ids: Iterable[str]) -> Decimal:
        """What reading these known resources could cost today (already-billed ones are free)."""
        await self._roll()
        return self.prices[kind] * len(self.uncharged(kind, resource_ids))

    async def headroom(self) -> Decimal:
        """Dollars left before the tighter of the two caps."""
        await self._roll()
        return min(self.daily_budget - cost_of(self._today, self.prices),
                   self.monthly_budget - cost_of(self._month, self.prices))

    async def check(self, worst_case: Decimal, what: str, *,
                    keep: Decimal = Decimal("0")) -> None:
        """Raise BudgetExceeded unless `worst_case` more (plus `keep`, money held back for
        something more important) still fits under both caps."""
        await self._roll()
        today_usd = cost_of(self._today, self.prices) + keep
        month_usd = cost_of(self._month, self.prices) + keep
        if today_usd + worst_case > self.daily_budget:
            until = day_start(self._day + 1)
            raise BudgetExceeded(
                f"daily X budget ${self.daily_budget} reached (${today_usd} spent today, "
                f"{what} could cost ${worst_case})", until)
        if month_usd + worst_case > self.monthly_budget:
            _, last = month_days(self._day)
            raise BudgetExceeded(
                f"monthly X budget ${self.monthly_budget} reached (${month_usd} spent this "
                f"month, {what} could cost ${worst_case})", day_start(last + 1))

    async def report(self) -> SpendReport:
        await self._roll()
        return SpendReport(dict(self._today), dict(self._month), self.daily_budget,
                           self.monthly_budget, dict(self.prices))
