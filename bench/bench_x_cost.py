"""What answering mentions on X costs: the real adapter vs a naive bot, on the local fake X.

    .venv/bin/python bench/bench_x_cost.py [--mentions 1000] [--authors 300] [--seed 7]

1,000 mentions from 300 distinct authors (Zipf-distributed repeats) over one UTC day,
half of them asking about another account (Zipf over the authors and 150 accounts that
never post to the bot). Every account has 100 recent posts with some engagement.

* adapter: bot.adapters.twitter.TwitterAdapter with the default config, except the
  per-author hourly cap and the daily budget, lifted so both bots answer every
  mention; polled every two minutes through the real tweepy client.
* naive: per mention, one user read and the subject's 100 most recent posts, then the
  reply; no cache, no batching. It runs against a second fake with the same accounts.

Both bills are X's: the fakes' ledgers charge each (UTC day, kind, resource) once, as
X does. The naive bot's list price (no daily dedupe) is printed too. Prices: post read
$0.005, user read $0.010, owned read $0.001, post $0.015, reply to a mention $0.010.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.twitter import TwitterAdapter
from bot.adapters.x_spend import PRICES, cost_of
from bot.adapters.x_transport import close_client, make_async_client
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config, TwitterSection
from scoring.config import ScoringConfig
from scoring.scale import score_from_public_metrics
from tests.fakes.x_fake import FakePost, FakeUser, FakeX

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
SPAN = timedelta(hours=20)
POLL = timedelta(minutes=2)
OUTSIDERS = 150
POSTS_PER_ACCOUNT = 100


@dataclasses.dataclass(frozen=True)
class Ask:
    at: datetime
    author: int  # index into the authors
    about: str | None  # username asked about, or None for "my score"


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1.0 / (rank ** s) for rank in range(1, n + 1)]


def workload(mentions: int, authors: int, seed: int) -> list[Ask]:
    rng = random.Random(seed)
    # Every author asks at least once; the rest of the mentions repeat Zipf-style.
    who = list(range(authors)) + rng.choices(range(authors), zipf_weights(authors),
                                             k=mentions - authors)
    rng.shuffle(who)
    pool = [f"author{i}" for i in range(authors)] + [f"outsider{i}" for i in range(OUTSIDERS)]
    pool_weights = zipf_weights(len(pool), 1.0)
    rng.shuffle(pool_weights)
    asks = []
    for n, author in enumerate(who):
        at = START + SPAN * (n / mentions)
        about = None
        if n % 2:
            about = rng.choices(pool, pool_weights)[0]
            while about == f"author{author}":
                about = rng.choices(pool, pool_weights)[0]
        asks.append(Ask(at, author, about))
    return asks


def populate(fake: FakeX, authors: int, seed: int) -> list[FakeUser]:
    rng = random.Random(seed + 1)
    people = []
    names = [f"author{i}" for i in range(authors)] + [f"outsider{i}" for i in range(OUTSIDERS)]
    for name in names:
        followers = int(rng.paretovariate(1.2) * 50)
        user = fake.add_user(name, followers_count=followers, listed_count=followers // 200,
                             created_at=START - timedelta(days=400))
        likes = followers / 100
        for i in range(POSTS_PER_ACCOUNT):
            fake.post(user, f"{name} post {i}", created_at=START - timedelta(hours=i + 1),
                      like_count=int(rng.expovariate(1 / (likes + 0.1))),
                      retweet_count=int(rng.expovariate(1 / (likes / 10 + 0.1))))
        people.append(user)
    return people


def question(ask: Ask) -> str:
    return f"@KloutBot what about @{ask.about}?" if ask.about else "@KloutBot what's my score?"


async def run_adapter(asks: list[Ask], authors: int, seed: int, db: Path,
                      estimate_posts: int, probe_below: int) -> dict[str, object]:
    clock = FixedClock(START - timedelta(minutes=5))

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    async with FakeX(bot_username="KloutBot", clock=clock.now) as fake:
        people = populate(fake, authors, seed)
        twitter = dataclasses.replace(TwitterSection(), api_base=fake.api_base,
                                      replies_per_author_per_hour=1_000,
                                      daily_budget_usd=1_000.0,
                                      estimate_posts=estimate_posts,
                                      probe_below_followers=probe_below)
        config = Config().with_overrides(twitter=twitter)
        started = time.perf_counter()
        async with KloutApp(config, clock=clock, db_path=db) as app:
            client = make_async_client(fake.api_base, **fake.credentials())
            adapter = TwitterAdapter(app, client, sleep=sleep, rng=random.Random(seed))
            try:
                await adapter.poll_once()  # first run: nothing to answer yet
                posted: list[FakePost] = []
                pending = list(asks)
                while pending or clock.now() < START + SPAN:
                    clock.advance(POLL)
                    while pending and pending[0].at <= clock.now():
                        ask = pending.pop(0)
                        posted.append(fake.post(people[ask.author], question(ask),
                                                created_at=ask.at))
                    await adapter.poll_once()
                await adapter.poll_once()
                ours = (await adapter.spend.report()).today
                samples = (adapter.profiles.bought_samples,
                           [fake.users[i].username for i in adapter.profiles.probed_quiet])
            finally:
                await adapter.close()
        seconds = time.perf_counter() - started
        replies = [sum(1 for p in fake.replies_to(m) if p.author_id == fake.bot.id)
                   for m in posted]
        return {"billed": dict(fake.ledger.counts), "usd": fake.ledger.total_usd,
                "ours": ours, "answered": sum(1 for r in replies if r == 1),
                "double": sum(1 for r in replies if r > 1), "requests": len(fake.requests),
                "seconds": seconds, "last": clock.now(), "samples": samples}


async def run_naive(asks: list[Ask], authors: int, seed: int) -> dict[str, object]:
    clock = FixedClock(START)
    async with FakeX(bot_username="KloutBot", clock=clock.now) as fake:
        people = populate(fake, authors, seed)
        by_name = {u.username: u for u in people}
        client = make_async_client(fake.api_base, **fake.credentials())
        reads = 0
        try:
            for ask in asks:
                clock.set(ask.at)
                mention = fake.post(people[ask.author], question(ask))
                subject = by_name[ask.about] if ask.about else people[ask.author]
                await client.get_user(id=subject.id, user_fields=["public_metrics"],
                                      user_auth=True)
                await client.get_users_tweets(subject.id, max_results=100,
                                              tweet_fields=["public_metrics"], user_auth=True)
                reads += 1 + POSTS_PER_ACCOUNT
                await client.create_tweet(text=f"{subject.username}: score ({mention.id})",
                                          in_reply_to_tweet_id=mention.id, user_auth=True)
        finally:
            await close_client(client)
        list_price = len(asks) * (PRICES["user_read"] + POSTS_PER_ACCOUNT * PRICES["post_read"]
                                  + PRICES["reply_create"])
        return {"billed": dict(fake.ledger.counts), "usd": fake.ledger.total_usd,
                "list_usd": list_price}


def _engagement(posts: list[FakePost]) -> dict[str, float]:
    n = max(len(posts), 1)
    return {"likes": sum(p.like_count for p in posts) / n,
            "retweets": sum(p.retweet_count for p in posts) / n,
            "replies": sum(p.reply_count for p in posts) / n,
            "quotes": sum(p.quote_count for p in posts) / n}


def probe_quality(probed: list[str], authors: int, seed: int, sample: int) -> str:
    """How the accounts whose one-post probe stood in for the sample in the run would
    have scored with the full sample, computed from the same fake accounts."""
    fake = FakeX(bot_username="KloutBot", clock=FixedClock(START).now)
    populate(fake, authors, seed)
    by_name = {u.username: u for u in fake.users.values()}
    cfg = ScoringConfig()
    diffs = []
    for user in (by_name[name] for name in probed):
        newest = fake.posts_by(user)[-sample:]
        f, listed = user.followers_count, user.listed_count
        full = score_from_public_metrics(f, listed, _engagement(newest), len(newest), cfg)
        diffs.append(full - score_from_public_metrics(f, listed, {}, 1, cfg))
    small = score_from_public_metrics(60, 0, {"likes": 25, "retweets": 3}, sample, cfg)
    bare = score_from_public_metrics(60, 0, {}, 0, cfg)
    if diffs:
        changed = [d for d in diffs if d]
        spread = (f"{len(changed)} of them score lower than the full sample would give "
                  f"(by {min(changed, default=0)}..{max(diffs)} points, mean "
                  f"{sum(diffs) / len(diffs):.1f} over all {len(diffs)}); "
                  f"{sum(1 for d in diffs if d >= 10)} by 10 points or more")
    else:
        spread = "none"
    return (f"probe stood in for the sample on {len(diffs)} accounts: {spread}.\n"
            f"a small engaged account (60 followers, 25 likes and 3 reposts a post): "
            f"{small} with the sample (its probe finds engagement, so the sample is "
            f"bought), {bare} with no sample at all")


def line(name: str, counts: dict[str, int], usd: Decimal, per_1000: Decimal) -> str:
    cells = "".join(f"{counts.get(k, 0):>13}" for k in PRICES)
    return f"{name:<22}{cells}{f'${usd:.2f}':>11}{f'${per_1000:.2f}':>14}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000)
    parser.add_argument("--authors", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--estimate-posts", type=int, default=TwitterSection().estimate_posts,
                        help="[twitter] estimate_posts for the adapter (default: the "
                             "config default)")
    parser.add_argument("--probe-below", type=int,
                        default=TwitterSection().probe_below_followers,
                        help="[twitter] probe_below_followers (0: no probe, always sample)")
    args = parser.parse_args()
    asks = workload(args.mentions, args.authors, args.seed)
    distinct_subjects = len({a.about or f"author{a.author}" for a in asks})
    with tempfile.TemporaryDirectory() as tmp:
        ours = await run_adapter(asks, args.authors, args.seed, Path(tmp) / "bench.db",
                                 args.estimate_posts, args.probe_below)
    naive = await run_naive(asks, args.authors, args.seed)
    answered = int(ours["answered"])  # type: ignore[call-overload]
    usd = Decimal(ours["usd"])  # type: ignore[arg-type]
    naive_usd = Decimal(naive["usd"])  # type: ignore[arg-type]
    print(f"{len(asks)} mentions from {args.authors} authors (Zipf), "
          f"{sum(1 for a in asks if a.about)} asking about another account; "
          f"{distinct_subjects} distinct accounts scored; one UTC day; "
          f"estimate_posts = {args.estimate_posts}, probe_below_followers = "
          f"{args.probe_below}")
    print(f"{'':<22}" + "".join(f"{k:>13}" for k in PRICES) + f"{'cost':>11}{'per 1,000':>14}")
    print(line("adapter (X's bill)", ours["billed"], usd,  # type: ignore[arg-type]
               usd * 1000 / max(answered, 1)))
    ours_counts: dict[str, int] = ours["ours"]  # type: ignore[assignment]
    print(line("adapter (own count)", ours_counts, cost_of(ours_counts),
               cost_of(ours_counts) * 1000 / max(answered, 1)))
    print(line("naive (X's bill)", naive["billed"], naive_usd,  # type: ignore[arg-type]
               naive_usd * 1000 / len(asks)))
    list_usd = Decimal(naive["list_usd"])  # type: ignore[arg-type]
    print(f"naive at list price, no daily dedupe: ${list_usd:.2f} "
          f"(${list_usd * 1000 / len(asks):.2f} per 1,000)")
    print(f"adapter: {answered} answered exactly once, {ours['double']} answered twice, "
          f"{ours['requests']} HTTP requests, {float(ours['seconds']):.1f}s wall time "  # type: ignore[arg-type]
          f"(simulated day ended {ours['last']:%H:%M} UTC)")
    bought, probed = ours["samples"]  # type: ignore[misc]
    print(f"engagement: {bought} samples bought, {len(probed)} one-post probes stood in "
          f"for one")
    if probed:
        print(probe_quality(probed, args.authors, args.seed, args.estimate_posts))
    print(f"target: under $20.00 per 1,000 answered mentions -> "
          f"{'met' if usd * 1000 / max(answered, 1) < 20 else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
