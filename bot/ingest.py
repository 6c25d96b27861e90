"""Platform-neutral activity ingestion: people and what they did, never what they said."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from bot.storage import EventRow, EventWriter, Storage
from bot.storage.accounts import AccountUpsert
from bot.storage.poison import store_isolating
from commands.types import Person
from scoring.kinds import Kind

_READY_LIMIT = 500_000


class Activity(NamedTuple):
    """One action seen on a platform. `source` is the platform's id of the object acted on
    or created (a message id), so replays and deletions can find it.

    Immutable like a frozen dataclass, but a quarter of the cost to build: a busy
    gateway connection makes one per event."""

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
    """Turns activities into event rows for the batched writer.

    `submit` never waits: activities whose community, accounts and member names are
    already known become rows at once (a busy gateway connection costs a few dict
    lookups per event); the rest wait for the writer's next flush, which upserts all
    their new accounts and members in bulk first. `record` is the awaiting variant.

    A Person with an empty display_name is a bare reference (the platform gave only an
    id, e.g. the author of a reacted-to message): it creates the account if needed and
    changes nothing stored about it.

    Consent is enforced here, for every platform and for backfill alike: an activity
    whose actor or target opted out or was forgotten is dropped before anything about
    it is stored (store.privacy holds both lists in memory).
    """

    def __init__(self, store: Storage, writer: EventWriter) -> None:
        self.store = store
        self.writer = writer
        # What we last wrote about each community, account and membership, so a busy
        # channel costs one write per new name, not one per event.
        self._communities: dict[tuple[str, str], int] = {}
        self._accounts: dict[tuple[str, str], tuple[int, Person]] = {}
        self._members: dict[tuple[int, int], str | None] = {}
        self._deferred: list[Activity] = []
        # (community id, person) -> account id for people whose rows can be written at
        # once: consent checked, account and membership stored as the person is now.
        # One lookup per person on the busy path; cleared whenever consent or anything
        # stored about a known person changes.
        self._ready: dict[tuple[int, Person], int] = {}
        self.ready_version = 0  # bumped whenever _ready is emptied (see FastLane)
        self._privacy_generation = store.privacy.generation
        self._consent_version = store.privacy.consent_version
        writer.before_flush(self.resolve_deferred)

    def submit(self, activities: Iterable[Activity]) -> int:
        """Queue activities without waiting; returns how many were accepted."""
        rows: list[EventRow] = []
        deferred = self._deferred
        count = 0
        gate = self.store.privacy
        self._sync_privacy()
        communities = self._communities
        ready = self._ready
        for act in activities:
            if gate.loaded:
                community_id = communities.get((act.platform, act.community))
                if community_id is not None:
                    actor_id = ready.get((community_id, act.actor))
                    target = act.target
                    target_id = 0 if target is None else ready.get((community_id, target))
                    if actor_id is not None and target_id is not None:
                        count += 1
                        rows.append(EventRow(community_id, int(act.kind), actor_id, target_id,
                                             _epoch_seconds(act.when), act.channel, act.source,
                                             act.weight))
                        continue
                if self._blocked(act):
                    continue
            count += 1
            row = self._row_if_known(act) if gate.loaded else None
            if row is None:
                deferred.append(act)
            else:
                rows.append(row)
        if rows:
            self.writer.submit(rows)
        if len(deferred) >= self.writer.batch_size:
            self.writer.wake()
        return count

    async def record(self, activities: list[Activity]) -> int:
        """Queue activities for the batched writer, with their accounts and members stored
        before this returns; returns how many were accepted."""
        await self.store.privacy.ensure_loaded()
        count = self.submit(activities)
        await self.resolve_deferred()
        return count

    async def rows_now(self, activities: list[Activity]) -> list[EventRow]:
        """Store the accounts and members of these activities now and return their event
        rows, without queuing them: the caller writes them itself, in one transaction,
        so it can tell its user truly whether they were stored (a write that fails here
        or there leaves nothing queued to land later). Blocked activities are dropped."""
        await self.store.privacy.ensure_loaded()
        return await self._rows_for(activities)

    def community_id(self, platform: str, community: str) -> int | None:
        """The stored id of a community this ingestor has already seen."""
        return self._communities.get((platform, community))

    def ready_id(self, community_id: int, person: Person) -> int | None:
        """The account id, if an event by or on this person can be written as it is: not
        blocked, and storing the person again would change nothing. Call `fresh` first."""
        key = (community_id, person)
        account_id = self._ready.get(key)
        if account_id is None:
            gate = self.store.privacy
            if not gate.loaded or gate.blocks(person.platform, person.external_id):
                return None
            account_id = self._known(person, community_id)
            if account_id is not None:
                self._remember_ready(key, account_id)
        return account_id

    def fresh(self) -> None:
        """Drop cached ids and verdicts that a forget or a consent change made stale."""
        self._sync_privacy()

    def _remember_ready(self, key: tuple[int, Person], account_id: int) -> None:
        if len(self._ready) >= _READY_LIMIT:
            self._forget_ready()
        self._ready[key] = account_id

    def _forget_ready(self) -> None:
        self._ready.clear()
        self.ready_version += 1

    def _row_if_known(self, act: Activity) -> EventRow | None:
        when = act.when
        if when.tzinfo is None:
            raise ValueError("activity timestamps must be timezone-aware")
        community_id = self._communities.get((act.platform, act.community))
        if community_id is None:
            return None
        actor_id = self._known(act.actor, community_id)
        if actor_id is None:
            return None
        target_id = 0
        if act.target is not None:
            found = self._known(act.target, community_id)
            if found is None:
                return None
            target_id = found
            self._remember_ready((community_id, act.target), target_id)
        # Only now: _blocked(act) was checked by the caller.
        self._remember_ready((community_id, act.actor), actor_id)
        return EventRow(community_id, int(act.kind), actor_id, target_id, int(when.timestamp()),
                        act.channel, act.source, act.weight)

    def _known(self, person: Person, community_id: int) -> int | None:
        """The account id, if storing this person again would change nothing."""
        known = self._accounts.get((person.platform, person.external_id))
        if known is None:
            return None
        account_id, seen = known
        if person.display_name:
            if seen is not person and seen != person:
                return None
            if self._members.get((community_id, account_id)) != person.display_name:
                return None
        else:
            if person.handle is not None and seen.handle != person.handle:
                return None
            if (community_id, account_id) not in self._members:
                return None
        return account_id

    async def resolve_deferred(self) -> None:
        """Store the new communities, accounts and member names of deferred activities in
        bulk, then queue their rows. On failure the activities stay deferred for a retry;
        one that can never be stored is dropped and logged (bot/storage/poison.py)."""
        batch, self._deferred = self._deferred, []
        if not batch:
            return
        await store_isolating(batch, self._resolve, what="activity", requeue=self._requeue)

    def _requeue(self, activities: list[Activity]) -> None:
        self._deferred[:0] = activities

    def _blocked(self, act: Activity) -> bool:
        blocks = self.store.privacy.blocks
        target = act.target
        return (blocks(act.actor.platform, act.actor.external_id)
                or (target is not None and blocks(target.platform, target.external_id)))

    def _sync_privacy(self) -> None:
        """After a forget, wipe or purge deleted rows, cached ids may point at nothing."""
        gate = self.store.privacy
        if gate.generation != self._privacy_generation:
            self._communities.clear()
            self._accounts.clear()
            self._members.clear()
            self._forget_ready()
            self._privacy_generation = gate.generation
        if gate.consent_version != self._consent_version:
            self._forget_ready()
            self._consent_version = gate.consent_version

    async def _resolve(self, batch: list[Activity]) -> None:
        rows = await self._rows_for(batch)
        if rows:
            self.writer.submit(rows)

    async def _rows_for(self, batch: list[Activity]) -> list[EventRow]:
        await self.store.privacy.ensure_loaded()
        self._sync_privacy()
        batch = [act for act in batch if not self._blocked(act)]
        if not batch:
            return []
        for key in {(a.platform, a.community) for a in batch} - self._communities.keys():
            community = await self.store.communities.ensure(*key)
            self._communities[key] = community.id
        people: dict[tuple[str, str], tuple[Person, int]] = {}
        for act in batch:
            seen = int(act.when.timestamp())
            for person in (act.actor, act.target):
                if person is None:
                    continue
                key = (person.platform, person.external_id)
                current = people.get(key)
                # A named mention beats a bare reference to the same account.
                if current is None or (person.display_name and not current[0].display_name):
                    people[key] = (person, seen)
        upserts: list[AccountUpsert] = []
        for key, (person, seen) in people.items():
            known = self._accounts.get(key)
            if known is not None and (known[1] == person or (
                    not person.display_name and person.handle in (None, known[1].handle))):
                continue
            if person.display_name:
                upserts.append((person.platform, person.external_id, person.display_name,
                                person.handle, person.is_bot, seen, person.created_at))
            else:
                upserts.append((person.platform, person.external_id, None, person.handle,
                                None, seen, person.created_at))
        ids = await self.store.accounts.upsert_many(upserts)
        for key, account_id in ids.items():
            person = people[key][0]
            old = self._accounts.get(key)
            if old is not None:
                self._forget_ready()  # someone ready under their old name no longer is
            if not person.display_name and old is not None and old[1].display_name:
                # A bare reference keeps what we know by name; only the handle is news.
                person = replace(old[1], handle=person.handle or old[1].handle)
            self._accounts[key] = (account_id, person)
        members: dict[tuple[int, int], tuple[str | None, int]] = {}
        for act in batch:
            community_id = self._communities[(act.platform, act.community)]
            seen = int(act.when.timestamp())
            for person in (act.actor, act.target):
                if person is None:
                    continue
                account_id = self._accounts[(person.platform, person.external_id)][0]
                mkey = (community_id, account_id)
                name = person.display_name or None
                if mkey in members and name is None:
                    continue
                if name is None and mkey in self._members:
                    continue
                if name is not None and self._members.get(mkey) == name:
                    continue
                members[mkey] = (name, seen)
        await self.store.accounts.touch_members(
            [(c, a, name, seen) for (c, a), (name, seen) in members.items()])
        for mkey, (name, _) in members.items():
            if name is not None or mkey not in self._members:
                if mkey in self._members:
                    self._forget_ready()
                self._members[mkey] = name
        accounts = self._accounts
        rows = []
        for act in batch:
            target_id = 0
            if act.target is not None:
                target_id = accounts[(act.target.platform, act.target.external_id)][0]
            rows.append(EventRow(
                self._communities[(act.platform, act.community)], int(act.kind),
                accounts[(act.actor.platform, act.actor.external_id)][0], target_id,
                int(act.when.timestamp()), act.channel, act.source, act.weight))
        return rows


def _epoch_seconds(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("activity timestamps must be timezone-aware")
    return int(when.timestamp())
