"""`klout-bot score EVENTS.jsonl`: score a JSONL file of events, print JSONL scores.

The I/O half of scoring.jsonl.score_cli_text (run_score_cli with the rows as one
text): reading the file, the clock and the config file happen here so the scoring
package stays pure.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from scoring.config import ScoringConfig, ScoringConfigError, config_from_table
from scoring.jsonl import MAX_LINE_BYTES, OverlongLine, score_cli_text

NAME = "score"
EXIT_USAGE = 2
CHUNK_BYTES = 1 << 20
WRITE_CHARS = 1 << 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="score a JSONL file of events and print one JSON score per user",
        description="Score EVENTS.jsonl (one event or profile per line; '-' reads stdin) "
        "and print one JSON object per user, highest score first.",
    )
    parser.add_argument("events", help="JSONL file of events, or '-' for standard input")
    parser.add_argument(
        "--now",
        help="score as of this ISO 8601 time with offset, e.g. 2026-11-01T00:00:00Z "
        "(default: the current UTC time)",
    )
    # dest differs from the top-level --config so neither overwrites the other.
    parser.add_argument(
        "--config",
        dest="score_config",
        metavar="FILE",
        help="TOML file whose [scoring] table sets the model (default: the global "
        "--config's, else built-in defaults)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail (exit 1) on any malformed line"
    )
    parser.add_argument("--community", help="only score events of this community id")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace, app_config: Any = None) -> int:
    """`app_config` is the bot's already-loaded Config (bot/cli.py passes it)."""
    try:
        now = parse_now(args.now)
        config = _model_from(app_config)
        if args.score_config is not None:
            config = load_scoring_config(args.score_config)
    except ValueError as exc:
        for line in str(exc).splitlines():
            _err(f"klout-bot score: {line}")
        return EXIT_USAGE
    # Reading builds millions of short-lived objects and no reference cycles: the
    # cycle collector would only rescan them (about 9% of the read on Higgs).
    gc.disable()
    try:
        if args.events == "-":
            outcome = score_cli_text(
                read_lines(sys.stdin.buffer), now, config, args.strict, args.community
            )
        else:
            with Path(args.events).open("rb") as handle:
                outcome = score_cli_text(
                    read_lines(handle), now, config, args.strict, args.community
                )
    except OSError as exc:
        _err(f"klout-bot score: cannot read {args.events}: {exc.strerror}")
        return EXIT_USAGE
    finally:
        gc.enable()
    for problem in outcome.problems:
        _err(f"{args.events}: {problem}")
    out = sys.stdout
    text = outcome.text
    try:
        for start in range(0, len(text), WRITE_CHARS):  # few large writes, not one per row
            out.write(text[start : start + WRITE_CHARS])
        out.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head`): its choice, not an error. Point stdout
        # at /dev/null so the interpreter's last flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return outcome.exit_code


def parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--now {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"--now {text!r} needs a UTC offset, e.g. {text}Z")
    return moment


def load_scoring_config(path: str | None) -> ScoringConfig:
    """The [scoring] table of a TOML file (absent table = defaults). Unknown keys fail."""
    if path is None:
        return ScoringConfig()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("scoring", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: scoring: expected a table")
    try:
        return config_from_table(table, source=path)
    except ScoringConfigError as exc:
        raise ValueError("\n".join(exc.problems)) from None


def _model_from(app_config: Any) -> ScoringConfig:
    model = getattr(getattr(app_config, "scoring", None), "model", None)
    return model if isinstance(model, ScoringConfig) else ScoringConfig()


def read_lines(
    handle: BinaryIO, max_bytes: int = MAX_LINE_BYTES, chunk_size: int = CHUNK_BYTES
) -> Iterator[bytes | OverlongLine]:
    """The lines of `handle` without their b"\\n", read in chunks so memory stays
    bounded whatever the input.

    Bytes, so a line of invalid UTF-8 is reported with its number instead of
    aborting. A line longer than `max_bytes` is not held: it comes out as an
    OverlongLine once its end is found, and is reported with its number.
    """
    pending: list[bytes] = []  # the start of a line that began in an earlier chunk
    pending_size = 0
    overlong = 0  # bytes of the over-long line being skipped, 0 if none
    while chunk := handle.read(chunk_size):
        pieces = chunk.split(b"\n")
        tail = pieces.pop()  # after the chunk's last newline: a line not yet ended
        if pieces and not overlong and max(map(len, pieces)) + pending_size <= max_bytes:
            if pending:  # the usual chunk: every line in it is short
                pieces[0] = b"".join([*pending, pieces[0]])
            yield from pieces
        else:
            for piece in pieces:
                size = (overlong or pending_size) + len(piece)
                if overlong or size > max_bytes:
                    yield OverlongLine(size)
                else:
                    yield b"".join([*pending, piece])
                pending, pending_size, overlong = [], 0, 0
        if pieces:
            pending, pending_size = [], 0
        if overlong:
            overlong += len(tail)
        elif pending_size + len(tail) > max_bytes:
            overlong = pending_size + len(tail)
            pending, pending_size = [], 0
        elif tail:
            pending.append(tail)
            pending_size += len(tail)
    if overlong:
        yield OverlongLine(overlong)
    elif pending:
        yield b"".join(pending)


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


def main(argv: list[str] | None = None) -> int:
    """Standalone entry for `python -m bot.cli_score` until bot/cli.py wires it in."""
    parser = argparse.ArgumentParser(prog="klout-bot")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
