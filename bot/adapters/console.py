"""The console adapter: the whole bot in a terminal, and the test harness.

Lines are read from a stream (a TTY or a pipe). You act as one user at a time
(`/as NAME` switches), post and react like on a chat platform, and ask the bot
the same commands Discord and X users send. Like errbot's text backend, tests
drive it with `exec_line` and read the reply text back.
"""

from __future__ import annotations

import logging
import os
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
from bot.storage import StorageError
from bot.storage.events import NEW_POST
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
FORGOTTEN = "privacy_forgotten"
# What bot.services.privacy names an export: klout-export-console-20261123.json[.gz]
_EXPORT_NAME = r"klout-export-console-\d{8}\.json(\.gz)?"


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
        if reply.template == FORGOTTEN:
            # The exports this console wrote hold what was just deleted.
            for path in self._remove_exports():
                out += "\n" + self._ack("export_removed", path=str(path))
        return out

    def _exports_folder(self) -> Path:
        if self.app.db_path == ":memory:":
            return Path.cwd()
        return Path(self.app.db_path).expanduser().resolve().parent

    def _export_prefix(self) -> str:
        # The account id (names are case-insensitive), so /as Ana and /as ana share files.
        return f"{self._person(self.user).external_id}-"

    def _save(self, filename: str, data: bytes) -> Path:
        """Attachments (data exports) go next to the database, named after the user,
        readable by the file's owner only: they hold names and linked handles."""
        path = self._exports_folder() / f"{self._export_prefix()}{Path(filename).name}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)  # an older export may have been 0644
            out.write(data)
        return path

    def _remove_exports(self) -> list[Path]:
        """Delete the exports `_save` wrote for the current user (by their exact name
        pattern, so another user's files never match). Case-blind: older versions named
        the file after the name as typed (`Ana-...`)."""
        pattern = re.compile(re.escape(self._export_prefix()) + _EXPORT_NAME, re.IGNORECASE)
        removed = []
        for path in sorted(self._exports_folder().iterdir()):
            if pattern.fullmatch(path.name) and path.is_file():
                path.unlink()
                removed.append(path)
        return removed

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
        me = self._person(self.user)
        now = self.app.clock.now()
        acts = [Activity(PLATFORM, self.community, me, Kind.MESSAGE, now, None,
                         "console", NEW_POST)]
        acts += [Activity(PLATFORM, self.community, me, Kind.MENTION, now,
                          self._person(_valid_name(n)), "console", NEW_POST)
                 for n in dict.fromkeys(names) if n.lower() != self.app.config.bot.name.lower()]
        stored, number = await self._store(acts)
        if not stored:
            return self._ack("not_recorded")
        return self._ack("posted", id=number, names=names)

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
        if kind is Kind.REPLY:
            acts.append(Activity(PLATFORM, self.community, me, Kind.MESSAGE, now, None,
                                 "console", NEW_POST))
        stored, number = await self._store(acts)
        if not stored:
            return self._ack("not_recorded")
        what = "replied" if kind is Kind.REPLY else "reacted"
        return self._ack(what, author=author.label, ref=match.group(1), id=number or "")

    async def _store(self, acts: list[Activity]) -> tuple[bool, int | None]:
        """Store one action now, all of it or (raising) none of it, so the reply is
        true either way: a failed write leaves nothing behind to land later, when the
        user has already been told to try again. Returns whether anything was stored
        (consent may drop it all) and the new post's number, if it made one."""
        rows = await self.app.ingestor.rows_now(acts)
        if not rows:
            return False, None
        number = await self.app.store.events.append_now(rows, "console")
        try:
            await self.app.writer.flush()  # fold, so replies and scores see it at once
        except StorageError as exc:  # stored all the same: the inbox is durable
            log.warning("console: stored, but could not fold the event inbox yet: %s", exc)
        return True, number

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
