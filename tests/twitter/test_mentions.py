"""Mentions in, replies out: the real tweepy client against the local fake X API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.adapters.x_text import weighted_length
from bot.clock import FixedClock
from tests.twitter.helpers import T0, fake_x, x_bot


async def test_first_run_does_not_answer_history(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice", followers_count=50)
        old = [fake.post(alice, f"@KloutBot old question {i}") for i in range(7)]
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            first = await bot.poll()
            assert (first.claimed, first.replied) == (0, 0)
            assert all(bot.bot_replies(m) == [] for m in old)
            fresh = fake.post(alice, "@KloutBot and now?")
            second = await bot.poll()
            assert (second.claimed, second.replied) == (1, 1)
            assert len(bot.bot_replies(fresh)) == 1
            assert all(bot.bot_replies(m) == [] for m in old)
        # A restart is not a first run: history stays unanswered, new mentions are answered.
        later = fake.post(alice, "@KloutBot once more")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            report = await bot.poll()
            assert report.replied == 1 and len(bot.bot_replies(later)) == 1
            assert all(bot.bot_replies(m) == [] for m in old)


async def test_mention_gets_one_reply_with_score_tier_and_why(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice_x", followers_count=900, listed_count=4)
        for i in range(6):
            fake.post(alice, f"post {i}", like_count=12, retweet_count=2)
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            mention = fake.post(alice, "@KloutBot what's my klout?")
            report = await bot.poll()
            [reply] = bot.bot_replies(mention)
            assert report.replied == 1
            assert "/100" in reply.text and "alice_x" in reply.text
            assert "@" not in reply.text
            assert "estimated from public audience and engagement" in reply.text
            tier = reply.text.split("/100 (")[1].split(")")[0].split(",")[0]
            assert tier in {"pariah", "lurker", "regular", "voice", "influencer", "luminary",
                            "guru"}
            assert weighted_length(reply.text) <= 280
            statuses = await bot.statuses()
            assert statuses == {mention.id: "replied"}
            row = await bot.adapter.repo.get(mention.id)
            assert row is not None and row.reply_id == reply.id and row.reply_text is None
            # Another poll re-reads the overlap but never answers twice.
            await bot.poll()
            assert len(bot.bot_replies(mention)) == 1


async def test_asking_about_someone_never_seen_uses_public_metrics(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        asker = fake.add_user("asker")
        star = fake.add_user("bigstar", followers_count=2_000_000, listed_count=9_000)
        quiet = fake.add_user("quietone", followers_count=40)
        for i in range(8):
            fake.post(star, f"hello world {i}", like_count=3_000, retweet_count=300)
            fake.post(quiet, f"hm {i}")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            ask_star = fake.post(asker, "@KloutBot what about @bigstar?")
            clock.advance(timedelta(seconds=5))  # past the per-user cooldown
            ask_quiet = fake.post(asker, "@KloutBot and @quietone")
            await bot.poll()
            [star_reply] = bot.bot_replies(ask_star)
            [quiet_reply] = bot.bot_replies(ask_quiet)
            star_score = int(star_reply.text.split("/100")[0].split()[-1])
            quiet_score = int(quiet_reply.text.split("/100")[0].split()[-1])
            assert "bigstar" in star_reply.text and "@bigstar" not in star_reply.text
            assert star_score >= 75 > 20 >= quiet_score
            # One batched lookup for both targets, one sample of recent posts each.
            lookups = fake.requests_to("GET", r"^/2/users$")
            assert len(lookups) == 1
            assert set(lookups[0].query["ids"].split(",")) == {star.id, quiet.id}
            samples = fake.requests_to("GET", r"^/2/users/\d+/tweets$")
            assert {r.path.split("/")[3] for r in samples} == {star.id, quiet.id}

            # Asking again costs no read at all: profiles and samples are cached.
            before = dict(fake.ledger.counts)
            again = fake.post(asker, "@KloutBot what about @bigstar now?")
            await bot.poll()
            assert len(bot.bot_replies(again)) == 1
            after = fake.ledger.counts
            assert after["user_read"] == before["user_read"]
            assert after["post_read"] == before["post_read"]
            assert len(fake.requests_to("GET", r"^/2/users$")) == 1


async def test_asking_about_an_observed_account_uses_what_the_bot_saw(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        carol = fake.add_user("carol", followers_count=30)
        fans = [fake.add_user(f"fan{i}", followers_count=10) for i in range(6)]
        carol_post = fake.post(carol, "@KloutBot hi, is this on?")
        async with x_bot(tmp_path / "x.db", fake, clock, estimate_posts=0) as bot:
            await bot.poll()
            # The conversation the bot sees: fans reply to carol and mention her, tagging it.
            for fan in fans:
                fake.post(fan, "@carol so true @KloutBot", reply_to=carol_post)
                fake.post(fan, "@KloutBot have you met @carol?")
            await bot.poll()
            ask = fake.post(fans[0], "@KloutBot what about @carol")
            await bot.poll()
            [reply] = bot.bot_replies(ask)
            assert "carol" in reply.text and "Driven most by:" in reply.text
            assert "estimated from public" not in reply.text
            assert "#1 of" in reply.text


async def test_unknown_handle_gets_a_polite_answer(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            mention = fake.post(alice, "@KloutBot what about @nobody_here")
            await bot.poll()
            [reply] = bot.bot_replies(mention)
            assert "I don't know anyone called nobody_here" in reply.text
            assert "Traceback" not in reply.text


async def test_overlap_catches_a_mention_indexed_late(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        bob = fake.add_user("bob")
        async with x_bot(tmp_path / "x.db", fake, clock, poll_overlap_s=300) as bot:
            await bot.poll()
            late = fake.post(alice, "@KloutBot score?")
            hidden = fake.posts.pop(late.id)  # X has not indexed it yet
            clock.advance(timedelta(seconds=5))
            newer = fake.post(bob, "@KloutBot me too")
            await bot.poll()
            assert len(bot.bot_replies(newer)) == 1
            fake.posts[late.id] = hidden  # now it shows up, with an id below since_id
            await bot.poll()
            assert len(bot.bot_replies(late)) == 1
            assert len(bot.bot_replies(newer)) == 1


async def test_repeat_questions_never_repeat_the_same_words(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock, replies_per_author_per_hour=50) as bot:
            await bot.poll()
            asks = []
            for i in range(30):
                asks.append(fake.post(alice, f"@KloutBot score please {i}"))
                await bot.poll(advance_s=5)  # past the per-user cooldown
            texts = [r.text for m in asks for r in bot.bot_replies(m)]
            assert len(texts) == 30 and len(set(texts)) == 30
            refused = [r for r in fake.requests_to("POST", r"^/2/tweets$") if r.status != 201]
            assert refused == []


async def test_a_duplicate_refusal_is_retried_once_in_other_words(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            mention = fake.post(alice, "@KloutBot hi")
            original = bot.adapter.composer.render
            first_text: list[str] = []

            def render_and_pre_post(reply, variant, asker, stamp=""):  # type: ignore[no-untyped-def]
                text = original(reply, variant, asker, stamp)
                if not first_text:
                    first_text.append(text)
                    fake.post(fake.bot, text)  # X already has these exact words
                return text

            bot.adapter.composer.render = render_and_pre_post  # type: ignore[method-assign]
            await bot.poll()
            [reply] = bot.bot_replies(mention)
            assert reply.text != first_text[0]
            statuses = [r.status for r in fake.requests_to("POST", r"^/2/tweets$")]
            assert statuses == [403, 201]


async def test_protected_accounts_are_estimated_from_their_profile_only(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        asker = fake.add_user("asker")
        fake.add_user("locked", protected=True, followers_count=5_000, listed_count=20)
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            ask = fake.post(asker, "@KloutBot what about @locked")
            await bot.poll()
            [reply] = bot.bot_replies(ask)
            assert "locked" in reply.text and "estimated from public" in reply.text
            assert fake.requests_to("GET", r"^/2/users/\d+/tweets$") == []


async def test_run_polls_until_closed(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            task = asyncio.create_task(bot.adapter.run())
            await fake.wait_for_request("GET", r"/mentions$", timeout=5, count=2)
            mention = fake.post(alice, "@KloutBot hi")
            await fake.wait_for_request("POST", r"^/2/tweets$", timeout=5)
            await bot.adapter.close()
            await asyncio.wait_for(task, 5)
            assert len(bot.bot_replies(mention)) == 1
            assert set(bot.sleep.slept) == {60.0}  # the poll interval, on the test clock


async def test_authors_are_looked_up_only_when_their_profile_is_needed(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x", followers_count=70)
        star = fake.add_user("bigstar", followers_count=90_000)
        for i in range(5):
            fake.post(star, f"hello {i}", like_count=400)
        async with x_bot(db, fake, clock) as bot:
            await bot.poll()
            about = fake.post(ana, "@KloutBot what about @bigstar?")
            await bot.poll()
            [reply] = bot.bot_replies(about)
            assert "bigstar" in reply.text and "ana_x" not in reply.text
            # ana's profile was never bought: asking about someone needs theirs only.
            assert not fake.ledger.charged("user_read", ana.id)
            rows = await bot.app.store.db.fetchall(
                "SELECT handle, display_name FROM accounts WHERE external_id = ?", (ana.id,))
            assert [tuple(r) for r in rows] == [(None, None)]
            # Her own score needs her profile: one lookup, and her name comes with it.
            clock.advance(timedelta(seconds=10))
            mine = fake.post(ana, "@KloutBot and me?")
            await bot.poll()
            [answer] = bot.bot_replies(mine)
            assert "/100" in answer.text
            assert fake.ledger.charged("user_read", ana.id)
            rows = await bot.app.store.db.fetchall(
                "SELECT handle FROM accounts WHERE external_id = ?", (ana.id,))
            assert [tuple(r) for r in rows] == [("ana_x",)]
