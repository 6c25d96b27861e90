"""The Privacy port (commands/privacy_types.py) over storage: opt-out, forget, export,
verified account links, community wipes and the purge of removed communities."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.services.export import build_export, encode
from bot.services.linking import VerifierUnavailable, XVerifier
from bot.storage import Account, Storage
from bot.storage.privacy import LinkConflict, PendingLink
from commands.confirm import ALPHABET, Confirmations
from commands.privacy_types import ConfirmState, Export, Footprint, LinkCode, LinkOutcome
from commands.types import Person

log = logging.getLogger(__name__)
LINK_CODE_LENGTH = 8
GZIP_ABOVE = 8_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class PrivacySettings:
    link_code_minutes: int = 30
    confirm_minutes: int = 5
    contact: str = ""


class PrivacyService:
    def __init__(self, store: Storage, settings: PrivacySettings | None = None, *,
                 flush: Callable[[], Awaitable[object]] | None = None) -> None:
        self.store = store
        # Writes queued before an erase must land first, so the erase deletes them too.
        self._flush = flush
        self.settings = settings or PrivacySettings()
        self.confirmations = Confirmations(timedelta(minutes=self.settings.confirm_minutes))
        self._verifiers: dict[str, XVerifier] = {}

    # -- wiring ------------------------------------------------------------------------
    def use_verifier(self, platform: str, verifier: XVerifier) -> None:
        """The X adapter registers its verifier here (platform "twitter")."""
        self._verifiers[platform] = verifier

    def verifier(self, platform: str) -> XVerifier | None:
        return self._verifiers.get(platform)

    @property
    def contact(self) -> str:
        return self.settings.contact

    @property
    def confirm_minutes(self) -> int:
        return self.settings.confirm_minutes

    async def blocked(self, person: Person) -> bool:
        """True when nothing new may be stored about `person` (opted out or forgotten).
        Adapters that store something outside the Ingestor ask this first."""
        await self.store.privacy.ensure_loaded()
        return self.store.privacy.blocks(person.platform, person.external_id)

    # -- opt-out ------------------------------------------------------------------------
    async def opt_out(self, person: Person) -> bool:
        privacy = self.store.privacy
        await privacy.ensure_loaded()
        if privacy.is_forgotten(person.platform, person.external_id):
            return False  # nothing is stored, and nothing will be
        accounts = await self._with_links(await self._own_account(person))
        changed = any(not a.opted_out for a in accounts)
        await privacy.set_opted_out(accounts, True)
        return changed

    async def opt_in(self, person: Person) -> bool:
        privacy = self.store.privacy
        changed = await privacy.lift_tombstone(person.platform, person.external_id)
        account = await self._account(person)
        if account is None:
            return changed
        accounts = await self._with_links(account)
        changed = changed or any(a.opted_out for a in accounts)
        await privacy.set_opted_out(accounts, False)
        return changed

    # -- forget -------------------------------------------------------------------------
    async def footprint(self, person: Person) -> Footprint:
        account = await self._account(person)
        if account is None:
            return Footprint()
        return await self.store.privacy.footprint(await self._with_links(account))

    async def forget(self, person: Person) -> Footprint:
        account = await self._account(person)
        if account is None:
            await self.store.privacy.tombstone(person.platform, person.external_id)
            return Footprint()
        accounts = await self._with_links(account)
        self.store.privacy.block(accounts)
        await self._flush_writes()
        deleted = await self.store.privacy.forget(accounts)
        log.info("forgot a %s person: %s accounts, %s rows", person.platform, len(accounts),
                 deleted.total)
        return deleted

    # -- export -------------------------------------------------------------------------
    async def export(self, person: Person, now: datetime) -> Export:
        account = await self._account(person)
        accounts = [] if account is None else await self._with_links(account)
        if not accounts:
            document: dict[str, object] = {
                "format": "klout-bot export 1", "generated_at": now.isoformat(),
                "about": "Nothing is stored about you.", "accounts": [],
                "linked_accounts": [], "pending_link": None, "communities": []}
            communities = events = 0
        else:
            document, communities, events = await build_export(self.store, accounts, now)
        filename = f"klout-export-{person.platform}-{now.strftime('%Y%m%d')}.json"
        data = encode(document)
        if len(data) > GZIP_ABOVE:
            # Discord takes files up to 10 MB from bots; JSON shrinks about tenfold.
            data, filename = gzip.compress(data, mtime=0), filename + ".gz"
        return Export(filename, data, communities, events)

    # -- confirmations ------------------------------------------------------------------
    def issue_confirmation(self, purpose: str, key: tuple[str, ...], now: datetime) -> str:
        return self.confirmations.issue(purpose, key, now)

    def check_confirmation(self, purpose: str, key: tuple[str, ...], code: str,
                           now: datetime) -> ConfirmState:
        return self.confirmations.check(purpose, key, code, now)

    # -- linking ------------------------------------------------------------------------
    async def start_link(self, person: Person, platform: str, handle: str,
                         now: datetime) -> LinkCode | LinkOutcome:
        if self.verifier(platform) is None:
            return LinkOutcome("unavailable", platform, handle)
        privacy = self.store.privacy
        await privacy.ensure_loaded()
        if privacy.is_forgotten(person.platform, person.external_id):
            return LinkOutcome("forgotten", platform, handle)
        account = await self._own_account(person)
        for existing in await privacy.links_of(account.id):
            if existing.platform == platform:
                return LinkOutcome("already", platform, existing.linked.handle or "")
        known = await self.store.accounts.find_by_name(platform, handle)
        if known is not None:
            owner = await privacy.owner_of(known.id)
            if owner is not None and owner != account.id:
                return LinkOutcome("taken", platform, handle)
        nonce = secrets.token_urlsafe(12)
        expires = int(now.timestamp()) + self.settings.link_code_minutes * 60
        await privacy.save_pending(PendingLink(account.id, platform, handle, nonce, expires))
        return LinkCode(self._link_code(nonce), platform, handle,
                        self.settings.link_code_minutes)

    async def verify_link(self, person: Person, platform: str, now: datetime,
                          code: str | None = None) -> LinkOutcome:
        verifier = self.verifier(platform)
        if verifier is None:
            return LinkOutcome("unavailable", platform)
        privacy = self.store.privacy
        await privacy.ensure_loaded()
        account = await self._account(person)
        pending = None if account is None else await privacy.pending(account.id, platform)
        if account is None or pending is None:
            return LinkOutcome("no_pending", platform)
        handle = pending.handle
        if now.timestamp() >= pending.expires_at:
            await privacy.drop_pending(account.id, platform)
            return LinkOutcome("expired", platform, handle)
        expected = self._link_code(pending.nonce)
        if code is not None and not secrets.compare_digest(
                _normal(code).encode(), _normal(expected).encode()):
            return LinkOutcome("wrong_code", platform, handle)
        try:
            identity = await verifier.lookup(handle)
            if identity is None:
                return LinkOutcome("not_found", platform, handle)
            existing = await self.store.accounts.by_external(platform, identity.user_id)
            if existing is not None:
                owner = await privacy.owner_of(existing.id)
                if owner is not None and owner != account.id:
                    return LinkOutcome("taken", platform, identity.handle)
            proven = await verifier.bio_or_recent_post_contains(identity.handle, expected)
        except VerifierUnavailable as exc:
            # No verdict: the pending code stays valid for another try.
            log.warning("could not verify a %s link: %s", platform, exc)
            return LinkOutcome("check_failed", platform, handle)
        if not proven:
            return LinkOutcome("not_proven", platform, identity.handle)
        # Proving ownership is consent: an X account that was forgotten comes back.
        await privacy.lift_tombstone(platform, identity.user_id)
        linked_id = await self.store.accounts.ensure(
            platform, identity.user_id, handle=identity.handle,
            updated_at=int(now.timestamp()))
        try:
            await privacy.link(account.id, platform, linked_id, int(now.timestamp()))
        except LinkConflict as exc:
            return LinkOutcome("taken" if exc.reason == "taken" else "already", platform,
                               identity.handle)
        linked = await self.store.accounts.get(linked_id)
        if account.opted_out and linked is not None:
            await privacy.set_opted_out([linked], True)
        log.info("linked a %s account to a %s account", person.platform, platform)
        return LinkOutcome("linked", platform, identity.handle)

    async def unlink(self, person: Person, platform: str) -> str | None:
        account = await self._account(person)
        if account is None:
            return None
        await self.store.privacy.drop_pending(account.id, platform)
        linked = await self.store.privacy.unlink(account.id, platform)
        return None if linked is None else (linked.handle or linked.external_id)

    # -- communities --------------------------------------------------------------------
    async def community_footprint(self, platform: str, community: str) -> Footprint:
        row = await self.store.privacy.community(platform, community)
        if row is None:
            return Footprint()
        return await self.store.privacy.community_footprint(row.id)

    async def wipe_community(self, platform: str, community: str) -> Footprint:
        row = await self.store.privacy.community(platform, community)
        if row is None:
            return Footprint()
        await self._flush_writes()
        deleted = await self.store.privacy.delete_community(row, keep_config=True)
        log.info("wiped community %s/%s on an admin's request: %s rows", platform, row.id,
                 deleted.total)
        return deleted

    async def community_removed(self, platform: str, community: str, now: datetime) -> bool:
        """The bot was removed (kicked, or the server deleted): start the grace period."""
        changed = await self.store.privacy.mark_removed(platform, community,
                                                        int(now.timestamp()))
        if changed:
            log.info("community %s/%s removed; its data goes after the grace period",
                     platform, community)
        return changed

    async def community_returned(self, platform: str, community: str,
                                 name: str | None = None) -> None:
        """The bot is back before the purge: keep the data."""
        await self.store.communities.ensure(platform, community, name)

    # -- helpers ------------------------------------------------------------------------
    async def _flush_writes(self) -> None:
        if self._flush is not None:
            await self._flush()

    async def _account(self, person: Person) -> Account | None:
        return await self.store.accounts.by_external(person.platform, person.external_id)

    async def _own_account(self, person: Person) -> Account:
        """The asker's account, created bare (no names) if they have none: an opt-out or
        a link must be remembered even for someone the bot has not seen yet."""
        account_id = await self.store.accounts.ensure(person.platform, person.external_id)
        account = await self.store.accounts.get(account_id)
        if account is None:  # pragma: no cover - ensure() just wrote it
            raise RuntimeError("account vanished after ensure")
        return account

    async def _with_links(self, account: Account) -> list[Account]:
        """The person's own account first, then the accounts they linked."""
        return [account, *(link.linked for link in await self.store.privacy.links_of(account.id))]

    def _link_code(self, nonce: str) -> str:
        raw = self.store.privacy.derive("link", nonce, LINK_CODE_LENGTH)
        return "klout-" + "".join(ALPHABET[b % len(ALPHABET)] for b in raw)


async def purge_removed_communities(store: Storage, now: datetime, grace: timedelta) -> int:
    """Delete every community removed more than `grace` ago, with its settings; returns
    how many went. Also clears link codes that ran out. Safe to call any number of times."""
    cutoff = int((now - grace).timestamp())
    purged = 0
    for community in await store.privacy.removed_before(cutoff):
        deleted = await store.privacy.delete_community(community, keep_config=False)
        purged += 1
        log.info("purged removed community %s/%s: %s rows", community.platform, community.id,
                 deleted.total)
    await store.privacy.drop_expired_codes(int(now.timestamp()))
    if purged:
        await store.guild_settings.load_all()
    return purged


async def apply_retention(store: Storage, now: datetime, events_days: int) -> int:
    """Delete events older than their retention; returns how many went. They are past
    the scoring window, so this changes no score. (Score history is pruned by the
    scheduler's prune-history job, [scoring] history_retention_days.)"""
    events = await store.privacy.prune_events(int(now.timestamp()) - events_days * 86_400)
    if events:
        log.info("retention: deleted %s events past %s days", events, events_days)
    return events


def _normal(code: str) -> str:
    return code.strip().upper().removeprefix("KLOUT-").replace("-", "")
