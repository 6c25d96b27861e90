"""/privacy by mention, end to end: real tweepy against the local X, real SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.adapters.x_mentions import read_mention
from bot.adapters.x_text import weighted_length
from bot.clock import FixedClock
from tests.fakes.x_fake import FakePost, FakeUser, FakeX
from tests.privacy.helpers import confirm_code
from tests.twitter.helpers import T0, XBot, fake_x, x_bot


def _rows(db: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


async def _ask(bot: XBot, author: FakeUser, text: str) -> str:
    mention = bot.fake.post(author, text)
    await bot.poll()
    replies = bot.bot_replies(mention)
    row = await bot.adapter.repo.get(mention.id)
    assert len(replies) == 1, f"{text!r} got {len(replies)} replies ({row})"
    reply = replies[0].text
    assert "@" not in reply and weighted_length(reply) <= 280, reply
    return reply


def _ana_and_bo(fake: FakeX) -> tuple[FakeUser, FakeUser]:
    """ana, with five liked posts to sample, and bo."""
    ana = fake.add_user("ana_x", followers_count=300)
    bo = fake.add_user("bo_x", followers_count=80)
    for i in range(5):
        fake.post(ana, f"note {i}", like_count=4)
    return ana, bo


def _answered(bot: XBot, mention: FakePost) -> bool:
    return bool(bot.bot_replies(mention))


async def test_every_privacy_command_works_by_mention(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana, bo = _ana_and_bo(fake)
        # Six questions from ana within the hour: above the default per-author cap.
        async with x_bot(db, fake, clock, replies_per_author_per_hour=10) as bot:
            await bot.poll()  # first run: history is not answered
            # bo replies to ana and mentions the bot: an observed action on ana.
            fake.post(bo, "@ana_x @KloutBot nice", reply_to=fake.post(ana, "hello"))
            await bot.poll()

            info = await _ask(bot, ana, "@KloutBot privacy info")
            assert "never post text" in info

            out = await _ask(bot, ana, "@KloutBot privacy optout")
            assert "Done: your score is hidden" in out
            assert _rows(db, "SELECT opted_out FROM accounts WHERE external_id = ?",
                         ana.id) == [(1,)]
            about = await _ask(bot, bo, "@KloutBot what about @ana_x")
            assert "opted out" in about and "/100" not in about

            back = await _ask(bot, ana, "@KloutBot privacy optin")
            assert "Welcome back" in back
            assert _rows(db, "SELECT opted_out FROM accounts WHERE external_id = ?",
                         ana.id) == [(0,)]

            export = await _ask(bot, ana, "@KloutBot privacy export")
            assert "can't send files on X" in export and "/privacy export" in export

            asked = await _ask(bot, ana, "@KloutBot privacy forget")
            code = confirm_code(asked)
            assert "privacy forget confirm" in asked and "deletes" in asked
            # Someone else cannot confirm ana's deletion with her code.
            stolen = await _ask(bot, bo, f"@KloutBot privacy forget confirm {code}")
            assert "Forgotten" not in stolen
            assert _rows(db, "SELECT count(*) FROM accounts WHERE external_id = ?",
                         ana.id) == [(1,)]

            done = await _ask(bot, ana, f"@KloutBot privacy forget confirm {code}")
            # bo's reply to her and her own mentions of the bot (a plain message each).
            assert "Forgotten: 6 actions" in done, done
            assert _rows(db, "SELECT count(*) FROM accounts WHERE external_id = ?",
                         ana.id) == [(0,)]
            assert _rows(db, "SELECT count(*) FROM x_profiles WHERE user_id = ?",
                         ana.id) == [(0,)]
            # Her mention rows keep only post ids and statuses; no arguments (her code
            # included) outlive their answer, for anyone.
            assert _rows(db, "SELECT count(*) FROM x_mentions WHERE author_id = ? "
                             "OR author_handle = 'ana_x'", ana.id) == [(0,)]
            assert _rows(db, "SELECT count(*) FROM x_mentions WHERE args != '[]'") == [(0,)]
            assert set((await bot.statuses()).values()) == {"replied"}


async def test_privacy_words_are_parsed_in_a_thread_reply(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x")
        bo = fake.add_user("bo_x")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            root = fake.post(bo, "@KloutBot hi")
            await bot.poll()
            # X's apps put "@bo_x @KloutBot" in front of a reply in bo's thread.
            mention = fake.post(ana, "@bo_x @KloutBot privacy optout", reply_to=root)
            await bot.poll()
            [reply] = bot.bot_replies(mention)
            assert "Done: your score is hidden" in reply.text
            assert _rows(tmp_path / "x.db",
                         "SELECT external_id FROM accounts WHERE opted_out = 1") == [(ana.id,)]


async def test_forgotten_by_mention_stays_forgotten_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana, bo = _ana_and_bo(fake)
        async with x_bot(db, fake, clock) as bot:
            await bot.poll()
            await _ask(bot, ana, "@KloutBot how am I doing?")
            code = confirm_code(await _ask(bot, ana, "@KloutBot privacy forget"))
            assert "Forgotten" in await _ask(bot, ana, f"@KloutBot privacy forget confirm {code}")
        forgotten_at = len(fake.requests_to("GET", rf"^/2/users/{ana.id}/tweets"))
        assert forgotten_at == 1  # her first question bought one engagement sample
        lookups_before = len(fake.requests_to("GET", r"^/2/users$"))

        async with x_bot(db, fake, clock) as bot:  # a restart
            # She mentions the bot, bo replies to her and asks about her, and she shows
            # up in a thread: none of it brings her back.
            own = fake.post(ana, "@KloutBot and now?")
            fake.post(bo, "@ana_x @KloutBot agreed", reply_to=fake.post(ana, "hot take"))
            about = fake.post(bo, "@KloutBot what about @ana_x")
            for _ in range(2):
                await bot.poll(advance_s=600)
            assert len(bot.bot_replies(own)) == 1 and len(bot.bot_replies(about)) == 1
            assert "/100" not in bot.bot_replies(about)[0].text
            await bot.app.rescore_community("twitter", "x")
        for sql in ("SELECT count(*) FROM accounts WHERE external_id = ?",
                    "SELECT count(*) FROM x_profiles WHERE user_id = ?"):
            assert _rows(db, sql, ana.id) == [(0,)], sql
        assert _rows(db, "SELECT count(*) FROM events e JOIN accounts a "
                         "ON a.id IN (e.actor_id, e.target_id) WHERE a.external_id = ?",
                     ana.id) == [(0,)]
        # Never looked up again: no sample of her posts, no profile lookup by id.
        assert len(fake.requests_to("GET", rf"^/2/users/{ana.id}/tweets")) == forgotten_at
        assert not [r for r in fake.requests_to("GET", r"^/2/users$")[lookups_before:]
                    if ana.id in str(r.query.get("ids", ""))]


def test_only_privacy_keeps_its_words() -> None:
    def args_of(text: str) -> tuple[str, ...]:
        post = {"id": "100", "author_id": "7", "text": text, "entities": {"mentions": [
            {"username": "KloutBot", "id": "1"}]}}
        return read_mention(post, {}, "1", "KloutBot").row.args

    assert args_of("@KloutBot privacy forget confirm K7QX2M please now") == (
        "forget", "confirm", "K7QX2M")
    assert args_of("/klout my secret plans @KloutBot") == ()
    assert args_of("@KloutBot how influential am I really") == ()
