"""Every privacy reply renders for Discord the way the adapter will post it: private
answers are ephemeral, exports ride as attachments, the text pings nobody."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from bot.render import Rendered
from bot.services.linking import StaticXVerifier
from commands.types import Reply
from tests.core.helpers import T0, console_bot
from tests.privacy.helpers import confirm_code, link_code, request

D = "discord"


async def test_privacy_replies_on_discord(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "d.db") as bot:
        step = 0

        async def ask(command: str, *args: str,
                      admin: bool = False) -> tuple[Reply, Rendered]:
            nonlocal step
            step += 1
            at = T0 + timedelta(seconds=10 * step)
            return await bot.app.handle(request(D, "g1", "4242", command, *args, now=at,
                                                is_admin=admin))

        reply, info = await ask("privacy")
        assert info.title and info.body and "Never what anyone wrote" in info.body
        for sub in ("optout", "optin", "export"):
            reply, rendered = await ask("privacy", sub)
            assert reply.ephemeral, sub
            assert "@everyone" not in rendered.text
        reply, _ = await ask("privacy", "export")
        (attachment,) = reply.attachments
        assert attachment.filename.endswith(".json")
        assert attachment.content_type == "application/json"
        assert json.loads(attachment.data)["accounts"][0]["id"] == "4242"
        reply, preview = await ask("privacy", "forget")
        assert reply.ephemeral and preview.title == "Delete everything stored about you?"
        reply, _ = await ask("privacy", "forget", "confirm", confirm_code(preview.text))
        assert reply.template == "privacy_forgotten" and reply.ephemeral
        bot.app.privacy.use_verifier("twitter", StaticXVerifier())
        reply, issued = await ask("link", "twitter", "ana_x")
        assert reply.template == "errors/link_forgotten"  # forgotten people link nothing
        await ask("privacy", "optin")
        reply, issued = await ask("link", "twitter", "ana_x")
        assert reply.ephemeral and link_code(issued.text)
        reply, _ = await ask("privacy-wipe-community")
        assert reply.template == "errors/not_admin"
        reply, wipe = await ask("privacy-wipe-community", admin=True)
        assert "/kloutadmin wipe confirm" in wipe.text
        reply, wrong = await ask("privacy-wipe-community", "confirm", "NOPE22", admin=True)
        assert "/kloutadmin wipe" in wrong.text
