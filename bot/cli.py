"""The `klout-bot` command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

from bot.clock import Clock, FixedClock, SystemClock
from bot.config import Config, ConfigError, load_config
from bot.logs import setup_logging

log = logging.getLogger("klout-bot")

TOKEN_HELP = {
    "discord": "Set DISCORD_TOKEN: create an application at https://discord.com/developers/"
               "applications, add a Bot, and copy its token.",
    "twitter": "Set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET "
               "(and X_BEARER_TOKEN) from your app at https://developer.x.com.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="klout-bot",
        description="An open, transparent influence-score bot. Scores 1-100 measure how "
                    "much others respond to you. Start with `klout-bot demo` or "
                    "`klout-bot console --demo`; no token needed.")
    parser.add_argument("--config", metavar="FILE",
                        help="TOML config file (default: built-in defaults; see "
                             "config.example.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="score the bundled demo community and show replies")
    demo.add_argument("--db", metavar="PATH", default="klout-demo.db",
                      help="SQLite file to build the demo in (default: %(default)s; rebuilt)")
    demo.add_argument("--cards", metavar="DIR", default="demo-cards",
                      help="folder for the demo's score cards and leaderboard as PNG images "
                           "(default: %(default)s)")

    console = sub.add_parser(
        "console", help="run the bot in this terminal (interactive or piped stdin)",
        description="Act as one or several users: `post`, `reply #ID`, `react #ID`, "
                    "`mention @name`, `/as NAME`, and the bot commands /klout, "
                    "/klout @name, /leaderboard, @KloutBot. State persists in --db.")
    console.add_argument("--as", dest="user", metavar="NAME", help="who you are")
    console.add_argument("--db", metavar="PATH", help="SQLite file (default from config)")
    console.add_argument("--demo", action="store_true",
                         help="start in the demo community (built on first use)")
    console.add_argument("--community", metavar="NAME", help="console community name")

    run = sub.add_parser("run", help="start the adapters the config enables")
    run.add_argument("--db", metavar="PATH", help="SQLite file (default from config)")

    rescore = sub.add_parser("rescore", help="recompute every community's scores now")
    rescore.add_argument("--db", metavar="PATH", help="SQLite file (default from config)")

    for module in _optional_subcommands():
        module.add_parser(sub)
    _config_after_subcommand(sub)
    return parser


def _config_after_subcommand(sub: argparse._SubParsersAction) -> None:
    """`klout-bot run --config FILE` as well as `klout-bot --config FILE run`: each
    subcommand takes --config too; SUPPRESS keeps a value given before it. A subcommand
    with its own --config (`score`) keeps it."""
    for name, subparser in sub.choices.items():
        try:
            subparser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                                   help="TOML config file (also accepted before "
                                        f"'{name}')")
        except argparse.ArgumentError:
            continue


def _optional_subcommands() -> list[ModuleType]:
    """Subcommands that live in their own modules (each has NAME, add_parser, run)."""
    found = []
    for name in ("bot.cli_score", "bot.cli_discord", "bot.cli_twitter"):
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError:  # pragma: no cover - shipped with the package
            continue
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"klout-bot: config error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.bot.log_level if args.command == "run" else "WARNING")
    try:
        if args.command in _STORAGE_COMMANDS:
            return _run_storage_command(config, args)
        for module in _optional_subcommands():
            if args.command == module.NAME:
                return int(module.run(args, config))
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {args.command}")
    return 2  # pragma: no cover


_STORAGE_COMMANDS = ("demo", "console", "run", "rescore")


def _run_storage_command(config: Config, args: argparse.Namespace) -> int:
    # Imported here, not at the top: `klout-bot score` needs neither.
    import asyncio

    from bot.storage import StorageError

    commands = {
        "demo": lambda: _demo(config, args.db, Path(args.cards)),
        "console": lambda: _console(config, args),
        "run": lambda: _run(config, args),
        "rescore": lambda: _rescore(config, args.db),
    }
    try:
        return asyncio.run(commands[args.command]())
    except StorageError as exc:
        print(f"klout-bot: {exc}", file=sys.stderr)
        return 1


async def build_demo(config: Config, db: str, clock: Clock) -> None:
    """Load the demo community and compute eight weeks of weekly history."""
    from bot.app import KloutApp
    from bot.demo import COMMUNITY, PLATFORM, community_activity

    now = clock.now()
    async with KloutApp(config, clock=clock, db_path=db) as app:
        await app.ingestor.record(community_activity(now))
        await app.writer.flush()
        comm = await app.store.communities.ensure(PLATFORM, COMMUNITY, "Demo community")
        # Snapshots as of each past week, then each of the last seven days.
        moments = [now - timedelta(weeks=w) for w in range(8, 0, -1)]
        moments += [now - timedelta(days=d) for d in range(6, -1, -1)]
        for moment in moments:
            await app.rescorer.rescore(comm.id, moment.timestamp())


async def _demo(config: Config, db: str, cards: Path) -> int:
    import asyncio

    from bot.app import KloutApp
    from bot.demo import COMMUNITY, PLATFORM, rising_member
    from commands.types import Person, Request

    _remove_db(db)
    clock = FixedClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    started = datetime.now(UTC)
    await build_demo(config, db, clock)
    async with KloutApp(config, clock=clock, db_path=db) as app:
        def ask(user: str, command: str, *targets: str, args: tuple[str, ...] = ()) -> Request:
            return Request(PLATFORM, COMMUNITY, Person(PLATFORM, user, user), command, args,
                           tuple(Person(PLATFORM, t, t) for t in targets), clock.now(),
                           community_name="Demo community")

        board = await app.influence.board(PLATFORM, COMMUNITY, 1, clock.now(), "week")
        top, middle = board.lines[0].name, board.lines[-1].name
        print(f"klout-bot demo · {board.members} members scored, eight weeks of history\n")
        samples = [
            ("/leaderboard", ask("ada", "leaderboard")),
            (f"/klout (asked by {top})", ask(top, "klout")),
            (f"/klout @{middle}", ask("ada", "klout", middle)),
            (f"/klout @{rising_member()} (a rising newcomer)",
             ask("ada", "klout", rising_member())),
            ("/klout @spam_king", ask("ada", "klout", "spam_king")),
            ("/klout @ring_0", ask("ada", "klout", "ring_0")),
            ("@KloutBot @nobody_here", Request(PLATFORM, COMMUNITY,
             Person(PLATFORM, "ada", "ada"), "klout", (), (), clock.now(),
             unresolved=("nobody_here",))),
            ("/leaderboard-preview (the weekly post, as an admin sees it before it goes out)",
             Request(PLATFORM, COMMUNITY, Person(PLATFORM, "ada", "ada"),
                     "leaderboard-preview", (), (), clock.now(), channel="general",
                     community_name="Demo community", is_admin=True)),
        ]
        images: list[tuple[str, bytes]] = []
        for title, request in samples:
            reply, rendered = await app.handle(request)
            print(f"── {title}\n{rendered.text}\n")
            if app.images.has_image(reply):
                png, _ = await app.images.for_reply(app.renderer, reply, None)
                whose = (request.targets or (request.author,))[0].external_id
                stem = "leaderboard" if reply.template == "leaderboard" else f"klout-{whose}"
                images.append((f"{len(images) + 1:02d}-{stem}.png", png))
        folder = await asyncio.to_thread(_write_images, cards, images)
        print(f"{len(images)} images (score cards and a leaderboard) written to {folder}")
    took = (datetime.now(UTC) - started).total_seconds()
    print(f"Built and scored in {took:.1f}s. Try it yourself: "
          f"klout-bot console --demo --db {db} --as {top}")
    return 0


def _write_images(folder: Path, images: list[tuple[str, bytes]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, png in images:
        (folder / name).write_bytes(png)
    return folder.resolve()


def _remove_db(db: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)


async def _console(config: Config, args: argparse.Namespace) -> int:
    from bot.adapters.console import ConsoleAdapter
    from bot.app import KloutApp
    from bot.demo import COMMUNITY

    db = args.db or config.storage.path
    community = args.community or (COMMUNITY if args.demo else config.console.community)
    clock = SystemClock()
    if args.demo:
        from bot.storage import Storage

        async with Storage(db) as store:
            comm = await store.communities.get("console", COMMUNITY)
            empty = comm is None or await store.events.count(comm.id) == 0
        if empty:
            print(f"building the demo community in {db} ...", file=sys.stderr)
            await build_demo(config, db, clock)
    user = args.user or config.console.user
    async with KloutApp(config, clock=clock, db_path=db) as app:
        from commands.errors import UserError

        # As `run` does at start: /leaderboard-preview and -post use [[leaderboard]] too.
        await app.leaderboards.sync_config(config.leaderboard, clock.now())
        try:
            adapter = ConsoleAdapter(app, user=user, community=community)
        except UserError:
            print(f"klout-bot: '{user}' can't be a console name (letters, digits, . _ -)",
                  file=sys.stderr)
            return 2
        await adapter.run()
    return 0


async def _rescore(config: Config, db: str | None) -> int:
    from bot.app import KloutApp

    async with KloutApp(config, clock=SystemClock(), db_path=db) as app:
        for comm in await app.store.communities.all():
            result = await app.rescorer.rescore(comm.id, app.clock.now().timestamp())
            print(f"{comm.platform}/{comm.external_id}: {result.members} members, "
                  f"{result.events} events, {result.seconds:.2f}s")
    return 0


async def _run(config: Config, args: argparse.Namespace) -> int:
    import os

    missing = []
    for adapter in config.bot.adapters:
        if adapter == "discord" and not os.environ.get("DISCORD_TOKEN"):
            missing.append("discord")
        if adapter == "twitter" and not all(os.environ.get(k) for k in (
                "X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")):
            missing.append("twitter")
    if missing:
        for name in missing:
            print(f"klout-bot: the {name} adapter is enabled but has no token. "
                  f"{TOKEN_HELP[name]}", file=sys.stderr)
        print("klout-bot: to try the bot without any token, run `klout-bot console --demo`.",
              file=sys.stderr)
        return 2
    from bot.app import KloutApp
    from bot.runner import ExitCode, run_adapters

    async with KloutApp(config, clock=SystemClock(), db_path=args.db) as app:
        try:
            code = await run_adapters(app, config.bot.adapters)
        except ModuleNotFoundError as exc:
            print(f"klout-bot: adapter not available in this build: {exc.name}",
                  file=sys.stderr)
            return ExitCode.CONFIG
        except ConfigError as exc:
            print(f"klout-bot: config error: {exc}", file=sys.stderr)
            return ExitCode.CONFIG
    if code != ExitCode.OK:
        print(f"klout-bot: stopped with exit code {int(code)} ({code.name.lower()}); "
              "the log above says which adapter failed and why", file=sys.stderr)
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
