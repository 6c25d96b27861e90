"""Every command line the docs show runs as written (README.md, config.example.toml,
docs/*.md).

The command lines are read from the docs when the test runs: each line of a fenced
code block, and each backticked `klout-bot ...` or `make ...` span. `klout-bot` lines
go through the CLI entry point (bot.cli.main) in an empty folder with a temporary
database and config, no network and no tokens; a `printf '...' |` in front becomes
stdin. Synopses are run twice: bare (optional [groups] dropped) and with every option,
placeholders filled in (EVENTS.jsonl is a file made here; COMMAND is each subcommand).

`make` lines are checked with `make -n` (the target exists and what it would run);
the `klout-bot` commands in that recipe are then run like the others. `make demo`,
`make test`, `make bench` and `make lint` themselves are not run here (the suite, the
benchmarks and mypy are minutes each, and `make test` runs this very test).
"""

from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "config.example.toml", *sorted((ROOT / "docs").glob("*.md"))]
TOKENS = ("DISCORD_TOKEN", "X_BEARER_TOKEN", "X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN",
          "X_ACCESS_TOKEN_SECRET")
_SPAN = re.compile(r"`((?:\.venv/bin/)?(?:klout-bot|make)(?: [^`]*)?)`")
_FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_OPTIONAL = re.compile(r"\s*\[([^\]]*)\]")
# Prose that names a command rather than showing a line to type ("the `klout-bot
# score` JSONL"): checked as `NAME --help`.
NAMED_ONLY = {"klout-bot score"}
PLACEHOLDERS = {"FILE": "config.toml", "PATH": "klout.db", "ISO8601": "2026-11-23T12:00:00Z",
                "ID": "demo"}
# In the community that --community ID names: `score` refuses a community with no events.
EVENTS = ('{"kind": "message", "actor": "alice", "ts": "2026-11-20T12:00:00Z", '
          '"community": "demo"}\n'
          '{"kind": "reply", "actor": "bob", "target": "alice", "ts": "2026-11-20T12:05:00Z", '
          '"community": "demo"}\n')


@dataclass(frozen=True)
class DocCommand:
    where: str
    line: str  # as written in the docs


def doc_commands() -> list[DocCommand]:
    found: dict[str, DocCommand] = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        for block in _FENCE.findall(text):
            for raw in block.splitlines():
                line = " ".join(shlex.split(raw, comments=True)) if "'" not in raw else \
                    raw.split(" # ")[0].strip()
                if re.search(r"(^|\| )(\.venv/bin/)?(klout-bot|make)\b", line):
                    found.setdefault(line, DocCommand(where, line))
        for span in _SPAN.findall(text):
            found.setdefault(span, DocCommand(where, span))
    return list(found.values())


COMMANDS = doc_commands()


def test_the_docs_show_the_commands_this_test_expects() -> None:
    lines = {c.line for c in COMMANDS}
    assert "klout-bot run --config config.toml" in lines
    assert "klout-bot sync-commands" in lines
    assert any(line.startswith("printf ") for line in lines)
    assert any(line.startswith("klout-bot score EVENTS.jsonl [") for line in lines)


def expand(line: str) -> list[str]:
    """The runnable forms of a documented line: itself, or a synopsis bare and in full."""
    if line in NAMED_ONLY:
        return [f"{line} --help"]
    forms = [line]
    if "[" in line:
        bare = _OPTIONAL.sub("", line)
        full = _OPTIONAL.sub(lambda m: " " + m.group(1), line)
        forms = [bare, full]
    out = []
    for form in forms:
        words = [PLACEHOLDERS.get(w, w) for w in form.split(" ")]
        form = " ".join(words)
        if " COMMAND " in f" {form} ":
            out += [form.replace("COMMAND", name) for name in subcommands()]
        else:
            out.append(form)
    return out


def subcommands() -> list[str]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder, with what the docs tell you to create first."""
    for name in TOKENS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    # "Copy config.example.toml to config.toml", then set the platform adapters (README
    # "Discord" step 4, docs/twitter.md): without tokens, both must say so.
    config = example.replace('adapters = ["console"]', 'adapters = ["discord", "twitter"]')
    assert config != example
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    (tmp_path / "EVENTS.jsonl").write_text(EVENTS, encoding="utf-8")
    return tmp_path


def run_cli(line: str, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    stdin = ""
    if line.startswith("printf "):
        left, _, line = line.partition(" | ")
        stdin = shlex.split(left)[1].replace("\\n", "\n")
    argv = shlex.split(line)
    assert argv[0] in ("klout-bot", ".venv/bin/klout-bot"), line
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    try:
        code = cli.main(argv[1:])
    except SystemExit as exc:  # argparse: --help, usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def check(line: str, code: int, out: str, err: str) -> None:
    assert "unrecognized arguments" not in err, f"{line}: {err}"
    assert "Traceback" not in err + out, f"{line}: {err}"
    words = shlex.split(line.rpartition(" | ")[2])
    if "--help" in words:
        assert code == 0 and "usage: klout-bot" in out, line
    elif words[1] == "run" and "--config" in words:
        assert code == 2, line
        assert "has no token" in err and "klout-bot console --demo" in err, f"{line}: {err}"
    elif words[1] == "sync-commands":
        assert code == 2 and "DISCORD_TOKEN" in err, f"{line}: {err}"
    else:
        assert code == 0, f"{line} exited {code}: {err}"


def test_documented_klout_bot_commands_run_in_order(folder: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """In one folder, in the order the docs give them, as someone following them would
    (`klout-bot status` reads the database an earlier command created)."""
    failures = []
    ran = 0
    for command in COMMANDS:
        if command.line.startswith("make "):
            continue
        for line in expand(command.line):
            code, out, err = run_cli(line, capsys, monkeypatch)
            ran += 1
            try:
                check(line, code, out, err)
            except AssertionError as exc:
                failures.append(f"{command.where}: {exc}")
    assert ran >= 15
    assert not failures, "\n".join(failures)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("command", [c for c in COMMANDS if c.line.startswith("make ")],
                         ids=lambda c: c.line)
def test_documented_make_target_exists(command: DocCommand, folder: Path,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = command.line.split()[1]
    dry = subprocess.run(["make", "-n", "-C", str(ROOT), target],  # noqa: S603, S607
                         capture_output=True, text=True, check=False)
    assert dry.returncode == 0, f"{command.line}: {dry.stderr}"
    for recipe in dry.stdout.splitlines():
        if re.match(r"^\S*/klout-bot ", recipe):
            line = "klout-bot " + recipe.split(" ", 1)[1]
            code, out, err = run_cli(line, capsys, monkeypatch)
            check(line, code, out, err)


def test_config_is_taken_before_or_after_any_subcommand(tmp_path: Path) -> None:
    parser = cli.build_parser()
    for name in subcommands():
        extra = ["EVENTS.jsonl"] if name == "score" else []
        after = parser.parse_args([name, *extra, "--config", "after.toml"])
        before = parser.parse_args(["--config", "before.toml", name, *extra])
        if name == "score":  # its own --config sets only the model
            assert after.score_config == "after.toml" and after.config is None
        else:
            assert after.config == "after.toml", name
        assert before.config == "before.toml", name
