"""The JSON export of everything stored about one person.

Per person, across every community they are in, each community listed separately
(docs/privacy.md). Other people in the person's events appear as pseudonyms
numbered afresh in each community ("member-1"), so an export hands out nobody
else's data and cannot be used to match people across communities.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.storage import Account, Storage
from bot.storage.scores import scores_on_days
from scoring.kinds import Kind

FORMAT = "klout-bot export 1"
DAY = 86_400


async def build_export(store: Storage, accounts: list[Account], now: datetime
                       ) -> tuple[dict[str, Any], int, int]:
    """(document, communities, events) for the person owning `accounts` (own one first)."""
    own = accounts[0]
    ids = [a.id for a in accounts]
    links = await store.privacy.links_of(own.id)
    pending = await store.privacy.pending(own.id, "twitter")
    communities: list[dict[str, Any]] = []
    total_events = 0
    for account_id, community, name, last_seen in await store.privacy.memberships(ids):
        account = next(a for a in accounts if a.id == account_id)
        events = await store.privacy.events_of(community.id, account_id)
        total_events += len(events)
        pseudonyms: dict[int, str] = {}

        def other(account_ref: int, me: int = account_id,
                  names: dict[int, str] = pseudonyms) -> str | None:
            if account_ref in (0, me):
                return None
            return names.setdefault(account_ref, f"member-{len(names) + 1}")

        made = [_event(kind, ts, channel, source, other(target))
                for actor, target, kind, ts, channel, source in events if actor == account_id]
        received = [_event(kind, ts, channel, source, other(actor))
                    for actor, target, kind, ts, channel, source in events
                    if target == account_id and actor != account_id]
        score = await store.privacy.score_of(community.id, account_id)
        history = await store.privacy.history_of(community.id, account_id)
        communities.append({
            "platform": community.platform,
            "community_id": community.external_id,
            "community_name": community.name,
            "as_account": f"{account.platform}:{account.external_id}",
            "display_name": name,
            "last_seen": _iso(last_seen),
            "score": None if score is None else {
                "score": score[0], "rank": score[1], "model_version": score[2],
                "computed_at": _iso(score[3])},
            "score_history": _daily(history, int(now.timestamp()) // DAY),
            "events_made": made,
            "events_received": received,
        })
    document = {
        "format": FORMAT,
        "generated_at": now.astimezone(UTC).isoformat(),
        "about": "Everything klout-bot stores about you. No message text is ever stored. "
                 "Other people appear as member-N pseudonyms, numbered per community.",
        "accounts": [{
            "platform": a.platform, "id": a.external_id, "handle": a.handle,
            "display_name": a.display_name, "is_bot": a.is_bot, "followers": a.followers,
            "listed": a.listed, "opted_out": a.opted_out,
            "created_at": _iso(a.created_at),
        } for a in accounts],
        "linked_accounts": [{
            "platform": link.platform, "id": link.linked.external_id,
            "handle": link.linked.handle, "linked_at": _iso(link.linked_at),
        } for link in links],
        "pending_link": None if pending is None else {
            "platform": pending.platform, "handle": pending.handle,
            "expires_at": _iso(pending.expires_at)},
        "communities": communities,
    }
    return document, len({(c["platform"], c["community_id"]) for c in communities}), total_events


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _event(kind: int, ts: int, channel: str, source: str, other: str | None
           ) -> dict[str, Any]:
    return {"kind": Kind(kind).label if kind < len(Kind) else str(kind), "at": _iso(ts),
            "channel": channel or None, "message": source or None, "other": other}


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _daily(history: list[tuple[int, int | None]], today: int) -> list[dict[str, Any]]:
    """The score on every day from the first stored one to today. Storage keeps a row
    only when the score changed, so each value holds until the next row; days the member
    was not scored are left out."""
    if not history:
        return []
    days = list(range(history[0][0], max(today, history[-1][0]) + 1))
    return [{"day": _day(d), "score": s}
            for d, s in zip(days, scores_on_days(history, days), strict=True) if s is not None]


def _day(day: int) -> str:
    return datetime.fromtimestamp(day * DAY, UTC).date().isoformat()
