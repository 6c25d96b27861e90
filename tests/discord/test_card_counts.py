"""The /klout card's rank and member count, cached for big servers, match a plain count."""

from __future__ import annotations

from pathlib import Path

from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from bot.ingest import Activity
from commands.types import Person
from scoring.kinds import Kind
from tests.core.helpers import T0


def person(name: str) -> Person:
    return Person("console", name, name)


async def plain_counts(app: KloutApp, community_id: int, account_id: int) -> tuple[int, int]:
    """The rank and member count as the original, uncached queries computed them."""
    rank = await app.store.db.fetchone(
        "SELECT s.rank - (SELECT count(*) FROM scores s2 JOIN accounts a2 ON a2.id = "
        "s2.account_id WHERE s2.community_id = s.community_id AND s2.rank < s.rank "
        "AND a2.opted_out = 1) FROM scores s WHERE s.community_id = ? AND s.account_id = ?",
        (community_id, account_id))
    members = await app.store.db.fetchone(
        "SELECT count(*) FROM scores s JOIN accounts a ON a.id = s.account_id "
        "WHERE s.community_id = ? AND a.opted_out = 0", (community_id,))
    assert rank is not None and members is not None
    return int(rank[0]), int(members[0])


async def test_rank_and_members_follow_opt_outs_and_rescores(tmp_path: Path) -> None:
    names = [f"m{i:02d}" for i in range(30)]
    async with KloutApp(Config(), clock=FixedClock(T0), db_path=tmp_path / "c.db") as app:
        acts = [Activity("console", "c", person(fan), Kind.REPLY, T0, person(star), "", f"{i}")
                for i, star in enumerate(names) for fan in names[i + 1:i + 4]]
        await app.ingestor.record(acts)
        await app.rescore_community("console", "c")
        community = await app.store.communities.ensure("console", "c")

        async def check() -> None:
            for name in names:
                account = await app.store.accounts.by_external("console", name)
                assert account is not None
                card = await app.influence.card("console", "c", person(name), T0)
                if account.opted_out:
                    assert card.status == "opted_out"
                    continue
                assert (card.rank, card.members) == await plain_counts(
                    app, community.id, account.id)
            board = await app.influence.board("console", "c", 1, T0, "week")
            assert board.members == (await plain_counts(app, community.id, 1))[1]

        await check()
        for batch in (["m03", "m10"], ["m00"], ["m20", "m21"]):
            accounts = [await app.store.accounts.by_external("console", n) for n in batch]
            await app.store.privacy.set_opted_out([a for a in accounts if a], True)
            await check()
        back = await app.store.accounts.by_external("console", "m10")
        assert back is not None
        await app.store.privacy.set_opted_out([back], False)
        await check()
        await app.ingestor.record([Activity("console", "c", person("new"), Kind.REPLY, T0,
                                            person("m29"), "", "late")])
        await app.rescore_community("console", "c")
        await check()
