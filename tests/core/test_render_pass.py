"""One-pass rendering gives what rendering each block on its own gave, and the score-card
memo only ever returns a render of the very card it was asked about."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.render import Renderer, _tidy
from commands.ports import Contributor, ScoreCard
from commands.types import Reply


def _card(name: str = "ana", score: int = 50) -> ScoreCard:
    return ScoreCard("scored", name, score, "voice", 3, 1, 10, "replies", (40, 50),
                     (Contributor("bo", 0.5),), {"reply": 3}, {}, "m1")


def _separately(renderer: Renderer, name: str, platform: str, context: dict[str, object]
                ) -> tuple[str, dict[str, str]]:
    """The old four-pass render: the whole template, then each block in a fresh context."""
    template = renderer.template_for(name, platform)
    ctx = {"platform": platform, **context}
    text = _tidy(template.render(ctx))
    parts = {b: _tidy("".join(template.blocks[b](template.new_context(ctx))))
             for b in ("title", "body", "footer") if b in template.blocks}
    return text, parts


@pytest.mark.parametrize("platform", ["discord", "console", "twitter"])
@pytest.mark.parametrize("asking_self", [True, False])
@pytest.mark.parametrize("card", [
    _card(),
    dataclasses.replace(_card(), change_week=None, rank=None, trend=(), top_contributors=()),
    ScoreCard("unscored", "newcomer"),
])
def test_one_pass_matches_rendering_each_block(platform: str, asking_self: bool,
                                               card: ScoreCard) -> None:
    renderer = Renderer(memo_size=0)
    template = "klout" if card.status == "scored" else "klout_unscored"
    context = {"card": card, "asking_self": asking_self, "bot_name": "KloutBot"}
    rendered = renderer.render(Reply(template, context), platform)
    text, parts = _separately(renderer, template, platform, context)
    assert rendered.text == text
    assert (rendered.title, rendered.body, rendered.footer) == (
        parts.get("title"), parts.get("body"), parts.get("footer"))


def test_a_block_the_whole_render_skips_is_still_rendered(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text(
        "{% if show %}{% block title %}T {{ x }}{% endblock %}{% endif %}\n"
        "{% block body %}B {{ x }}{% endblock %}")
    rendered = Renderer(tmp_path).render(Reply("t", {"show": False, "x": 1}), "console")
    assert rendered.text == "B 1"
    assert (rendered.title, rendered.body) == ("T 1", "B 1")


def test_the_memo_returns_the_same_render_for_the_same_card() -> None:
    renderer = Renderer()
    card = _card()
    first = renderer.render(Reply("klout", {"card": card, "asking_self": False,
                                            "bot_name": "K"}), "discord")
    again = renderer.render(Reply("klout", {"card": card, "asking_self": False,
                                            "bot_name": "K"}), "discord")
    assert again is first


def test_the_memo_never_answers_for_another_card_or_way_of_asking() -> None:
    renderer = Renderer()
    card = _card()
    ask = {"card": card, "asking_self": False, "bot_name": "K"}
    base = renderer.render(Reply("klout", ask), "discord")
    equal_copy = dataclasses.replace(card)
    other = renderer.render(Reply("klout", {**ask, "card": dataclasses.replace(card, score=77)}),
                            "discord")
    assert base.title is not None and other.title is not None
    assert "50" in base.title and "77" in other.title
    assert renderer.render(Reply("klout", {**ask, "card": equal_copy}), "discord") is not base
    assert renderer.render(Reply("klout", {**ask, "asking_self": True}), "discord") is not base
    assert renderer.render(Reply("klout", ask), "console") is not base


def test_the_memo_is_bounded_and_skips_contexts_it_cannot_key() -> None:
    renderer = Renderer(memo_size=2)
    cards = [_card(score=s) for s in (10, 20, 30)]
    for card in cards:
        renderer.render(Reply("klout", {"card": card, "asking_self": False, "bot_name": "K"}),
                        "discord")
    assert len(renderer._memo) == 2
    renderer.render(Reply("errors/unknown_user", {"name": "x"}), "discord")  # no card
    renderer.render(Reply("klout", {"card": cards[0], "asking_self": False, "bot_name": "K",
                                    "extra": ["a list"]}), "discord")
    assert len(renderer._memo) == 2
