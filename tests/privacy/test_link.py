"""/link twitter and /unlink twitter, with the console's stand-in for X."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.ingest import Activity
from commands.types import Person
from scoring.kinds import Kind
from tests.core.helpers import T0, ConsoleBot, console_bot
from tests.privacy.helpers import build_community, link_code, request, rows, score_of, verifier

X = "twitter"


async def x_network(bot: ConsoleBot, handle: str, user_id: str, fans: int) -> None:
    """An X community where `fans` people reply to @handle's post, then a rescore."""
    me = Person(X, user_id, handle, handle=handle)
    acts = [Activity(X, "x", me, Kind.MESSAGE, T0, None, "", "p1")]
    for i in range(fans):
        fan = Person(X, f"9{i}", f"fan{i}", handle=f"fan{i}")
        acts.append(Activity(X, "x", fan, Kind.REPLY, T0, me, "", "p1"))
        acts.append(Activity(X, "x", fan, Kind.LIKE, T0, me, "", "p1"))
    await bot.app.ingestor.record(acts)
    await bot.app.rescore_community(X, "x")


async def test_link_verify_combines_scores_and_unlink_undoes(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        await x_network(bot, "ana_x", "1001", fans=12)
        verifier(bot).set_account("ana_x", "1001")
        alone = score_of(await bot.say("/klout", as_="ana"))
        issued = await bot.say("/link twitter @ana_x", as_="ana")
        code = link_code(issued)
        assert "verify within 30 minutes" in issued
        # Not in the bio yet.
        assert "don't see your code" in await bot.say("/link twitter verify", as_="ana")
        await bot.say(f"xbio ana_x building things · {code}", as_="ana")
        assert "Linked: X account ana_x" in await bot.say("/link twitter verify", as_="ana")
        assert rows(db, "SELECT count(*) FROM link_codes") == [(0,)]
        mine = await bot.say("/klout", as_="ana")
        combined = score_of(mine)
        assert combined > alone
        assert f"Combined: here {alone} + X (ana_x) " in mine
        # Others see the parts, but not the handle.
        theirs = await bot.say("/klout @ana", as_="bo")
        assert score_of(theirs) == combined
        assert "Combined: here" in theirs and "ana_x" not in theirs
        # Rank and leaderboard stay this community's own.
        board = await bot.say("/leaderboard", as_="bo")
        assert f"ana · {alone} ·" in board
        # On X, nothing from the private community is added.
        _, x_card = await bot.app.handle(request(X, "x", "1001", "klout"))
        assert "Combined" not in x_card.text
        assert "already have X account ana_x" in await bot.say("/link twitter other_x",
                                                                as_="ana")
        assert "Unlinked X account ana_x" in await bot.say("/unlink twitter", as_="ana")
        assert score_of(await bot.say("/klout", as_="ana")) == alone
        assert "no X account linked" in await bot.say("/unlink twitter", as_="ana")


async def test_link_to_an_unscored_member_shows_the_x_score(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "n.db") as bot:
        await x_network(bot, "zed_x", "2002", fans=5)
        verifier(bot).set_account("zed_x", "2002")
        code = link_code(await bot.say("/link twitter zed_x", as_="zed"))
        await bot.say(f"xbio zed_x {code}")
        assert "Linked" in await bot.say("/link twitter verify", as_="zed")
        out = await bot.say("/klout", as_="zed")
        assert "Combined: here not scored yet + X (zed_x)" in out
        assert score_of(out) > 1


async def test_expired_and_wrong_codes_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    async with console_bot(db) as bot:
        first = link_code(await bot.say("/link twitter ana_x", as_="ana"))
        bot.clock.advance(timedelta(minutes=31))
        await bot.say(f"xbio ana_x {first}")
        assert "has expired" in await bot.say("/link twitter verify", as_="ana")
        assert "no link waiting" in await bot.say("/link twitter verify", as_="ana")
        second = link_code(await bot.say("/link twitter ana_x", as_="ana"))
        assert second != first
        # The old code in the bio is the wrong code now.
        assert "don't see your code" in await bot.say("/link twitter verify", as_="ana")
        assert "isn't the code I gave you" in await bot.say(
            f"/link twitter verify {first}", as_="ana")
        await bot.say(f"xbio ana_x {second}")
        assert "Linked" in await bot.say(f"/link twitter verify {second.lower()}", as_="ana")
        assert rows(db, "SELECT count(*) FROM account_links") == [(1,)]


async def test_one_x_account_cannot_belong_to_two_people(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    async with console_bot(db) as bot:
        ana = link_code(await bot.say("/link twitter shared_x", as_="ana"))
        # bo asks for a code for the same account before ana verified: allowed ...
        bo = link_code(await bot.say("/link twitter shared_x", as_="bo"))
        await bot.say(f"xbio shared_x {ana} {bo}")
        assert "Linked" in await bot.say("/link twitter verify", as_="ana")
        # ... but whoever verifies second is refused, even with a valid code in the bio.
        assert "linked to someone else" in await bot.say("/link twitter verify", as_="bo")
        assert "linked to someone else" in await bot.say("/link twitter Shared_X", as_="bo")
        assert rows(db, "SELECT count(*) FROM account_links") == [(1,)]


async def test_link_refusals_are_clear(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "r.db") as bot:
        assert "no link waiting" in await bot.say("/link twitter verify", as_="ana")
        assert "isn't an X handle" in await bot.say("/link twitter not-a-handle!")
        assert "Usage: /link twitter HANDLE" in await bot.say("/link")
        assert "I can only link X accounts" in await bot.say("/link mastodon ana")
        await bot.say("/link twitter ghost_x", as_="ana")
        assert "can't find an X account called ghost_x" in await bot.say(
            "/link twitter verify", as_="ana")
        verifier(bot).set_account("real_x", "77")
        _, x_reply = await bot.app.handle(request(X, "x", "77", "link", "twitter", "real_x"))
        assert "from Discord" in x_reply.text
        bot.app.privacy._verifiers.clear()
        assert "isn't connected to X" in await bot.say("/link twitter real_x", as_="ana")


async def test_forgotten_x_account_comes_back_only_by_proof(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    async with console_bot(db) as bot:
        await x_network(bot, "ana_x", "1001", fans=3)
        x_ana = Person(X, "1001", "ana_x", handle="ana_x")
        await bot.app.privacy.forget(x_ana)
        await x_network(bot, "ana_x", "1001", fans=3)  # backfill: dropped
        assert rows(db, "SELECT count(*) FROM accounts WHERE external_id = '1001'") == [(0,)]
        code = link_code(await bot.say("/link twitter ana_x", as_="ana"))
        verifier(bot).set_account("ana_x", "1001", bio=code)
        assert "Linked" in await bot.say("/link twitter verify", as_="ana")
        await x_network(bot, "ana_x", "1001", fans=3)
        assert rows(db, "SELECT count(*) FROM events e JOIN accounts a ON a.id = e.target_id "
                        "WHERE a.external_id = '1001'") == [(6,)]


async def test_forget_takes_linked_accounts_with_it(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        await x_network(bot, "ana_x", "1001", fans=4)
        verifier(bot).set_account("ana_x", "1001")
        code = link_code(await bot.say("/link twitter ana_x", as_="ana"))
        await bot.say(f"xbio ana_x {code}")
        await bot.say("/link twitter verify", as_="ana")
        preview = await bot.say("/privacy forget", as_="ana")
        assert "1 linked account" in preview and "in 2 communities" in preview
        from tests.privacy.helpers import confirm_code
        await bot.say(f"/privacy forget confirm {confirm_code(preview)}", as_="ana")
        assert rows(db, "SELECT count(*) FROM accounts WHERE external_id IN ('ana', '1001')"
                    ) == [(0,)]
        assert rows(db, "SELECT count(*) FROM account_links") == [(0,)]
        await x_network(bot, "ana_x", "1001", fans=4)
        assert rows(db, "SELECT count(*) FROM accounts WHERE external_id = '1001'") == [(0,)]
