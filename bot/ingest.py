"""Platform-neutral activity ingestion: people and what they did, never what they said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage import EventRow, EventWriter, Storage
from commands.types import Person
from scoring.kinds import Kind


@dataclass(frozen=True, slots=True)
class Activity:
    """One action seen on a platform. `source` is the platform's id of the object acted on
    or created (a message id), so replays and deletions can find it."""

    platform: str
    community: str
    actor: Person
    kind: Kind
    when: datetime
    target: Person | None = None
    channel: str = ""
    source: str = ""
    weight: float = 1.0


class Ingestor:
    def __init__(self, store: Storage, writer: EventWriter) -> None:
        self.store = store
        self.writer = writer
        # What we last wrote about each account and membership, so a busy channel
        # costs one write per new name, not one per event.
        self._accounts: dict[tuple[str, str], tuple[int, Person]] = {}
        self._members: dict[tuple[int, int], str] = {}

    async def account_id(self, person: Person, community_id: int, seen: int) -> int:
        key = (person.platform, person.external_id)
        known = self._accounts.get(key)
        if known is not None and known[1] == person:
            account_id = known[0]
        else:
            account_id = await self.store.accounts.ensure(
                person.platform, person.external_id, display_name=person.display_name,
                handle=person.handle, is_bot=person.is_bot, updated_at=seen)
            self._accounts[key] = (account_id, person)
        if self._members.get((community_id, account_id)) != person.display_name:
            await self.store.accounts.touch_member(community_id, account_id,
                                                   person.display_name, seen)
            self._members[(community_id, account_id)] = person.display_name
        return account_id

    async def record(self, activities: list[Activity]) -> int:
        """Queue activities for the batched writer; returns how many were accepted."""
        rows: list[EventRow] = []
        for act in activities:
            if act.when.tzinfo is None:
                raise ValueError("activity timestamps must be timezone-aware")
            community = await self.store.communities.ensure(act.platform, act.community)
            seen = int(act.when.timestamp())
            actor_id = await self.account_id(act.actor, community.id, seen)
            target_id = 0
            if act.target is not None:
                target_id = await self.account_id(act.target, community.id, seen)
            rows.append(EventRow(community.id, int(act.kind), actor_id, target_id, seen,
                                 act.channel, act.source, act.weight))
        self.writer.submit(rows)
        return len(rows)
