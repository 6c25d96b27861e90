"""The X (Twitter) adapter: poll mentions, answer each exactly once, within a budget.

One poll (`poll_once`, which `run` repeats every `poll_interval_s`):

1. Settle replies whose outcome is unknown (status 'posting': the process died after
   sending, or X failed ambiguously). They are looked up on the bot's own timeline, an
   owned read, and never re-sent before that check says they are not there.
2. Read new mentions with since_id, re-reading `poll_overlap_s` behind the newest one
   seen (since_id polling misses late-indexed mentions). Authors are not expanded
   (a user read each); a profile is bought only for a score that is asked. Each new
   mention is claimed (INSERT OR IGNORE, committed) and what it shows people doing to
   each other is ingested, quotes included. The first run only records where
   mentions stand: history is not answered.
3. Answer claimed mentions, oldest first: loop guard, per-author cap, budget check,
   the shared command cooldowns (app.limiter), then mark 'posting', post, and record
   the reply id.

Everything X-specific stays here and in bot/adapters/x_*.py; commands see a Request
with platform "twitter" and community "x".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import tweepy
import tweepy.asynchronous

from bot.adapters.base import AdapterFailed
from bot.adapters.x_api import BATCH_MAX, PostOutcomeUnknown, Sleep, XApi, XUnavailable
from bot.adapters.x_images import ReplyImages
from bot.adapters.x_mentions import (
    COMMUNITY,
    PLATFORM,
    SeenMention,
    read_mention,
    snowflake_at,
    time_of,
    x_person,
)
from bot.adapters.x_profiles import XProfiles, created_seconds
from bot.adapters.x_reply import ReplyComposer
from bot.adapters.x_spend import PRICES, BudgetExceeded, SpendTracker, prices_with
from bot.adapters.x_transport import close_client, make_async_client
from bot.adapters.x_verify import XApiVerifier
from bot.app import KloutApp
from bot.clock import Clock
from bot.ingest import Activity
from bot.leaderboards.target import PostRef
from bot.services.estimates import EstimatingInfluence
from bot.storage.twitter import MentionRow, TwitterRepository
from commands import build_router
from commands.ports import Influence, Ports
from commands.types import Reply, Request

log = logging.getLogger(__name__)

CREDENTIAL_ENV = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
MAX_PAGES = 8  # X's mentions timeline reaches back 800 posts
MIN_PAGE = 5
RECONCILE_PAGES = 5
MAX_POST_ATTEMPTS = 6
PER_MENTION_WORST = PRICES["owned_read"] + PRICES["user_read"] + PRICES["reply_create"]
DUPLICATE = "duplicate content"


class XPostRefused(Exception):
    """X refused a post for good (duplicate, too long, not allowed); retrying won't help."""

    retryable = False


@dataclass
class PollReport:
    fetched: int = 0
    claimed: int = 0
    replied: int = 0
    failed: int = 0
    skipped: int = 0
    settled: int = 0
    paused: bool = False
    unreachable: str = ""  # why X could not be reached this poll, if it could not


class XPorts:
    """The app's ports with Influence replaced by the public-metrics-aware one."""

    def __init__(self, base: Ports, influence: Influence, bot_name: str) -> None:
        self._base = base
        self._influence = influence
        self._bot_name = bot_name

    @property
    def influence(self) -> Influence:
        return self._influence

    @property
    def bot_name(self) -> str:
        return self._bot_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


