"""The one-post engagement probe (opt-in, [twitter] probe_below_followers): a full
sample only when the account's latest post drew any engagement."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import FixedClock
from tests.fakes.x_fake import FakeX
from tests.twitter.helpers import T0, XBot, fake_x, x_bot


def _score(text: str) -> int:
    return int(text.split("/100")[0].split()[-1])


async def _ask_about(bot: XBot, fake: FakeX, handle: str) -> int:
    asker = fake.find_user("asker") or fake.add_user("asker")
    mention = fake.post(asker, f"@KloutBot what about @{handle}?")
    await bot.poll()
    bot.clock.advance(timedelta(seconds=10))
    [reply] = bot.bot_replies(mention)
    return _score(reply.text)


def _sampled(fake: FakeX, user_id: str) -> bool:
    return bool(fake.requests_to("GET", rf"^/2/users/{user_id}/tweets$"))


async def test_probe_buys_the_sample_only_when_it_can_matter(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        engaged = fake.add_user("small_engaged", followers_count=60)
        quiet = fake.add_user("small_quiet", followers_count=60)
        big = fake.add_user("big_quiet", followers_count=50_000, listed_count=100)
        for i in range(6):
            fake.post(engaged, f"idea {i}", like_count=25, retweet_count=3)
            fake.post(quiet, f"hm {i}")
            fake.post(big, f"news {i}")
        async with x_bot(tmp_path / "x.db", fake, clock, probe_below_followers=1_000) as bot:
            await bot.poll()
            engaged_score = await _ask_about(bot, fake, "small_engaged")
            quiet_score = await _ask_about(bot, fake, "small_quiet")
            await _ask_about(bot, fake, "big_quiet")
            # The engaged account's latest post drew likes: the full sample was bought,
            # and engagement lifts it far above an equally small quiet account.
            assert _sampled(fake, engaged.id) and engaged_score >= quiet_score + 15
            # The quiet one cost one post read instead of five.
            assert not _sampled(fake, quiet.id)
            assert bot.adapter.profiles.probed_quiet == [quiet.id]
            # Big accounts are never judged on one post.
            assert _sampled(fake, big.id)


async def test_probe_reads_the_latest_post_and_a_sample_reuses_it(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x", followers_count=60)
        for i in range(6):
            fake.post(ana, f"idea {i}", like_count=3)
        async with x_bot(tmp_path / "x.db", fake, clock, probe_below_followers=1_000) as bot:
            await bot.poll()
            await _ask_about(bot, fake, "ana_x")
            [probe] = fake.requests_to("GET", r"^/2/tweets$")
            latest = fake.posts_by(ana)[-1].id
            assert probe.query["ids"] == latest
            # The probe post is in the sample too and X bills it once that day.
            charges = [c for c in fake.ledger.charges if c.resource_id == latest]
            assert len(charges) == 1


async def test_probe_is_off_by_default(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        quiet = fake.add_user("small_quiet", followers_count=60)
        for i in range(6):
            fake.post(quiet, f"hm {i}")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            await _ask_about(bot, fake, "small_quiet")
            assert _sampled(fake, quiet.id)
            assert fake.requests_to("GET", r"^/2/tweets$") == []
