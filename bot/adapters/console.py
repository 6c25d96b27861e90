"""The console adapter: the whole bot in a terminal, and the test harness.

Lines are read from a stream (a TTY or a pipe). You act as one user at a time
(`/as NAME` switches), post and react like on a chat platform, and ask the bot
the same commands Discord and X users send. Like errbot's text backend, tests
drive it with `exec_line` and read the reply text back.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.adapters.line_input import read_lines
from bot.adapters.text_edge import clean_text
from bot.app import KloutApp
from bot.ingest import Activity
from bot.leaderboards.target import PostRef
from bot.services.linking import StaticXVerifier
from commands.errors import UserError
from commands.parse import MAX_INPUT, clean, parse
from commands.types import Person, Reply, Request
from scoring.kinds import Kind

log = logging.getLogger(__name__)
PLATFORM = "console"
_NAME = re.compile(r"^[\w.\-]{1,32}$", re.UNICODE)
_REF = re.compile(r"^#?(\d{1,18})$")
# A line longer than this many bytes is no command (MAX_INPUT characters of up to four
# bytes each): it is skipped without being read into memory.
LINE_LIMIT_BYTES = 4 * MAX_INPUT
_EOF = object()


class ConsoleAdapter:
    name = "console"

    def __init__(self, app: KloutApp, *, user: str, community: str,
                 stdin: TextIO | None = None, stdout: TextIO | None = None,
                 prompt: bool | None = None) -> None:
        self.app = app
        self.community = community
        self.user = _valid_name(user)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.prompt = self.stdin.isatty() if prompt is None else prompt
        self._closed = False
        app.adapters.setdefault(PLATFORM, self)
        # Without the X adapter, `xbio HANDLE TEXT` stands in for editing an X bio, so
        # /link twitter can be tried (and tested) end to end in the console.
        if app.privacy.verifier("twitter") is None:
            app.privacy.use_verifier("twitter", StaticXVerifier())

    # -- Adapter protocol -------------------------------------------------
    async def run(self) -> None:
        self._write(self._ack("banner", community=self.community, user=self.user))
        lines = read_lines(self.stdin, LINE_LIMIT_BYTES)
        try:
            while not self._closed:
                if self.prompt:
                    self.stdout.write(f"{self.user}> ")
                    self.stdout.flush()
                line = await anext(lines, _EOF)
                if isinstance(line, str):
                    out = await self.exec_line(line)
                elif line is None:  # longer than any command: skipped unread
                    out = self._refusal(UserError("too_long", limit=MAX_INPUT))
                else:  # the pipe is done
                    break
                if out:
                    self._write(out)
        finally:
            await lines.aclose()
        await self.app.writer.flush()

    async def send(self, destination: str, reply: Reply) -> str | None:
        """Print to the terminal as `[destination] text`. The post is kept in the
        database first, like a platform keeps a message, so the bot can read its own
        recent posts back (recent_own_posts) after a crash."""
        rendered = self.app.renderer.render(reply, PLATFORM)
        text = rendered.text
        message_id = await self.app.store.leaderboards.record_console_post(
            destination, text, int(self.app.clock.now().timestamp()))
        self._write(f"[{destination}] {text}")
        return str(message_id)

    async def recent_own_posts(self, destination: str, since: datetime) -> list[PostRef]:
        posts = await self.app.store.leaderboards.console_posts(destination,
                                                                int(since.timestamp()))
        return [PostRef(str(p.id), p.text) for p in posts]

    async def close(self) -> None:
        self._closed = True

    # -- the harness -------------------------------------------------------
    async def exec_line(self, line: str) -> str:
        """Handle one input line; returns what the console prints (may be empty)."""
        try:
            return await self._exec(clean_text(line))
        except UserError as exc:
            return self._refusal(exc)
        except Exception as exc:  # the console never dies on one bad line
            template = getattr(exc, "reply_template", "errors/internal")
            if template == "errors/internal":
                log.exception("console line failed")
            else:
                log.error("console line failed: %s", exc)
            return self.app.renderer.render(Reply(template), PLATFORM).text

    def _refusal(self, exc: UserError) -> str:
        return self.app.renderer.render(Reply(exc.template, exc.context), PLATFORM).text

    async def _exec(self, line: str) -> str:
        if len(line) > MAX_INPUT:
            raise UserError("too_long", limit=MAX_INPUT)
        text = clean(line).strip()
        if not text:
            return ""
        word, _, rest = text.partition(" ")
        low = word.lower()
        if low in ("/quit", "/exit"):
            await self.close()
            return self._ack("bye")
        if low == "/as":
            self.user = _valid_name(rest.strip().lstrip("@"))
            return self._ack("switched", user=self.user)
        if low == "/rescore":
            await self.app.rescore_community(PLATFORM, self.community)
            return self._ack("rescored")
        if low == "/community":
            self.community = _valid_name(rest.strip())
            return self._ack("community", community=self.community)
        if low == "xbio":
            return self._set_x_bio(rest)
        if low in ("post", "say"):
            return await self._post(rest)
        if low == "reply":
            return await self._act(rest, Kind.REPLY, "reply")
        if low == "react":
            return await self._act(rest, Kind.REACTION, "react")
        if low == "mention":
            return await self._post(rest)
        command = parse(text, self.app.config.bot.name)
        if command is None:
            return await self._post(text)
        await self.app.rescore_community(PLATFORM, self.community, only_if_stale=True)
        targets, unresolved = await self._resolve(command.mentions)
        request = Request(
            platform=PLATFORM, community=self.community, author=self._person(self.user),
            command=command.name, args=command.args, targets=targets,
            unresolved=unresolved, now=self.app.clock.now(), channel="console",
            community_name=self.community, is_admin=True,
        )
        reply, rendered = await self.app.handle(request)
        out = rendered.text
        for attachment in reply.attachments:
            path = self._save(attachment.filename, attachment.data)
            out += "\n" + self._ack("saved", path=str(path))
        return out

    def _save(self, filename: str, data: bytes) -> Path:
        """Attachments (data exports) go next to the database, named after the user."""
        folder = Path(self.app.db_path).expanduser().resolve().parent
        if self.app.db_path == ":memory:":
            folder = Path.cwd()
        path = folder / f"{self.user}-{Path(filename).name}"
        path.write_bytes(data)
        return path

    def _set_x_bio(self, rest: str) -> str:
        handle, _, bio = rest.strip().partition(" ")
        handle = handle.lstrip("@")
        verifier = self.app.privacy.verifier("twitter")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,15}", handle) or not isinstance(
                verifier, StaticXVerifier):
            raise UserError("console_bad_xbio")
        verifier.set_bio(handle, bio)
        return self._ack("xbio", handle=handle)

    async def _post(self, text: str) -> str:
        """A message, plus one mention event per @name in it. The text is not stored."""
        names = [m.lstrip("@") for m in re.findall(r"@[\w.\-]{1,32}", text)]
        source = await self._next_source()
        me = self._person(self.user)
        now = self.app.clock.now()
        acts = [Activity(PLATFORM, self.community, me, Kind.MESSAGE, now, None,
                         "console", source)]
        acts += [Activity(PLATFORM, self.community, me, Kind.MENTION, now,
                          self._person(_valid_name(n)), "console", source)
                 for n in dict.fromkeys(names) if n.lower() != self.app.config.bot.name.lower()]
        await self.app.ingestor.record(acts)
        await self.app.writer.flush()
        return self._ack("posted", id=source, names=names)

    async def _act(self, rest: str, kind: Kind, verb: str) -> str:
        ref = rest.strip().partition(" ")[0]
        match = _REF.match(ref)
        if not match:
            raise UserError("console_bad_ref", verb=verb)
        comm = await self.app.store.communities.ensure(PLATFORM, self.community)
        author_id = await self.app.store.events.author_of(comm.id, match.group(1))
        if author_id is None:
            raise UserError("console_no_post", ref=match.group(1))
        author = await self.app.store.accounts.get(author_id)
        if author is None:  # pragma: no cover - events never outlive their accounts
            raise UserError("console_no_post", ref=match.group(1))
        me = self._person(self.user)
        now = self.app.clock.now()
        acts = [Activity(PLATFORM, self.community, me, kind, now,
                         self._person(author.external_id), "console", match.group(1))]
        source = ""
        if kind is Kind.REPLY:
            source = await self._next_source()
            acts.append(Activity(PLATFORM, self.community, me, Kind.MESSAGE, now, None,
                                 "console", source))
        await self.app.ingestor.record(acts)
        await self.app.writer.flush()
        what = "replied" if kind is Kind.REPLY else "reacted"
        return self._ack(what, author=author.label, ref=match.group(1), id=source)

    async def _resolve(self, names: tuple[str, ...]
                       ) -> tuple[tuple[Person, ...], tuple[str, ...]]:
        found, missing = [], []
        for name in names:
            account = await self.app.store.accounts.find_by_name(PLATFORM, name)
            if account is None:
                missing.append(name)
            else:
                found.append(Person(PLATFORM, account.external_id, account.label))
        return tuple(found), tuple(missing)

    async def _next_source(self) -> str:
        comm = await self.app.store.communities.ensure(PLATFORM, self.community)
        await self.app.writer.flush()
        return str(await self.app.store.events.last_post_number(comm.id, "console") + 1)

    def _ack(self, what: str, **context: object) -> str:
        return self.app.renderer.render_name("ack", PLATFORM, {"what": what, **context}).text

    def _person(self, name: str) -> Person:
        return Person(PLATFORM, name.lower(), name, handle=name.lower())

    def _write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def _valid_name(name: str) -> str:
    name = clean(name).strip()
    if not _NAME.match(name):
        raise UserError("console_bad_name", name=name[:40])
    return name


def create(app: KloutApp) -> ConsoleAdapter:
    """The runner's factory: the console as configured."""
    return ConsoleAdapter(app, user=app.config.console.user,
                          community=app.config.console.community)
