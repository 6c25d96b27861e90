"""Slots and period keys as pure functions, cross-checked with APScheduler's CronTrigger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.leaderboards.schedule import (
    Schedule,
    latest_slot,
    manual_period,
    next_slot,
    slot_on,
    slots_between,
)
from bot.scheduler import cron_trigger

BERLIN = Schedule.parse("mon", "09:00", "Europe/Berlin")


def test_weekly_slot_keeps_local_time_across_both_dst_changes() -> None:
    # 2026: CEST starts Sun 29 March, ends Sun 25 October.
    slots = slots_between(BERLIN, datetime(2026, 3, 15, tzinfo=UTC),
                          datetime(2026, 11, 3, tzinfo=UTC))
    by_period = {s.period: s.due for s in slots}
    assert by_period["2026-03-23"] == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # CET
    assert by_period["2026-03-30"] == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # CEST
    assert by_period["2026-10-19"] == datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
    assert by_period["2026-10-26"] == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    for slot in slots:
        local = slot.due.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        assert slot.period == local.date().isoformat()
    gaps = {b.due - a.due for a, b in pairwise(slots)}
    assert gaps == {timedelta(days=7), timedelta(days=7, hours=-1), timedelta(days=7, hours=1)}


def test_latest_and_next_slot_around_the_due_minute() -> None:
    due = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert latest_slot(BERLIN, due).due == due
    assert latest_slot(BERLIN, due - timedelta(seconds=1)).period == "2026-03-23"
    assert next_slot(BERLIN, due - timedelta(seconds=1)).due == due
    assert next_slot(BERLIN, due).period == "2026-04-06"


def test_skipped_and_repeated_wall_times() -> None:
    # 02:30 does not exist on 29 March 2026 in Berlin: the slot fires at 03:30 CEST.
    sunday = Schedule.parse("sun", "02:30", "Europe/Berlin")
    assert slot_on(sunday, date(2026, 3, 29)).due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 happens twice on 25 October 2026: the first one (CEST) counts.
    assert slot_on(sunday, date(2026, 10, 25)).due == datetime(2026, 10, 25, 0, 30,
                                                               tzinfo=UTC)


@pytest.mark.parametrize(("zone", "weekday", "time"), [
    ("Europe/Berlin", "mon", "09:00"),
    ("Europe/Berlin", "sun", "02:30"),  # inside the spring gap and the autumn repeat
    ("America/New_York", "sun", "01:30"),
    ("Australia/Lord_Howe", "sun", "01:45"),  # a 30-minute DST shift
    ("Asia/Kathmandu", "fri", "23:59"),
    ("UTC", "wed", "00:00"),
])
def test_pure_slots_agree_with_apscheduler_cron_trigger(zone: str, weekday: str,
                                                        time: str) -> None:
    """Every fire time of the CronTrigger the scheduler uses is one of our slots, or a
    second fire in a repeated hour that maps to the period already posted (harmless:
    the period key makes it a no-op). Ten years, no waiting."""
    schedule = Schedule.parse(weekday, time, zone)
    trigger = cron_trigger(schedule)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    previous = None
    slots = fires = 0
    while now < datetime(2036, 1, 1, tzinfo=UTC):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        fires += 1
        slot = latest_slot(schedule, fire)
        if slot.due.timestamp() == fire.timestamp():
            slots += 1
        else:
            assert previous is not None
            assert latest_slot(schedule, previous).period == slot.period
        previous = fire
        now = fire.astimezone(UTC) + timedelta(seconds=1)
    assert slots == len(slots_between(schedule, datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
                                      now))
    assert fires - slots <= 10  # at most one extra fire a year


def test_parse_refuses_bad_input() -> None:
    for args in (("funday", "09:00", "UTC"), ("mon", "9", "UTC"), ("mon", "24:00", "UTC"),
                 ("mon", "09:00", "Mars/Olympus")):
        with pytest.raises(ValueError, match=r"weekday|time|zone"):
            Schedule.parse(*args)
    assert Schedule.parse("Monday", "7:05", "UTC").describe() == "mon 07:05 UTC"


def test_manual_period_is_per_local_minute() -> None:
    at = datetime(2026, 3, 30, 7, 0, 59, tzinfo=UTC)
    assert manual_period(at, ZoneInfo("Europe/Berlin")) == "now-2026-03-30T09:00"
    with pytest.raises(ValueError, match="aware"):
        manual_period(at.replace(tzinfo=None), ZoneInfo("UTC"))
