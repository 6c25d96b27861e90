"""Weekly slots as pure functions of (schedule, now): no clock, no I/O.

A slot is one scheduled post: its period key is the local ISO date of the slot
("2026-11-23"), so the key never depends on DST or on when the bot happened to
run, and its due time is that local wall-clock time converted to UTC.

Wall-clock times that don't exist (the hour skipped when DST starts) or exist
twice (the hour repeated when it ends) resolve with fold=0, as zoneinfo and
APScheduler's CronTrigger both do: a skipped 02:30 fires at 03:30 summer time,
a repeated 02:30 fires at the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MANUAL_PREFIX = "now-"


@dataclass(frozen=True, slots=True)
class Schedule:
    weekday: int  # 0 = Monday, as datetime.weekday()
    hour: int
    minute: int
    timezone: str

    @classmethod
    def parse(cls, weekday: str, time: str, timezone: str) -> Schedule:
        """From the words people write ("mon", "09:00", "Europe/Berlin"); ValueError if bad."""
        day = weekday.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError(f"unknown weekday {weekday!r}")
        hh, sep, mm = time.strip().partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2
                and int(hh) < 24 and int(mm) < 60):
            raise ValueError(f"{time!r} is not a HH:MM time")
        zone_name = timezone.strip()
        try:
            ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        return cls(WEEKDAYS.index(day), int(hh), int(mm), zone_name)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def time_text(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    def describe(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.time_text} {self.timezone}"


@dataclass(frozen=True, slots=True)
class Slot:
    period: str
    due: datetime  # aware, UTC


def slot_on(schedule: Schedule, local_day: date) -> Slot:
    local = datetime(local_day.year, local_day.month, local_day.day, schedule.hour,
                     schedule.minute, tzinfo=schedule.zone)
    # Round-tripping through a timestamp resolves skipped wall times forward.
    due = datetime.fromtimestamp(local.timestamp(), UTC)
    return Slot(local_day.isoformat(), due)


def latest_slot(schedule: Schedule, now: datetime) -> Slot:
    """The most recent slot due at or before `now`."""
    _require_aware(now)
    local_now = now.astimezone(schedule.zone)
    back = (local_now.weekday() - schedule.weekday) % 7
    slot = slot_on(schedule, local_now.date() - timedelta(days=back))
    if slot.due > now:
        slot = slot_on(schedule, local_now.date() - timedelta(days=back + 7))
    return slot


def next_slot(schedule: Schedule, now: datetime) -> Slot:
    """The first slot due strictly after `now`."""
    latest = latest_slot(schedule, now)
    return slot_on(schedule, date.fromisoformat(latest.period) + timedelta(days=7))


def slots_between(schedule: Schedule, start: datetime, end: datetime) -> list[Slot]:
    """Every slot with start < due <= end, oldest first."""
    found = []
    slot = next_slot(schedule, start)
    while slot.due <= end:
        found.append(slot)
        slot = next_slot(schedule, slot.due)
    return found


def manual_period(now: datetime, zone: ZoneInfo) -> str:
    """The key of an admin's "post now": one per destination per local minute, so a
    double click posts once."""
    _require_aware(now)
    return MANUAL_PREFIX + now.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("schedule computations need an aware datetime")
