"""The render pool and its cache, and avatars from the (fake) CDN with a deadline."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from bot.cards.avatars import AvatarFetcher
from bot.cards.draw import CARD_SIZE, render_card
from bot.cards.service import CardImages
from bot.config import CardsSection
from tests.cards.references import avatar_png, card
from tests.fakes.discord_fake import FakeDiscord


async def test_cards_render_in_workers_once_per_spec() -> None:
    images = CardImages(CardsSection(workers=1, cache_size=2))
    try:
        first = await images.card(card("Zoë", None))
        assert first == render_card(card("Zoë", None))  # a worker draws what this would
        assert Image.open(io.BytesIO(first)).size == CARD_SIZE
        assert await images.card(card("Zoë", None)) is first
        assert (images.rendered, images.hits) == (1, 1)
        # Every input is in the key: another avatar is another image.
        with_avatar = await images.card(card("Zoë", avatar_png()))
        assert with_avatar != first and images.rendered == 2
        await images.card(card("Ann", None))  # the cache holds two: Zoë's first goes
        await images.card(card("Zoë", None))
        assert images.rendered == 4
        images.forget()
        await images.card(card("Ann", None))
        assert images.rendered == 5
    finally:
        await images.close()
    assert images._pool is None


async def test_avatars_are_fetched_once_and_a_slow_cdn_gives_none() -> None:
    async with FakeDiscord() as fake:
        avatars = AvatarFetcher(fake.http_base, timeout_s=0.2, cache_size=10)
        try:
            data = await avatars.get("/embed/avatars/1.png?size=128")
            assert data is not None and Image.open(io.BytesIO(data)).size == (128, 128)
            assert await avatars.get("/embed/avatars/1.png?size=128") is data
            assert fake.avatar_requests == ["/embed/avatars/1.png?size=128"]
            fake.avatar_delay_s = 1.0
            assert await avatars.get("/avatars/9/abc.png?size=128") is None
            assert avatars.failed == 1
            fake.avatar_delay_s = 0.0
            assert await avatars.get("/avatars/9/abc.png?size=128") is not None  # tried again
            # Asked by many at once (a burst), fetched once.
            before = len(fake.avatar_requests)
            many = await asyncio.gather(*(avatars.get("/avatars/7/x.png") for _ in range(20)))
            assert len(fake.avatar_requests) == before + 1
            assert all(m is many[0] and m is not None for m in many)
        finally:
            await avatars.close()
