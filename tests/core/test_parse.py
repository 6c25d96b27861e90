"""What people type, as commands: the sentence forms used by mentions."""

from __future__ import annotations

import pytest

from commands.parse import parse

BOT = "123"


@pytest.mark.parametrize(("text", "args"), [
    ("<@123> leaderboard", ()),
    ("<@123> leaderboard 2", ("2",)),
    ("<@123> leaderboard page 3, all time please", ("3", "all", "time")),
    ("<@123> show me the leaderboard alltime!", ("alltime",)),
    ("<@123> leaderboard please 2", ()),  # the first other word ends the arguments
])
def test_leaderboard_sentences_keep_page_and_period(text: str, args: tuple[str, ...]) -> None:
    parsed = parse(text, BOT)
    assert parsed is not None
    assert (parsed.name, parsed.args) == ("leaderboard", args)


def test_a_mention_of_someone_else_is_a_klout_question() -> None:
    parsed = parse("<@123> what about <@456>?", BOT)
    assert parsed is not None
    assert (parsed.name, parsed.args, parsed.mentions) == ("klout", (), ("456",))