class TwitterAdapter:
    name = "twitter"

    def __init__(self, app: KloutApp, client: tweepy.asynchronous.AsyncClient, *,
                 clock: Clock | None = None, sleep: Sleep | None = None,
                 rng: random.Random | None = None, poll_interval_s: float | None = None
                 ) -> None:
        cfg = app.config.twitter
        self.app = app
        self.client = client
        self.clock = clock or app.clock
        self._closed = asyncio.Event()
        self._sleep_fn = sleep or self._wait_or_close
        self.poll_interval_s = poll_interval_s if poll_interval_s is not None \
            else cfg.poll_interval_s
        self.overlap = timedelta(seconds=cfg.poll_overlap_s)
        self.author_cap = cfg.replies_per_author_per_hour
        self.repo = TwitterRepository(app.store.db)
        self.spend = SpendTracker(self.repo, self.clock, daily_usd=cfg.daily_budget_usd,
                                  monthly_usd=cfg.monthly_budget_usd,
                                  prices=prices_with(cfg.media_upload_usd))
        self.api = XApi(client, self.spend, self.clock, sleep=self._sleep, rng=rng,
                        max_retries=cfg.max_retries)
        self.profiles = XProfiles(self.api, self.repo, app.store, self.clock,
                                  ttl_s=cfg.cache_ttl_s, estimate_posts=cfg.estimate_posts,
                                  consent=app.privacy,
                                  probe_below_followers=cfg.probe_below_followers)
        self.influence = EstimatingInfluence(app.ports.influence, {PLATFORM: self.profiles},
                                             app.config.scoring.model)
        self.composer = ReplyComposer(app.renderer, self.repo, self.clock)
        self.images = ReplyImages(app.images, app.renderer, self.api, self.clock,
                                  enabled=cfg.card_images)
        # /link twitter on any other platform proves ownership through this account.
        app.privacy.use_verifier(PLATFORM, XApiVerifier(self.api, self.start))
        self.bot_id = ""
        self.bot_handle = app.config.bot.name
        self.router = build_router(XPorts(app.ports, self.influence, self.bot_handle))
        self.paused_until: datetime | None = None
        self._started = False
        self._posts_sent = 0

    # -- Adapter protocol -------------------------------------------------------
    async def run(self) -> None:
        while not self._closed.is_set():
            try:
                report = await self.poll_once()
            except tweepy.Unauthorized as exc:
                raise AdapterFailed("X rejected the credentials (401); check the X_* "
                                    "variables", credentials=True) from exc
            except tweepy.Forbidden as exc:
                if self._started:
                    log.exception("X poll failed; trying again next interval")
                else:  # 403 on who-am-I: the keys are not a user's (app-only, no access)
                    raise AdapterFailed(f"X refused the credentials (403): {exc}; check the "
                                        "X_ACCESS_TOKEN variables", credentials=True) from exc
            except Exception:
                if not self._started:
                    raise  # never connected: a bug at start, not a passing outage
                log.exception("X poll failed; trying again next interval")
            else:
                if report.unreachable and not self._started:
                    # A wrong [twitter] api_base or no route to X: said now, not retried
                    # quietly forever (an outage once connected is retried each interval).
                    raise AdapterFailed(f"cannot reach X at "
                                        f"{self.app.config.twitter.api_base}: "
                                        f"{report.unreachable}")
            await self._sleep(self.poll_interval_s)

    async def send(self, destination: str, reply: Reply) -> str | None:
        """Post `reply` on the bot's timeline (X has one destination, "timeline").

        A context "in_reply_to" (the id of the previous part) makes it the next post of
        a thread. Raises on failure, as the leaderboard poster expects: XPostRefused for
        a final refusal, PostOutcomeUnknown when the post may or may not exist (the
        poster then looks at recent_own_posts before sending again).
        """
        await self.start()
        previous = reply.context.get("in_reply_to")
        self._posts_sent += 1
        key = f"post:{self.clock.now().isoformat()}:{self._posts_sent}"
        text = await self.composer.compose(reply, key=key, asker=None)
        await self.composer.remember(text, key)
        try:
            return await self.api.create(text, in_reply_to=str(previous) if previous else None,
                                         summoned=False)
        except (tweepy.Forbidden, tweepy.BadRequest, tweepy.NotFound) as exc:
            log.error("X refused a post to %s: %s", destination or "the timeline", exc)
            raise XPostRefused(str(exc)) from exc

    async def recent_own_posts(self, destination: str, since: datetime) -> list[PostRef]:
        """The bot's posts since `since`, newest first (an owned read). Raises when unsure."""
        await self.start()
        refs: list[PostRef] = []
        token = None
        for _ in range(RECONCILE_PAGES):
            page = await self.api.own_posts(since_id=str(snowflake_at(since)),
                                            pagination_token=token)
            refs += [PostRef(str(p["id"]), str(p.get("text", ""))) for p in page.data]
            token = page.meta.get("next_token")
            if not token:
                return refs
        raise XUnavailable(f"more than {len(refs)} own posts since {since.isoformat()}")

    async def close(self) -> None:
        self._closed.set()
        await close_client(self.client)

    # -- setup --------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        await self.spend.load()
        await self.app.store.communities.ensure(PLATFORM, COMMUNITY, "X")
        # Asked on every start ($0.001), so new credentials for another account are noticed.
        me = await self.api.me()
        self.bot_id, self.bot_handle = str(me["id"]), str(me["username"])
        await self.repo.set_state(bot_id=self.bot_id, bot_handle=self.bot_handle)
        self.api.bot_id = self.bot_id
        self.router = build_router(XPorts(self.app.ports, self.influence, self.bot_handle))
        self._started = True
        log.info("X adapter ready as %s (%s)", self.bot_handle, self.bot_id)

    async def _wait_or_close(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), max(seconds, 0.0))

    async def _sleep(self, seconds: float) -> None:
        await self._sleep_fn(seconds)

    # -- one poll -------------------------------------------------------------------
    async def poll_once(self) -> PollReport:
        report = PollReport()
        now = self.clock.now()
        if self.paused_until is not None:
            if now < self.paused_until:
                report.paused = True
                return report
            log.info("X budget pause over; resuming")
            self.paused_until = None
        try:
            await self.start()
            report.settled = await self._settle_unknown()
            await self._read_mentions(report)
            await self._answer_claimed(report)
        except BudgetExceeded as exc:
            self._pause(exc)
            report.paused = True
        except XUnavailable as exc:
            log.warning("X unavailable: %s", exc)
            report.unreachable = str(exc) or type(exc).__name__
        return report

    def _pause(self, exc: BudgetExceeded) -> None:
        self.paused_until = exc.until
        log.warning("X spending paused: %s. Claimed mentions wait; nothing is posted or "
                    "read until then.", exc)

    async def _settle_unknown(self) -> int:
        """Look for replies whose outcome is unknown before anything is sent again."""
        rows = await self.repo.with_status("posting")
        if not rows:
            return 0
        pending = {r.post_id: r for r in rows}
        oldest = min(pending, key=int)
        found: dict[str, tuple[str, datetime | None]] = {}
        token = None
        for _ in range(RECONCILE_PAGES):
            page = await self.api.own_posts(since_id=oldest, pagination_token=token)
            for post in page.data:
                for ref in post.get("referenced_tweets") or []:
                    target = str(ref.get("id"))
                    if ref.get("type") == "replied_to" and target in pending:
                        created = post.get("created_at")
                        when = (datetime.fromisoformat(str(created).replace("Z", "+00:00"))
                                if created else None)
                        found[target] = (str(post["id"]), when)
            token = page.meta.get("next_token")
            if not token or len(found) == len(pending):
                break
        at = int(self.clock.now().timestamp())
        for post_id in pending:
            if post_id in found:
                reply_id, when = found[post_id]
                await self.api.record_found_reply(reply_id, when)
                await self.repo.mark_replied(post_id, reply_id, at, "found on own timeline")
                log.info("X mention %s was answered before (reply %s); not posting again",
                         post_id, reply_id)
            else:
                await self.repo.mark_unposted(post_id, "not on own timeline; will retry")
                log.info("X mention %s has no reply on the bot's timeline; will retry with "
                         "the same text", post_id)
        return len(pending)

    async def _read_mentions(self, report: PollReport) -> None:
        state = await self.repo.state()
        if "floor_id" not in state:
            await self._first_run()
            return
        floor = int(state["floor_id"])
        newest = int(state.get("newest_id", floor))
        since = max(floor, snowflake_at(time_of(newest) - self.overlap))
        headroom = await self.spend.headroom()
        size = min(100, int(headroom / PER_MENTION_WORST))
        if size < MIN_PAGE:
            await self.spend.check(PER_MENTION_WORST * MIN_PAGE, "a mentions poll")
            size = MIN_PAGE
        posts: list[dict[str, Any]] = []
        token: str | None = None
        complete = False
        for _ in range(MAX_PAGES):
            # Authors are not expanded: a user read each, needed only for those whose
            # own score is asked (looked up, 100 a call, by _prefetch) or who are asked
            # about; the rest are answered without their name.
            page = await self.api.mentions(since_id=str(since), max_results=size,
                                           pagination_token=token, with_authors=False)
            posts += page.data
            token = page.meta.get("next_token")
            if not token:
                complete = True
                break
        report.fetched = len(posts)
        known = await self.repo.known([str(p["id"]) for p in posts])
        now = self.clock.now()
        activities = []
        quotes: list[SeenMention] = []
        for post in sorted(posts, key=lambda p: int(p["id"])):
            post_id = str(post["id"])
            if int(post_id) <= floor or post_id in known:
                continue
            seen = read_mention(post, {}, self.bot_id, self.bot_handle)
            if seen.ignored:
                continue
            if await self.repo.claim(seen.row, int(now.timestamp())):
                report.claimed += 1
                activities += seen.activities()
                if seen.quoted_id:
                    quotes.append(seen)
        activities += await self._quote_activities(quotes)
        if activities:
            await self.app.ingestor.record(activities)
            await self.app.rescore_community(PLATFORM, COMMUNITY, only_if_stale=True)
        if complete and posts:
            top = max(int(p["id"]) for p in posts)
            if top > newest:
                await self.repo.set_state(newest_id=str(top))

    async def _quote_activities(self, quotes: list[SeenMention]) -> list[Activity]:
        """QUOTEs on the authors of the posts these mentions quote: one batched lookup
        per 100 quoted posts (the mention names the post, not its author). A quote is
        worth less than an answer, so a lookup X refuses or the budget cannot cover is
        skipped with a log line, and the mentions are answered all the same."""
        wanted = list(dict.fromkeys(s.quoted_id for s in quotes if s.quoted_id))
        authors: dict[str, tuple[str, str, int | None]] = {}
        for start in range(0, len(wanted), BATCH_MAX):
            chunk = wanted[start:start + BATCH_MAX]
            try:
                page = await self.api.posts(chunk)
            except (BudgetExceeded, XUnavailable, tweepy.BadRequest, tweepy.Forbidden,
                    tweepy.NotFound) as exc:
                log.warning("X quoted-post lookup skipped (%s); %s quotes not counted",
                            exc, len(chunk))
                continue
            users = {str(u["id"]): u for u in page.users}
            for post in page.data:
                author = str(post.get("author_id", ""))
                if author and author != self.bot_id:
                    user = users.get(author, {})
                    authors[str(post["id"])] = (author, str(user.get("username", "")),
                                                created_seconds(user))
        found = []
        for seen in quotes:
            if seen.quoted_id in authors:
                activity = seen.quote_activity(*authors[seen.quoted_id])
                if activity is not None:
                    found.append(activity)
        return found

    async def _first_run(self) -> None:
        page = await self.api.mentions(since_id=None, max_results=MIN_PAGE, with_authors=False)
        ids = [int(p["id"]) for p in page.data]
        floor = max(ids) if ids else snowflake_at(self.clock.now())
        await self.repo.set_state(floor_id=str(floor), newest_id=str(floor))
        log.info("X first run: answering mentions newer than %s; older mentions are history "
                 "and are not answered", floor)

    # -- answering --------------------------------------------------------------------
    async def _answer_claimed(self, report: PollReport) -> None:
        rows = await self.repo.with_status("claimed")
        if not rows:
            return
        await self._prefetch(rows)
        for row in rows:
            try:
                outcome = await self._answer(row)
            except (BudgetExceeded, XUnavailable, tweepy.Unauthorized):
                raise
            except Exception:
                # One mention that trips a bug must not hold up the others; it stays
                # claimed (or posting) and is tried again next poll.
                log.exception("answering X mention %s failed", row.post_id)
                continue
            if outcome == "replied":
                report.replied += 1
            elif outcome == "failed":
                report.failed += 1
            elif outcome == "skipped":
                report.skipped += 1

    async def _prefetch(self, rows: list[MentionRow]) -> None:
        """Profiles of everyone these mentions ask about, 100 per lookup."""
        ids = [i for r in rows if not r.error_key for i, _ in r.targets if i]
        ids += [r.author_id for r in rows if not r.targets and not r.error_key]
        await self.profiles.prefetch(ids)

    async def _answer(self, row: MentionRow) -> str:
        now = self.clock.now()
        at = int(now.timestamp())
        if not row.author_id and not row.reply_text:
            # Its author was forgotten (the scrub blanks the author) before an answer
            # was composed: nothing is left to answer with or about.
            await self.repo.mark_final(row.post_id, "skipped", "author forgotten", at)
            return "skipped"
        if row.is_reply and await self.repo.answered_in_conversation(
                row.conversation_id, row.author_id, row.post_id):
            await self.repo.mark_final(row.post_id, "skipped", "loop guard: author already "
                                       "answered in this conversation", at)
            log.info("X mention %s skipped: %s already answered in conversation %s",
                     row.post_id, row.author_id, row.conversation_id)
            return "skipped"
        recent = await self.repo.replies_to_author_since(row.author_id, at - 3600)
        if recent >= self.author_cap:
            await self.repo.mark_final(row.post_id, "skipped",
                                       f"author cap: {recent} replies in the last hour", at)
            log.info("X mention %s skipped: %s reached %s replies this hour", row.post_id,
                     row.author_id, self.author_cap)
            return "skipped"
        if not row.command and not row.error_key:
            await self.repo.mark_final(row.post_id, "skipped", "not addressed to the bot", at)
            return "skipped"
        if row.attempts >= MAX_POST_ATTEMPTS:
            await self.repo.mark_final(row.post_id, "failed",
                                       f"gave up after {row.attempts} attempts", at)
            log.error("X mention %s: gave up after %s attempts", row.post_id, row.attempts)
            return "failed"
        await self.api.reserve(PRICES["reply_create"], "a reply")
        if row.reply_text:
            media = await self.images.media_for(row.post_id, await self._retry_reply(row))
            return await self._post(row, row.reply_text, retry_of_unknown=True,
                                    media_ids=media)
        row = await self._with_author_name(row)
        reply = await self._reply_for(row, now)
        if reply.quiet:
            # A repeated refusal (cooldown): answering spam with spam costs money and
            # looks like a bot loop; the first refusal was answered.
            await self.repo.mark_final(row.post_id, "skipped", f"quiet {reply.template}", at)
            log.info("X mention %s skipped: %s", row.post_id, reply.template)
            return "skipped"
        text = await self.composer.compose(reply, key=row.post_id, asker=row.author_handle)
        # Drawn and uploaded before the mention is marked 'posting' (x_images.py: why
        # that keeps the reply exactly once).
        media = await self.images.media_for(row.post_id, reply)
        return await self._post(row, text, retry_of_unknown=False, media_ids=media)

    async def _retry_reply(self, row: MentionRow) -> Reply | None:
        """The reply again, for the image of a retry that sends the stored text; only
        asked when images are on (it may look profiles up)."""
        if not self.images.enabled or row.error_key:
            return None
        try:
            return await self._reply_for(await self._with_author_name(row), self.clock.now(),
                                         limited=False)
        except (BudgetExceeded, XUnavailable):
            raise
        except Exception:
            log.exception("X mention %s: rebuilding the reply for its image failed; "
                          "retrying as text", row.post_id)
            return None

    async def _with_author_name(self, row: MentionRow) -> MentionRow:
        """The author's handle, when a lookup (their own score, or someone asking about
        them) has cached it; otherwise the reply goes without their name."""
        if row.author_handle or not row.author_id:
            return row
        profile = (await self.repo.profiles([row.author_id])).get(row.author_id)
        if profile is None or not profile.username:
            return row
        return dataclasses.replace(row, author_handle=profile.username)

    async def _reply_for(self, row: MentionRow, now: datetime, *,
                         limited: bool = True) -> Reply:
        if row.error_key:
            return Reply(f"errors/{row.error_key}", row.error_context, tone="refusal")
        targets = []
        unresolved = list(row.unresolved)
        names = [u for i, u in row.targets if not i]
        resolved = await self.profiles.resolve(names) if names else {}
        for user_id, username in row.targets:
            if not user_id and username.lower() in resolved:
                user_id, username = resolved[username.lower()]
            if user_id:
                targets.append(x_person(user_id, username))
            else:
                unresolved.append(username)
        request = Request(
            platform=PLATFORM, community=COMMUNITY,
            author=x_person(row.author_id, row.author_handle), command=row.command,
            args=row.args, targets=tuple(targets), unresolved=tuple(unresolved), now=now,
            channel=row.conversation_id, community_name="X")
        if limited:
            # The shared cooldowns (app.limiter, as app.handle applies them), timed by
            # when the mention was posted: a backlog answered in one poll (after a
            # pause or a restart) is not mistaken for a burst.
            posted = datetime.fromtimestamp(row.created_at, tz=UTC)
            refusal = self.app.limiter.check(dataclasses.replace(request, now=posted))
            if refusal is not None:
                return refusal
        return await self.router.dispatch(request)

    async def _post(self, row: MentionRow, text: str, *, retry_of_unknown: bool,
                    media_ids: list[str] | None = None) -> str:
        duplicate_retried = False
        for _ in range(3):
            await self.composer.remember(text, row.post_id)
            await self.repo.mark_posting(row.post_id, text)
            try:
                reply_id = await self.api.create(text, in_reply_to=row.post_id,
                                                 media_ids=media_ids)
            except PostOutcomeUnknown as exc:
                log.warning("X reply to %s: outcome unknown (%s); will check the timeline "
                            "before any retry", row.post_id, exc)
                return "unknown"
            except (BudgetExceeded, XUnavailable):
                await self.repo.mark_unposted(row.post_id, "not posted: paused")
                raise
            except (tweepy.Forbidden, tweepy.BadRequest, tweepy.NotFound) as exc:
                message = str(exc)
                at = int(self.clock.now().timestamp())
                if media_ids and isinstance(exc, tweepy.BadRequest):
                    # X refused the attachment (an expired or unknown media id): the
                    # reply still goes, as text. A 400 posts nothing, so this is safe.
                    log.warning("X refused the reply to %s with its image (%s); posting it "
                                "as text", row.post_id, message)
                    media_ids = None
                    continue
                if DUPLICATE in message and retry_of_unknown:
                    # Same words as the attempt whose outcome was unknown: that one landed.
                    await self.repo.mark_replied(row.post_id, None, at,
                                                 "earlier attempt landed (duplicate)")
                    return "replied"
                if DUPLICATE in message and not duplicate_retried:
                    duplicate_retried = True
                    # Filed under another key, so composing again passes these words over.
                    await self.composer.remember(text, "refused-duplicate")
                    reply = await self._reply_for(row, self.clock.now(), limited=False)
                    text = await self.composer.compose(reply, key=row.post_id,
                                                       asker=row.author_handle)
                    log.warning("X called the reply to %s a duplicate; trying other words",
                                row.post_id)
                    continue
                await self.repo.mark_final(row.post_id, "failed", message, at)
                log.warning("X mention %s not answered (final): %s", row.post_id, message)
                return "failed"
            await self.repo.mark_replied(row.post_id, reply_id,
                                         int(self.clock.now().timestamp()))
            return "replied"
        return "failed"  # pragma: no cover - the loop always returns


def client_from_env(api_base: str, timeout: float) -> tweepy.asynchronous.AsyncClient:
    missing = [k for k in CREDENTIAL_ENV if not os.environ.get(k)]
    if missing:
        raise RuntimeError(f"the twitter adapter needs {', '.join(missing)} in the environment")
    return make_async_client(
        api_base, bearer_token=os.environ.get("X_BEARER_TOKEN"),
        consumer_key=os.environ["X_API_KEY"], consumer_secret=os.environ["X_API_SECRET"],
        access_token=os.environ["X_ACCESS_TOKEN"],
        access_token_secret=os.environ["X_ACCESS_TOKEN_SECRET"], timeout=timeout)


def create(app: KloutApp) -> TwitterAdapter:
    """The runner's factory: credentials from the environment, host from [twitter]."""
    # tweepy logs request headers, Authorization included, at DEBUG.
    logging.getLogger("tweepy").setLevel(max(logging.INFO, logging.getLogger().level))
    cfg = app.config.twitter
    return TwitterAdapter(app, client_from_env(cfg.api_base, cfg.request_timeout_s))


__all__ = ["PollReport", "SeenMention", "TwitterAdapter", "create"]
