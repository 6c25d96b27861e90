"""Public metrics of X accounts, bought sparingly and cached (a PublicMetricsSource).

What is worth buying, per account and per `cache_ttl_s`:

* the profile (followers, listed count): one user read ($0.010), batched 100 ids a
  call, only for accounts whose score is asked (the mentions poll does not expand
  its authors, so someone who only asks about others is never bought);
* an engagement sample: `estimate_posts` recent original posts ($0.005 each; X sends at
  least 5). Posts that mention the bot are questions to it, billed as cheap owned
  reads, and left out of the average. Without a sample an estimate rests on the
  audience prior alone (a few points), so this is the purchase that makes an
  estimate meaningful; it is skipped for protected accounts and when the budget is
  short, in which case a stale sample (or none) is used and the log says so.
* optionally (`probe_below_followers`, off by default), before the sample, a one-post
  probe of a small account: its latest post (the id comes free with the user
  object), $0.005, and free again in the sample if one follows (X bills a post once
  a day). If nobody engaged with it, it stands in for the sample; if anyone did, the
  sample is bought. Skipped when the latest post is a question to the bot. Off by
  default because one quiet post says little: bench/bench_x_cost.py found most
  accounts it stood in for scoring 25-39 points below their sample's estimate.

Everything is cached in SQLite, so a repeat question within the TTL costs no read, and
a restart does not buy the same profile twice.

Consent comes first: an account that opted out or asked to be forgotten is never looked
up, sampled or cached, and a response that returns it anyway (a mention's author) is
not stored (`Consent.blocked`, the privacy service).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.adapters.x_api import BATCH_MAX, Page, XApi, XUnavailable, mention_ids
from bot.adapters.x_spend import BudgetExceeded
from bot.clock import Clock
from bot.services.estimates import PublicMetrics
from bot.storage import Storage
from bot.storage.twitter import ProfileRow, TwitterRepository
from commands.types import Person

log = logging.getLogger(__name__)
PLATFORM = "twitter"


class Consent(Protocol):
    async def blocked(self, person: Person) -> bool: ...


def _someone(user_id: str) -> Person:
    return Person(PLATFORM, user_id, "")


# likes, reposts, replies, quotes (the 2026 spec renames some; both are accepted)
_ENGAGEMENT = (("like_count",), ("retweet_count", "repost_count"), ("reply_count",),
               ("quote_count",))


def _metric(metrics: dict[str, Any], *names: str) -> float:
    for name in names:
        value = metrics.get(name)
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def created_seconds(user: dict[str, Any]) -> int | None:
    """When X says the account was created (epoch seconds); None if absent or garbled."""
    value = user.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(when.timestamp()) if when.tzinfo is not None else None


def profile_from_user(user: dict[str, Any], at: int) -> ProfileRow:
    metrics = user.get("public_metrics") or {}
    followers = metrics.get("followers_count")
    listed = metrics.get("listed_count")
    return ProfileRow(
        user_id=str(user["id"]), username=str(user.get("username", "")),
        status="protected" if user.get("protected") else "ok",
        followers=int(followers) if isinstance(followers, int) else None,
        listed=int(listed) if isinstance(listed, int) else None, fetched_at=at,
        latest_post_id=str(user["most_recent_tweet_id"]) if user.get("most_recent_tweet_id")
        else None)


class XProfiles:
    def __init__(self, api: XApi, repo: TwitterRepository, store: Storage, clock: Clock, *,
                 ttl_s: float, estimate_posts: int, consent: Consent,
                 probe_below_followers: int = 0) -> None:
        self.api = api
        self.consent = consent
        self.repo = repo
        self.store = store
        self.clock = clock
        self.ttl_s = ttl_s
        self.estimate_posts = estimate_posts
        self.probe_below_followers = probe_below_followers
        self.bought_samples = 0
        # Accounts whose one-post probe stood in for a sample (the bench measures them).
        self.probed_quiet: list[str] = []

    def _fresh(self, at: int | None) -> bool:
        return at is not None and self.clock.now().timestamp() - at < self.ttl_s

    async def blocked(self, user_id: str) -> bool:
        return await self.consent.blocked(_someone(user_id))

    async def _consenting(self, user_ids: Iterable[str]) -> list[str]:
        return [i for i in user_ids if not await self.blocked(i)]

    # -- profiles -----------------------------------------------------------------
    async def remember(self, users: Iterable[dict[str, Any]]) -> None:
        """Keep profiles a response returned anyway (mention authors) and feed the
        audience prior of observed scores; nothing of people who withdrew consent."""
        at = int(self.clock.now().timestamp())
        kept = [u for u in users if u.get("id") and not await self.blocked(str(u["id"]))]
        rows = [profile_from_user(u, at) for u in kept]
        await self.repo.put_profiles(rows)
        for user, row in zip(kept, rows, strict=True):
            account_id = await self.store.accounts.ensure(
                PLATFORM, row.user_id, display_name=row.username, handle=row.username)
            await self.store.accounts.set_audience(account_id, row.followers, row.listed,
                                                   created_seconds(user))

    async def _store_lookup(self, page: Page, asked: Sequence[str], by: str) -> None:
        await self.remember(page.users or page.data)
        at = int(self.clock.now().timestamp())
        missing = []
        for error in page.errors:
            value = str(error.get("value") or error.get("resource_id") or "")
            if value and value in asked:
                missing.append(ProfileRow(value if by == "id" else "",
                                          "" if by == "id" else value, "missing", None, None, at))
        await self.repo.put_profiles([m for m in missing
                                      if m.user_id and not await self.blocked(m.user_id)])

    async def prefetch(self, user_ids: Iterable[str]) -> None:
        """Look up, 100 a call, the profiles that are not cached or have gone stale."""
        wanted = await self._consenting(dict.fromkeys(i for i in user_ids if i))
        cached = await self.repo.profiles(wanted)
        stale = [i for i in wanted if i not in cached or not self._fresh(cached[i].fetched_at)]
        for start in range(0, len(stale), BATCH_MAX):
            chunk = stale[start:start + BATCH_MAX]
            try:
                page = await self.api.users(ids=chunk)
            except (BudgetExceeded, XUnavailable) as exc:
                log.warning("X profile lookups deferred (%s); cached profiles will be used",
                            exc)
                return
            await self._store_lookup(page, chunk, "id")

    async def resolve(self, usernames: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Handles X did not resolve in the post -> (id, username); unknown ones are left out."""
        found: dict[str, tuple[str, str]] = {}
        ask = []
        for name in dict.fromkeys(usernames):
            row = await self.repo.profile_by_username(name)
            if row is not None and row.user_id and self._fresh(row.fetched_at):
                if row.status != "missing":
                    found[name.lower()] = (row.user_id, row.username)
            else:
                ask.append(name)
        for start in range(0, len(ask), BATCH_MAX):
            chunk = ask[start:start + BATCH_MAX]
            try:
                page = await self.api.users(usernames=chunk)
            except (BudgetExceeded, XUnavailable) as exc:
                log.warning("X handle lookups deferred (%s)", exc)
                break
            await self._store_lookup(page, chunk, "username")
            for user in page.data:
                # A withdrawn account is still named in the answer (as opted out or
                # unknown), just never stored.
                found[str(user["username"]).lower()] = (str(user["id"]), str(user["username"]))
        return found

    # -- the PublicMetricsSource port -------------------------------------------------
    async def public_metrics(self, person: Person, now: datetime) -> PublicMetrics | None:
        if person.platform != PLATFORM or await self.consent.blocked(person):
            return None
        user_id = person.external_id
        profile = (await self.repo.profiles([user_id])).get(user_id)
        if profile is None or not self._fresh(profile.fetched_at):
            await self.prefetch([user_id])
            profile = (await self.repo.profiles([user_id])).get(user_id) or profile
        if profile is None or profile.status == "missing":
            return None
        if self.estimate_posts > 0 and profile.status == "ok" and not self._fresh(
                profile.posts_at):
            profile = await self._sample(profile)
        return PublicMetrics(
            followers=profile.followers, listed=profile.listed,
            engagement={"likes": profile.avg_likes, "retweets": profile.avg_retweets,
                        "replies": profile.avg_replies, "quotes": profile.avg_quotes},
            posts_sampled=profile.posts_sampled or 0)

    async def _probe_says_quiet(self, profile: ProfileRow) -> bool:
        """True when the account's latest post drew no engagement at all (one post read)."""
        latest = profile.latest_post_id
        if (not latest or (profile.followers or 0) >= self.probe_below_followers
                or await self.repo.known([latest])):
            return False  # no probe: big account, or its latest post is a question to us
        try:
            page = await self.api.post_metrics([latest])
        except (BudgetExceeded, XUnavailable) as exc:
            log.warning("X engagement probe of %s skipped (%s)", profile.username, exc)
            return False
        own = self.api.bot_id
        posts = [p for p in page.data if str(p.get("author_id")) == profile.user_id
                 and own not in mention_ids(p)
                 and not any(r.get("type") == "retweeted"
                             for r in p.get("referenced_tweets") or [])]
        if not posts:
            return False
        metrics = posts[0].get("public_metrics") or {}
        return not any(_metric(metrics, *names) > 0 for names in _ENGAGEMENT)

    async def _sample(self, profile: ProfileRow) -> ProfileRow:
        if self.probe_below_followers > 0 and await self._probe_says_quiet(profile):
            self.probed_quiet.append(profile.user_id)
            at = int(self.clock.now().timestamp())
            await self.repo.put_engagement(profile.user_id, 1, 0, 0, 0, 0, at)
            return (await self.repo.profiles([profile.user_id]))[profile.user_id]
        try:
            page = await self.api.recent_posts(profile.user_id, self.estimate_posts)
        except (BudgetExceeded, XUnavailable) as exc:
            state = "a stale sample" if profile.posts_sampled is not None else "no sample"
            log.warning("X engagement sample of %s skipped (%s); estimating with %s",
                        profile.username, exc, state)
            return profile
        self.bought_samples += 1
        at = int(self.clock.now().timestamp())
        if page.errors and not page.data:
            await self.repo.put_engagement(profile.user_id, 0, 0, 0, 0, 0, at, "protected")
            return (await self.repo.profiles([profile.user_id]))[profile.user_id]
        own = self.api.bot_id
        posts = [p for p in page.data if own not in mention_ids(p)]
        n = len(posts)
        totals = [0.0, 0.0, 0.0, 0.0]
        for post in posts:
            metrics = post.get("public_metrics") or {}
            for i, names in enumerate(_ENGAGEMENT):
                totals[i] += _metric(metrics, *names)
        averages = [t / n if n else 0.0 for t in totals]
        likes, retweets, replies, quotes = averages
        await self.repo.put_engagement(profile.user_id, n, likes, retweets, replies, quotes, at)
        return (await self.repo.profiles([profile.user_id]))[profile.user_id]
