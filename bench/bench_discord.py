"""Discord adapter benchmarks; prints its figures.

    .venv/bin/python bench/bench_discord.py              # all three
    .venv/bin/python bench/bench_discord.py ingest       # ingestion throughput
    .venv/bin/python bench/bench_discord.py klout        # /klout latency on 1M users
    .venv/bin/python bench/bench_discord.py idle         # idle RSS with 100 guilds

ingest: raw gateway payloads (MESSAGE_CREATE with replies and mentions, and
MESSAGE_REACTION_ADD) go through the adapter's production path: GatewayEvents.handle
(what the client's gateway parser hook calls) -> fast lane or Activity -> Ingestor ->
EventWriter -> event_inbox -> folded into events, with the event loop yielding every
256 payloads as a gateway read loop does. The clock stops once every row is in the
events table (the final flush folds what is left), so folds are included: this is
the sustained rate. The same rows are then inserted with one raw sqlite3.executemany
(one transaction) into the events table of a fresh database with the same schema and
pragmas; the ratio compares against that. A raw insert into event_inbox is printed
for reference. --repeat runs it several times (the machine is shared: see the load).

klout: a store with 1M scored members is built directly (executemany), the real bot
connects to FakeDiscord running in a child process (so the fake's own work doesn't
share the bot's event loop), and INTERACTION_CREATE /klout payloads arrive from 200
members. Bot-side time runs from the payload reaching discord.py's INTERACTION_CREATE
parser to aiohttp having written the callback request (aiohttp hands its bytes to
the socket), in wall time and in CPU time of the event loop's thread. Four measures:
  (a) service time: one request at a time;
  (b) a burst: all 200 members ask at the same instant, several rounds;
  (c) sustained: open loop, Poisson arrivals at fractions of (d), for some seconds;
      the fake also times each round trip (its send -> its receipt of the callback);
  (d) capacity: requests/s through a burst (first arrival -> last callback sent), and
      1 / event-loop CPU per request with everything after the callback included.
The 10 ms target of issue 4 is judged on (c): (b) queues 200 requests on one event
loop, so its last answer waits for the 199 before it whatever a request costs.
The first burst runs with an empty card cache (as after a start or a rescore); the
rest are served from it. The fake needs more CPU per request than the bot: on a
shared 2-core machine, "arrived" below the asked rate means the fake fell behind.

idle: resident memory of this (bot) process once connected to 100 guilds of the fake
(in a child process), after start-up has settled.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import multiprocessing as mp
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
from aiohttp.http_writer import StreamWriter

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

from bot.adapters.discord_events import GatewayEvents
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from bot.storage import Storage
from bot.storage.events import FOLD_CACHE_KIB

DISCORD_EPOCH_MS = 1_420_070_400_000
JSON = dict[str, Any]


# ----------------------------------------------------------------------------- payloads
class Snowflakes:
    def __init__(self, start: datetime) -> None:
        self.value = (int(start.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22

    def next(self) -> int:
        self.value += 1 << 12  # a millisecond-ish apart
        return self.value


def user_payload(uid: int, name: str) -> tuple[JSON, JSON]:
    user = {"id": str(uid), "username": name, "global_name": name.title(),
            "discriminator": "0", "avatar": None, "bot": False, "system": False,
            "public_flags": 0, "flags": 0, "banner": None, "accent_color": None,
            "avatar_decoration_data": None}
    member = {"nick": None, "avatar": None, "roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
              "premium_since": None, "deaf": False, "mute": False, "pending": False, "flags": 0,
              "communication_disabled_until": None, "banner": None}
    return user, member


def gateway_mix(count: int, guild_id: int, channels: list[int], members: list[tuple[JSON, JSON]],
                ids: Snowflakes, rng: random.Random) -> list[tuple[str, JSON]]:
    """Per 100 dispatches: 55 messages, 20 replies, 10 with mentions, 15 reactions."""
    out: list[tuple[str, JSON]] = []
    recent: list[JSON] = []
    for _ in range(count):
        roll = rng.random()
        channel = str(rng.choice(channels))
        user, member = rng.choice(members)
        if roll < 0.15 and recent:
            target = rng.choice(recent)
            out.append(("MESSAGE_REACTION_ADD", {
                "user_id": user["id"], "channel_id": target["channel_id"],
                "message_id": target["id"], "guild_id": str(guild_id),
                "member": {**member, "user": user}, "emoji": {"id": None, "name": "👍"},
                "message_author_id": target["author"]["id"], "burst": False, "type": 0,
                "burst_colors": []}))
            continue
        mid = str(ids.next())
        message: JSON = {
            "id": mid, "channel_id": channel, "guild_id": str(guild_id), "author": user,
            "member": member, "content": "", "timestamp": "", "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": False, "type": 0, "flags": 0,
            "components": []}
        if roll < 0.35 and recent:
            original = rng.choice(recent)
            message["type"] = 19
            message["message_reference"] = {"type": 0, "message_id": original["id"],
                                            "channel_id": original["channel_id"],
                                            "guild_id": str(guild_id)}
            message["referenced_message"] = {k: v for k, v in original.items()
                                             if k not in ("member", "guild_id")}
        elif roll < 0.45:
            for other_user, other_member in rng.sample(members, rng.randint(1, 2)):
                message["mentions"].append({**other_user, "member": other_member})
        out.append(("MESSAGE_CREATE", message))
        recent.append(message)
        if len(recent) > 500:
            recent.pop(0)
    return out


# ----------------------------------------------------------------------------- ingest
async def bench_ingest(events: int, members: int, batch_size: int,
                       fold_rows: int) -> dict[str, float]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "ingest.db"
        base = Config()
        config = base.with_overrides(storage=dataclasses.replace(
            base.storage, path=str(db), batch_size=batch_size, fold_rows=fold_rows))
        ids = Snowflakes(now - timedelta(days=1))
        guild_id, channels = ids.next(), [ids.next() for _ in range(5)]
        people = [user_payload(ids.next(), f"member{i}") for i in range(members)]
        warmup = [("MESSAGE_CREATE", {
            "id": str(ids.next()), "channel_id": str(channels[0]), "guild_id": str(guild_id),
            "author": u, "member": m, "mentions": [], "type": 0}) for u, m in people]
        payloads = gateway_mix(events, guild_id, channels, people, ids, rng)
        async with KloutApp(config, clock=FixedClock(now + timedelta(hours=1)),
                            db_path=db) as app:
            gateway = GatewayEvents(app, "1")
            await gateway.prepare()
            await app.store.communities.ensure("discord", str(guild_id), "bench")
            for event, data in warmup:  # every member seen once: accounts exist
                gateway.handle(event, data)
            await app.writer.flush()
            first_new = await app.store.events.max_id(1) + 1
            written_before = app.writer.written
            # The prebuilt payloads stand for frames a gateway would deliver one at a time;
            # kept alive all at once they'd only make the garbage collector's passes long.
            gc.collect()
            gc.freeze()
            started, cpu_started = time.perf_counter(), time.process_time()
            loop_cpu_started = time.thread_time()
            handle = gateway.handle
            for i, (event, data) in enumerate(payloads):
                handle(event, data)
                if i & 255 == 0:
                    await asyncio.sleep(0)
            await app.writer.flush()
            await gateway.drain()
            await app.writer.flush()
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started  # every thread of the process
            loop_cpu_seconds = time.thread_time() - loop_cpu_started
            rows_written = app.writer.written - written_before
            fast_rows = gateway.fast.hits
        conn = sqlite3.connect(db)
        rows = conn.execute(
            "SELECT community_id, kind, actor_id, target_id, ts, channel, source, weight "
            "FROM events WHERE id >= ?", (first_new,)).fetchall()
        (left_in_inbox,) = conn.execute("SELECT count(*) FROM event_inbox").fetchone()
        conn.close()
        raw_seconds = {table: await raw_insert(Path(folder) / f"raw-{table}.db", table, rows)
                       for table in ("events", "event_inbox")}
    # What the path above starts after: discord.py decoding each frame (orjson, as it does
    # when installed). Timed apart, on the same dispatches as gateway frames.
    frames = [orjson.dumps({"op": 0, "t": event, "s": i, "d": data})
              for i, (event, data) in enumerate(payloads)]
    decode_started = time.perf_counter()
    for frame in frames:
        orjson.loads(frame)
    decode_seconds = time.perf_counter() - decode_started
    return {"dispatches": len(payloads), "rows": len(rows), "rows_written": rows_written,
            "left_in_inbox": left_in_inbox, "fast": fast_rows, "seconds": seconds,
            "cpu_us_per_row": cpu_seconds / len(rows) * 1e6,
            "loop_cpu_us_per_row": loop_cpu_seconds / len(rows) * 1e6,
            "raw_seconds": raw_seconds["events"], "decode_seconds": decode_seconds,
            "dispatches_per_s": len(payloads) / seconds, "rows_per_s": len(rows) / seconds,
            "raw_rows_per_s": len(rows) / raw_seconds["events"],
            "raw_inbox_rows_per_s": len(rows) / raw_seconds["event_inbox"]}


async def raw_insert(db: Path, table: str, rows: list[tuple[Any, ...]]) -> float:
    """Seconds for one executemany of `rows` into `table` of a fresh database with our
    schema (the same migrations) and the pragmas our folds run with, in one transaction."""
    async with Storage(db):
        pass
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = {FOLD_CACHE_KIB}")  # what our folds get
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        f"INSERT OR IGNORE INTO {table} (community_id, kind, actor_id, target_id, ts, channel, "
        "source, weight) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


# ----------------------------------------------------------------------------- fake process
def fake_process(conn: Connection) -> None:
    asyncio.run(_fake_main(conn))


async def _fake_main(conn: Connection) -> None:
    from tests.fakes.discord_fake import FakeDiscord

    # The fake keeps every interaction and request of a phase: its collector's full passes
    # over that growing heap stalled its sends by tens of ms. It is the load generator,
    # and lives for one run: no collector.
    gc.disable()
    # When each callback reached the fake, by interaction id: the far end of the round trip.
    answered_at: dict[int, float] = {}
    original = FakeDiscord._r_callback

    async def timed_callback(self: FakeDiscord, rec: Any, p: dict[str, str]) -> Any:
        answered_at[int(p["interaction_id"])] = time.perf_counter()
        return await original(self, rec, p)

    FakeDiscord._r_callback = timed_callback  # type: ignore[method-assign]
    # When each image was edited into its answer (bench_card_images.py), by token.
    edited_at: dict[str, float] = {}
    sent_by_token: dict[str, float] = {}
    original_edit = FakeDiscord._r_webhook_message

    async def timed_edit(self: FakeDiscord, rec: Any, p: dict[str, str]) -> Any:
        if rec.method == "PATCH" and rec.files:
            edited_at[p["token"]] = time.perf_counter()
        return await original_edit(self, rec, p)

    FakeDiscord._r_webhook_message = timed_edit  # type: ignore[method-assign]
    # Interactions are dropped once answered (the fake's heap), unless images are still
    # to be edited into them ("keep", sent by bench_card_images.py).
    keep = False
    async with FakeDiscord() as fake:
        conn.send((fake.api_base, fake.gateway_url, fake.token))
        while True:
            command, *args = await asyncio.to_thread(conn.recv)
            if command == "stop":
                break
            if command == "keep":
                keep = True
                conn.send(True)
            if command == "guilds":
                count, per_guild = args
                guilds = fake.add_guilds(count, members_per_guild=per_guild)
                people = ({int(fake.bot_user["id"]), int(fake.owner["id"])})
                conn.send([(g.id, g.channel_id, [u for u in g.members if u not in people])
                           for g in guilds])
            elif command == "burst":
                guild_id, channel_id, user_ids = args
                burst_sent: dict[int, float] = {}
                ixs = await asyncio.gather(*(
                    _timed_ask(fake, guild_id, channel_id, u, burst_sent) for u in user_ids))
                sent_by_token.update({ix.token: burst_sent[ix.id] for ix in ixs})
                conn.send(await _finish(fake, ixs, burst_sent, answered_at, clear=not keep))
            elif command == "edits":
                # Frame sent -> image edited in, for the last burst's `count` answers.
                count, timeout = args
                await fake._wait(lambda n=count: len(edited_at) >= n or None, timeout, "edits")
                conn.send([edited_at[t] - sent_by_token[t] for t in edited_at
                           if t in sent_by_token])
                edited_at.clear()
                sent_by_token.clear()
                fake.interactions.clear()
            elif command == "paced":
                # Open loop: Poisson arrivals at `rate`, whatever the bot's answers do.
                guild_id, channel_id, user_ids, rate, count, seed = args
                rng = random.Random(seed)
                sent_at: dict[int, float] = {}
                ixs = []
                due = time.perf_counter()
                for i in range(count):
                    due += rng.expovariate(rate)
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    ixs.append(await _timed_ask(fake, guild_id, channel_id,
                                                user_ids[i % len(user_ids)], sent_at))
                conn.send(await _finish(fake, ixs, sent_at, answered_at))


async def _timed_ask(fake: Any, guild_id: int, channel_id: int, user: int,
                     sent: dict[int, float]) -> Any:
    ix = await fake.invoke_slash(guild_id, channel_id, fake.guilds[guild_id].members[user],
                                 "klout")
    sent[ix.id] = time.perf_counter()  # the frame is in the socket
    return ix


async def _finish(fake: Any, ixs: list[Any], sent_at: dict[int, float],
                  answered_at: dict[int, float], *, clear: bool = True
                  ) -> tuple[int, list[float], dict[int, float]]:
    """(answers with a card, send -> callback received in seconds, when each interaction's
    frame was sent). perf_counter is CLOCK_MONOTONIC on Linux, the same clock in both
    processes, so the bot's process can set its own times against the fake's sends."""
    await fake._wait(lambda: all(ix.callbacks for ix in ixs) or None, 120.0, "callbacks")
    ok = sum(1 for ix in ixs if ix.callbacks[0]["data"].get("embeds"))
    round_trips = [answered_at[ix.id] - sent_at[ix.id] for ix in ixs if ix.id in sent_at]
    if clear:
        fake.interactions.clear()
    fake.requests.clear()
    answered_at.clear()
    return ok, round_trips, sent_at


class FakeProcess:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=fake_process, args=(child,), daemon=True)
        self.process.start()
        self.api_base, self.gateway_url, self.token = self.conn.recv()

    def call(self, *command: Any) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop",))
        self.process.join(10)

def bot_config(fake: FakeProcess, db: Path, *, cards: bool = False) -> Config:
    """Images off unless asked (bench_card_images.py); avatars always from the fake."""
    base = Config()
    cdn = fake.api_base.rsplit("/api/", 1)[0]
    return base.with_overrides(
        cards=dataclasses.replace(base.cards, enabled_by_default=cards, cdn_base=cdn),
        storage=dataclasses.replace(base.storage, path=str(db)),
        discord=dataclasses.replace(base.discord, api_base=fake.api_base,
                                    gateway_url=fake.gateway_url, guild_ready_timeout_s=0.5,
                                    backfill_days=0),
        # No cooldowns: every request should do the full work.
        limits=dataclasses.replace(base.limits, platforms=[]))


async def connected(adapter: Any) -> asyncio.Task[None]:
    runner = asyncio.create_task(adapter.run())
    ready = asyncio.ensure_future(adapter.client.wait_until_ready())
    done, _ = await asyncio.wait({runner, ready}, timeout=60,
                                 return_when=asyncio.FIRST_COMPLETED)
    if runner in done:
        runner.result()
    if ready not in done:
        raise TimeoutError("bot never became ready")
    return runner


# ----------------------------------------------------------------------------- klout
def build_store(db: Path, users: int, askers: list[int], now: datetime,
                rng: random.Random) -> int:
    """1M scored members with a week of history; askers get incoming events. The schema
    must exist (see _migrate)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO communities (id, platform, external_id, name) "
                 "VALUES (1, 'discord', 'GUILD', 'bench')")
    asker_rows = rng.sample(range(1, users + 1), len(askers))
    external = {row: str(uid) for row, uid in zip(asker_rows, askers, strict=True)}
    conn.executemany(
        "INSERT INTO accounts (id, platform, external_id, handle, display_name, opted_out) "
        "VALUES (?, 'discord', ?, ?, ?, ?)",
        ((i, external.get(i, f"u{i}"), f"user{i}", f"User {i}",
          1 if i % 1000 == 0 and i not in external else 0) for i in range(1, users + 1)))
    conn.executemany("INSERT INTO members (community_id, account_id, display_name, last_seen) "
                     "VALUES (1, ?, ?, 0)", ((i, f"User {i}") for i in range(1, users + 1)))
    scores = sorted(((rng.randint(1, 100), i) for i in range(1, users + 1)), reverse=True)
    computed = int(now.timestamp())
    conn.executemany(
        "INSERT INTO scores (community_id, account_id, score, raw, rank, give_rate, "
        "model_version, computed_at) VALUES (1, ?, ?, ?, ?, 0.01, 'bench', ?)",
        ((i, s, s / 100, rank, computed) for rank, (s, i) in enumerate(scores, 1)))
    today = computed // 86_400
    conn.executemany(
        "INSERT INTO score_history (community_id, account_id, day, score, model_version) "
        "VALUES (1, ?, ?, ?, 'bench')",
        ((i, day, s) for s, i in scores for day in (today - 7, today)))
    events = []
    for row in asker_rows:
        for k in range(30):
            actor = rng.randint(1, users)
            events.append((1, rng.choice((1, 2, 3)), actor, row,
                           computed - rng.randint(0, 40 * 86_400), "c", f"m{row}-{k}", 1.0))
    conn.executemany(
        "INSERT INTO events (community_id, kind, actor_id, target_id, ts, channel, source, "
        "weight) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
    conn.execute("INSERT INTO rescore_state (community_id, computed_at, events_seen) "
                 "VALUES (1, ?, ?)", (computed, len(events)))
    conn.execute("COMMIT")
    conn.close()
    return len(events)


async def _migrate(db: Path) -> None:
    async with Storage(db):
        pass


class GcPauses:
    """Garbage-collector pauses while measuring: they stall the one event loop."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []  # (generation, wall s, CPU s)
        self._started = (0.0, 0.0)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = (time.perf_counter(), time.thread_time())
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started[0],
                                time.thread_time() - self._started[1]))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


class Probe:
    """Times each /klout in the bot process: arrival (discord.py's INTERACTION_CREATE
    parser is called) -> callback sent (the request's bytes handed to the socket), in wall
    time and in CPU time of the event loop's thread.

    The send is seen where aiohttp writes a request's buffered head and body to the
    transport: patching that one method costs a bytes search per request, where an aiohttp
    TraceConfig would make the bot build a Trace and await nine signals on every REST call
    (about 5% of a /klout, which the production bot never pays)."""

    CALLBACK = re.compile(rb"/interactions/(\d+)/[^/ ]+/callback")

    def __init__(self) -> None:
        self.arrived: dict[int, tuple[float, float]] = {}
        self.samples: list[tuple[float, float, float]] = []  # (arrival, wall s, cpu s)
        self.sent_at: list[float] = []
        self.sent_by_id: dict[int, float] = {}
        self.expected = 0
        self.done = asyncio.Event()
        self.gc = GcPauses()

    def install(self, adapter: Any) -> None:
        parsers = adapter.client._connection.parsers
        original = parsers["INTERACTION_CREATE"]

        def timed_parser(data: Any) -> None:
            self.arrived[int(data["id"])] = (time.perf_counter(), time.thread_time())
            original(data)

        parsers["INTERACTION_CREATE"] = timed_parser
        send_with_body = StreamWriter._send_headers_with_payload
        probe = self

        def timed_send(writer: StreamWriter, chunk: Any, is_eof: bool) -> None:
            head = writer._headers_buf
            send_with_body(writer, chunk, is_eof)
            if head is not None:
                probe._sent(head)

        StreamWriter._send_headers_with_payload = timed_send  # type: ignore[method-assign]

    def _sent(self, head: bytes) -> None:
        match = self.CALLBACK.search(head, 0, 200)
        if match is None:
            return
        started = self.arrived.pop(int(match[1]), None)
        if started is None:
            return
        wall, cpu = time.perf_counter(), time.thread_time()
        self.samples.append((started[0], wall - started[0], cpu - started[1]))
        self.sent_at.append(wall)
        self.sent_by_id[int(match[1])] = wall
        if len(self.samples) >= self.expected:
            self.done.set()

    def start(self, expected: int) -> None:
        self.samples.clear()
        self.sent_at.clear()
        self.sent_by_id.clear()
        self.arrived.clear()
        self.expected = expected
        self.done.clear()


@dataclasses.dataclass
class Phase:
    wall: list[float]  # arrival -> callback sent, seconds
    cpu: list[float]  # event-loop CPU seconds in that span
    span: float  # first arrival -> last callback sent
    arrival_span: float  # first -> last arrival
    loop_cpu: float  # event-loop CPU over the phase and its aftermath, seconds
    answered: int
    round_trips: list[float]  # frame written by the fake -> the fake's receipt of the callback
    from_wire: list[float]  # the fake's send of the frame -> the bot's callback written
    gc: list[tuple[int, float, float]]  # collections during the phase (see GcPauses)


async def run_phase(probe: Probe, fake: FakeProcess, *command: Any, count: int,
                    settle: float = 0.3) -> Phase:
    probe.start(count)
    gc_before = len(probe.gc.pauses)
    cpu0 = time.thread_time()
    answered, round_trips, frames_sent = await asyncio.to_thread(fake.call, *command)
    await asyncio.wait_for(probe.done.wait(), 120)
    # What follows each callback (discord.py reading its answer, the gateway's copy of the
    # bot's own message) also costs loop time: let it finish before reading the clock.
    await asyncio.sleep(settle)
    loop_cpu = time.thread_time() - cpu0
    arrivals = [a for a, _, _ in probe.samples]
    return Phase([w for _, w, _ in probe.samples], [c for _, _, c in probe.samples],
                 max(probe.sent_at) - min(arrivals), max(arrivals) - min(arrivals),
                 loop_cpu, answered, round_trips,
                 [probe.sent_by_id[i] - t for i, t in frames_sent.items() if i in probe.sent_by_id],
                 probe.gc.pauses[gc_before:])


async def bench_klout(users: int, concurrency: int, rounds: int, loads: list[float],
                      paced_seconds: float) -> dict[str, Any]:
    from bot.adapters.discord import DiscordAdapter

    fake = FakeProcess()
    out: dict[str, Any] = {"users": users}
    load_before = os.getloadavg()[0]
    try:
        [(guild_id, channel_id, askers)] = fake.call("guilds", 1, concurrency)
        now = datetime.now(UTC) + timedelta(hours=1)
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "klout.db"
            built = time.perf_counter()
            await _migrate(db)
            build_store(db, users, askers, now, random.Random(11))
            out["build_seconds"] = time.perf_counter() - built
            sqlite3.connect(db).execute(
                "UPDATE communities SET external_id = ? WHERE id = 1", (str(guild_id),)
            ).connection.commit()
            probe = Probe()
            async with KloutApp(bot_config(fake, db), clock=FixedClock(now), db_path=db) as app:
                # As `klout-bot run` builds it (freeze_heap), plus the timing trace.
                adapter = DiscordAdapter(app, token=fake.token, reidentify_pause=False,
                                         freeze_heap=True)
                runner = await connected(adapter)
                probe.install(adapter)
                gc_pauses = probe.gc
                try:
                    gc_pauses.__enter__()
                    burst = ("burst", guild_id, channel_id, askers)
                    # Cold: every card built from storage (a fresh process, or after a rescore).
                    app.cards.clear()
                    out["cold"] = await run_phase(probe, fake, *burst, count=len(askers))
                    sequential: list[Phase] = []
                    for user in askers + askers:
                        sequential.append(await run_phase(
                            probe, fake, "burst", guild_id, channel_id, [user], count=1,
                            settle=0.02))
                    out["sequential"] = Phase(
                        [w for p in sequential for w in p.wall],
                        [c for p in sequential for c in p.cpu], 0.0, 0.0,
                        statistics.fmean(p.loop_cpu for p in sequential), len(sequential),
                        [], [w for p in sequential for w in p.from_wire],
                        [g for p in sequential for g in p.gc])
                    out["bursts"] = [await run_phase(probe, fake, *burst, count=len(askers))
                                     for _ in range(rounds)]
                    capacity = statistics.median(len(p.wall) / p.span for p in out["bursts"])
                    out["capacity"] = capacity
                    out["paced"] = []
                    for load in loads:
                        rate = load * capacity
                        count = max(len(askers), int(rate * paced_seconds))
                        phase = await run_phase(
                            probe, fake, "paced", guild_id, channel_id, askers, rate, count,
                            int(load * 100), count=count)
                        out["paced"].append((load, rate, phase))
                    out["cache"] = (app.cards.hits, app.cards.misses)
                    out["gc"] = list(gc_pauses.pauses)
                finally:
                    gc_pauses.__exit__()
                    await adapter.close()
                    await asyncio.wait_for(runner, 30)
    finally:
        fake.stop()
    out["load"] = (load_before, os.getloadavg()[0])
    return out


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return {"n": len(ordered), "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
            "max_ms": ordered[-1] * 1000, "mean_ms": statistics.fmean(ordered) * 1000}


def gc_line(phases: list[Phase]) -> str:
    pauses = [g for p in phases for g in p.gc]
    requests = sum(len(p.wall) for p in phases)
    cpu = sum(c for _, _, c in pauses)
    return (f"GC {len(pauses)} collections, {cpu / requests * 1e6:.0f} us CPU per request, "
            f"longest {max((w for _, w, _ in pauses), default=0) * 1000:.1f} ms wall")


def ms(samples: list[float]) -> str:
    s = summary(samples)
    return f"p50 {s['p50_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms  max {s['max_ms']:.2f} ms"


def print_klout(r: dict[str, Any], concurrency: int) -> None:
    seq: Phase = r["sequential"]
    bursts: list[Phase] = r["bursts"]
    cold: Phase = r["cold"]
    answered = sum(p.answered for p in bursts)
    print(f"klout: {r['users']:,} scored users (store built in {r['build_seconds']:.1f}s); "
          f"card cache hits/misses {r['cache'][0]}/{r['cache'][1]}")
    print(f"  load average before / after the klout run: {r['load'][0]:.2f} / "
          f"{r['load'][1]:.2f} ({os.cpu_count()} CPUs)")
    print("  bot-side time = INTERACTION_CREATE reaches discord.py's parser -> the callback "
          "request is written;")
    print("  from the wire = the fake has written the frame to its socket -> the same (adds the "
          "time the frame waits to be read)")
    print(f"  (a) service time, one request at a time (n={len(seq.wall)}):")
    print(f"        wall {ms(seq.wall)}; from the wire {ms(seq.from_wire)}")
    print(f"        loop CPU {ms(seq.cpu)}; {gc_line([seq])}")
    print(f"        loop CPU per request incl. what follows the callback: "
          f"{seq.loop_cpu * 1000:.2f} ms")
    print(f"  (b) burst of {concurrency} simultaneous, {len(bursts)} rounds "
          f"({answered}/{len(bursts) * concurrency} answered with a card):")
    print(f"        bot-side {ms([w for p in bursts for w in p.wall])}; {gc_line(bursts)}")
    print(f"        from the wire {ms([w for p in bursts for w in p.from_wire])}")
    for p in bursts:
        print(f"          round: bot-side {ms(p.wall)}; from the wire p99 "
              f"{summary(p.from_wire)['p99_ms']:.2f} ms; {len(p.wall) / p.span:,.0f} req/s, "
              f"loop CPU {p.loop_cpu / len(p.wall) * 1e6:.0f} us/request all included")
    print(f"        cold cache burst (every card built from storage): bot-side {ms(cold.wall)}; "
          f"from the wire {ms(cold.from_wire)}; {len(cold.wall) / cold.span:,.0f} req/s")
    cpu_bound = statistics.median(len(p.wall) / p.loop_cpu for p in bursts)
    print(f"  (d) capacity: {r['capacity']:,.0f} requests/s (median burst throughput; "
          f"1 / median loop CPU per request: {cpu_bound:,.0f}/s)")
    print(f"  (c) sustained open loop, Poisson arrivals from {concurrency} users:")
    for load, rate, p in r["paced"]:
        offered = (len(p.wall) - 1) / p.arrival_span if p.arrival_span else float("nan")
        print(f"        {load:.0%} of capacity ({rate:,.0f}/s asked, {offered:,.0f}/s arrived, "
              f"n={len(p.wall)}): bot-side {ms(p.wall)}")
        print(f"            from the wire {ms(p.from_wire)}")
        print(f"            {gc_line([p])}")
        print(f"            fake's send -> fake's receipt of the callback: {ms(p.round_trips)}")
    full = [(w, c) for g, w, c in r["gc"] if g == 2]
    print(f"  garbage collector while measuring: {len(r['gc'])} collections, "
          f"{sum(w for _, w, _ in r['gc']) * 1000:.0f} ms wall / "
          f"{sum(c for _, _, c in r['gc']) * 1000:.0f} ms CPU in all; {len(full)} full, "
          f"longest {max((w for w, _ in full), default=0) * 1000:.1f} ms wall / "
          f"{max((c for _, c in full), default=0) * 1000:.1f} ms CPU")


# ----------------------------------------------------------------------------- idle
def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def bench_idle(guilds: int, members: int, settle_s: float) -> dict[str, float]:
    from bot.adapters.discord import DiscordAdapter

    before = rss_mb()
    fake = FakeProcess()
    try:
        fake.call("guilds", guilds, members)
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "idle.db"
            async with KloutApp(bot_config(fake, db), clock=FixedClock(datetime.now(UTC)),
                                db_path=db) as app:
                adapter = DiscordAdapter(app, token=fake.token, reidentify_pause=False)
                runner = await connected(adapter)
                await asyncio.sleep(settle_s)
                gc.collect()
                connected_guilds = len(adapter.client.guilds)
                after = rss_mb()
                await adapter.close()
                await asyncio.wait_for(runner, 30)
    finally:
        fake.stop()
    return {"guilds": connected_guilds, "rss_mb": after, "rss_before_connect_mb": before}


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", nargs="?", default="all", choices=("all", "ingest", "klout",
                                                                    "idle"))
    parser.add_argument("--events", type=int, default=300_000, help="gateway dispatches")
    parser.add_argument("--members", type=int, default=10_000, help="members (ingest)")
    parser.add_argument("--batch-size", type=int, default=Config().storage.batch_size)
    parser.add_argument("--fold-rows", type=int, default=Config().storage.fold_rows)
    parser.add_argument("--repeat", type=int, default=1, help="ingest runs")
    parser.add_argument("--users", type=int, default=1_000_000, help="scored users (klout)")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="bursts (klout)")
    parser.add_argument("--loads", default="0.25,0.5,0.8",
                        help="sustained arrival rates, as fractions of capacity (klout)")
    parser.add_argument("--paced-seconds", type=float, default=6.0,
                        help="length of each sustained run (klout)")
    parser.add_argument("--guilds", type=int, default=100)
    args = parser.parse_args()
    if args.which in ("all", "idle"):  # first, so the other runs' memory isn't counted
        r = asyncio.run(bench_idle(args.guilds, 10, 3.0))
        print(f"idle: RSS {r['rss_mb']:.1f} MB connected to {r['guilds']:.0f} guilds "
              f"(process before connecting: {r['rss_before_connect_mb']:.1f} MB)")
    if args.which in ("all", "ingest"):
        runs = []
        for run in range(1, args.repeat + 1):
            load = os.getloadavg()[0]
            r = asyncio.run(bench_ingest(args.events, args.members, args.batch_size,
                                         args.fold_rows))
            runs.append(r)
            print(f"ingest run {run}: {r['dispatches']:,} gateway dispatches -> {r['rows']:,} "
                  f"event rows in {r['seconds']:.2f}s (batch_size {args.batch_size}, fold_rows "
                  f"{args.fold_rows}; "
                  f"{r['fast'] / r['dispatches']:.0%} of dispatches by the fast lane; "
                  f"{r['left_in_inbox']} rows left in the inbox; load average {load:.2f})")
            print(f"  adapter->events table: {r['rows_per_s']:,.0f} events/s "
                  f"({r['dispatches_per_s']:,.0f} dispatches/s), folds included; "
                  f"{r['cpu_us_per_row']:.1f} us of CPU per event, all threads "
                  f"({r['loop_cpu_us_per_row']:.1f} on the event loop's thread)")
            print(f"  raw executemany into events: {r['raw_rows_per_s']:,.0f} rows/s "
                  f"({r['raw_seconds']:.2f}s); into event_inbox: "
                  f"{r['raw_inbox_rows_per_s']:,.0f} rows/s")
            print(f"  ratio: {r['rows_per_s'] / r['raw_rows_per_s']:.0%} of raw")
            with_decode = r["rows"] / (r["seconds"] + r["decode_seconds"])
            print(f"  decoding the frames first (orjson, as discord.py does): "
                  f"{r['decode_seconds'] / r['dispatches'] * 1e6:.1f} us per dispatch; "
                  f"in series with the path: {with_decode:,.0f} events/s")
        if len(runs) > 1:
            ours = sorted(r["rows_per_s"] for r in runs)
            raw = sorted(r["raw_rows_per_s"] for r in runs)
            ratio = sorted(r["rows_per_s"] / r["raw_rows_per_s"] for r in runs)
            print(f"ingest over {len(runs)} runs: {ours[0]:,.0f}-{ours[-1]:,.0f} events/s "
                  f"(median {statistics.median(ours):,.0f}); raw {raw[0]:,.0f}-{raw[-1]:,.0f} "
                  f"rows/s; ratio {ratio[0]:.0%}-{ratio[-1]:.0%}")
    if args.which in ("all", "klout"):
        loads = [float(x) for x in args.loads.split(",")]
        r = asyncio.run(bench_klout(args.users, args.concurrency, args.rounds, loads,
                                    args.paced_seconds))
        print_klout(r, args.concurrency)

if __name__ == "__main__":
    main()
