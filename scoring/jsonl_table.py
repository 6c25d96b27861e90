"""The accepted lines of a `klout-bot score` file, as columns.

What score_events builds from Interaction objects, without building them: half a
million dataclasses cost more than the scoring itself. `add_batch` takes
thousands of decoded lines at once and checks each field column-wise (distinct
kinds, ids and platforms once each); it accepts a batch only if FieldReader would
accept every line of it unchanged, and otherwise adds nothing, so the caller can
take the line-by-line path that words each problem.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from scoring.engine import _facts_from_profiles
from scoring.jsonl_bytes import unique_ids
from scoring.jsonl_fields import (
    MAX_EPOCH,
    MAX_ID_CHARS,
    MIN_EPOCH,
    EventFields,
    FieldReader,
    LineError,
    id_problem,
    parse_timestamp,
)
from scoring.kinds import Kind
from scoring.propagation import MAX_EVENT_WEIGHT
from scoring.records import AccountFacts, InteractionArrays, Profile

_MISSING = object()
_SMALL_CACHE = 256
# Sorting ids in numpy needs n * longest bytes; beyond this many UTF-8 bytes, ids are
# sorted as Python bytes objects instead.
_NUMPY_SORT_MAX_BYTES = 64
# A target id that names nobody (a message): ids are never empty.
_NO_TARGET = b""


class EventTable:
    def __init__(self, community: str | None) -> None:
        self.community = community
        self.communities: set[str] = set()
        self.index: dict[str, int] = {}  # id -> provisional number, first seen first
        self.platform_index: dict[str, int] = {}  # normalised name -> provisional code
        self._kind_codes: dict[str, Kind] = {}  # accepted spellings of event kinds
        self._platform_codes: dict[str, int] = {}  # accepted spellings of platforms
        self.actor: list[int] = []
        self.target: list[int] = []
        self.kind: list[int] = []
        self.ts: list[float] = []
        self.weight: list[float] = []
        self.platform: list[int] = []
        self.profiles: list[Profile] = []
        # Runs the byte-level reader added: (events in the lists before it, columns).
        self._runs: list[tuple[int, _Run]] = []

    def add(self, record: EventFields | Profile) -> None:
        """One record FieldReader accepted."""
        index = self.index
        if isinstance(record, Profile):
            index.setdefault(record.user, len(index))
            self.profiles.append(record)
            return
        actor, target, kind, ts, platform, community, weight = record
        if community is not None:
            self.communities.add(community)
        if self.community is not None and community != self.community:
            return
        a = index.setdefault(actor, len(index))
        t = -1 if target is None else index.setdefault(target, len(index))
        p = self.platform_index.setdefault(platform, len(self.platform_index))
        self._extend([a], [t], [kind], [ts], [weight], [p])

    def add_batch(self, objs: list[Any], reader: FieldReader) -> bool:
        """Add every line of `objs` (decoded JSON) if all are events FieldReader
        accepts as they are; otherwise add nothing and return False."""
        known = len(self.index)
        try:
            if self._add_batch(objs, reader):
                return True
        except (TypeError, LineError):  # an unhashable value, a refused spelling
            pass
        # Numbering the ids is also how new ones are found: forget those of a
        # refused batch (dicts keep insertion order, so they are the last ones).
        for _ in range(len(self.index) - known):
            self.index.popitem()
        return False

    def _add_batch(self, objs: list[Any], reader: FieldReader) -> bool:
        if set(map(type, objs)) != {dict}:
            return False
        texts, actors, targets, times, platform_names, weights, communities = _columns(objs)
        kinds = self._kinds(texts, reader)
        if kinds is None:
            return False
        has_messages = Kind.MESSAGE in set(kinds)
        if has_messages:
            if any((t is None) != (k is Kind.MESSAGE) for t, k in zip(targets, kinds, strict=True)):
                return False
        elif None in targets:
            return False
        if None in actors:
            return False
        platforms = self._platforms(platform_names, reader)
        ts = _times(times)
        if ts is None or not _plain_weights(weights):
            return False
        named = set(communities)
        named.discard(None)
        if not _valid_ids([c for c in named if c not in self.communities]):
            return False
        index = self.index
        known = len(index)
        if self.community is not None:
            # Every id must be valid, but only those of the chosen lines become users.
            names = set(actors)
            names.update(targets)
            names.discard(None)
            if not _valid_ids([name for name in names if name not in index]):
                return False
            chosen = [c == self.community for c in communities]
            actors, targets, kinds, ts, weights, platforms = (
                list(itertools.compress(column, chosen))
                for column in (actors, targets, kinds, ts, weights, platforms)
            )
        number = index.setdefault
        actor = [number(a, len(index)) for a in actors]
        if has_messages:
            target = [-1 if t is None else number(t, len(index)) for t in targets]
        else:
            target = [number(t, len(index)) for t in targets]
        # Insertion order: the ids this batch numbered first are the dict's last.
        if not _valid_ids(list(itertools.islice(reversed(index), len(index) - known))):
            return False
        self.communities.update(named)
        self._extend(actor, target, kinds, ts, weights, platforms)
        return True

    def _extend(self, *columns: Sequence[Any]) -> None:
        """actor, target, kind, ts, weight and platform columns, in that order."""
        mine: tuple[list[Any], ...] = (
            self.actor, self.target, self.kind, self.ts, self.weight, self.platform
        )
        for column, more in zip(mine, columns, strict=True):
            column.extend(more)

    def _kinds(self, texts: Sequence[Any], reader: FieldReader) -> list[Kind] | None:
        codes = self._kind_codes
        for text in set(texts):
            if text not in codes:
                kind = reader.kind(text) if type(text) is str else None
                if not isinstance(kind, Kind) or len(codes) >= _SMALL_CACHE:
                    return None  # profiles and unknown kinds go line by line
                codes[text] = kind
        return list(map(codes.__getitem__, texts))

    def _platforms(self, names: Sequence[Any], reader: FieldReader) -> list[int]:
        codes = self._platform_codes
        for name in set(names):
            if name not in codes:
                if len(codes) >= _SMALL_CACHE:
                    raise LineError("too many platform spellings for the batch path")
                platform = reader.platform(name)  # raises LineError if refused
                codes[name] = self.platform_index.setdefault(platform, len(self.platform_index))
        return list(map(codes.__getitem__, names))

    def platform_code(self, reader: FieldReader, name: str) -> int:
        """The provisional code of an accepted platform spelling (LineError if refused)."""
        return self._platforms([name], reader)[0]

    def add_columns(
        self,
        actor: np.ndarray,
        target: np.ndarray | None,
        kind: np.ndarray,
        ts: np.ndarray,
        platform: np.ndarray,
        community: tuple[np.ndarray, list[str]] | None,
    ) -> None:
        """A run of events the byte-level reader accepted: ids as fixed-width UTF-8
        bytes (target None: all messages), community as (per line, distinct names)."""
        if community is not None:
            self.communities.update(community[1])
        if self.community is not None:
            if community is None:
                return
            chosen = community[0] == self.community.encode()
            actor, kind, ts, platform = actor[chosen], kind[chosen], ts[chosen], platform[chosen]
            target = None if target is None else target[chosen]
        if not len(actor):
            return
        if target is None:
            target = np.full(len(actor), _NO_TARGET, dtype="S1")
        self._runs.append((len(self.actor), _Run(actor, target, kind, ts, platform)))

    def has_lines(self) -> bool:
        return bool(self.actor or self.profiles or self._runs)

    def event_count(self) -> int:
        return len(self.actor) + sum(len(run.kind) for _, run in self._runs)

    def inputs(self) -> tuple[list[str], list[str], InteractionArrays, AccountFacts]:
        """(users, platforms, arrays, facts) numbered as score_events numbers them:
        users and platforms in sorted order, events in line order."""
        # The strict paths' ids, by provisional number, then one for "no target" (-1).
        known = [*(name.encode() for name in self.index), _NO_TARGET]
        known_ids = _id_array(known)
        platforms, platform_rank = _sorted_with_ranks(list(self.platform_index))
        runs = self._interleaved(known_ids)
        actors = [run.actor for run in runs]
        targets = [run.target for run in runs]
        # Users are numbered by sorting their UTF-8 bytes: the code point order of
        # score_events' sorted(str), since UTF-8 keeps that order.
        every = _concatenate([*actors, *targets, known_ids])
        unique, number = unique_ids(every)
        # The marker sorts first (known holds it): dropping it makes it -1.
        unique, number = unique[1:], number - 1
        users = [name.decode() for name in unique.tolist()]
        m = sum(len(a) for a in actors)
        actor, target, rank = number[:m], number[m : 2 * m], number[2 * m : -1]
        arrays = InteractionArrays(
            actor,
            target,
            np.concatenate([run.kind for run in runs]) if runs else np.zeros(0, np.uint8),
            np.concatenate([run.ts for run in runs]) if runs else np.zeros(0),
            len(users),
            np.concatenate([run.weight for run in runs]) if runs else np.zeros(0),
            platform_rank[np.concatenate([run.platform for run in runs])]
            if runs
            else np.zeros(0, np.int64),
        )
        facts = _facts_from_profiles(self.profiles, _Numbering(self.index, rank, len(users)), {})
        return users, platforms, arrays, facts

    def _interleaved(self, known_ids: np.ndarray) -> list[_Run]:
        """Every event in line order: the strict paths' lists cut where runs came in."""
        actor = _array(self.actor, np.int64)
        target = _array(self.target, np.int64)
        kind = _array(self.kind, np.uint8)
        ts = _array(self.ts, np.float64)
        weight = _array(self.weight, np.float64)
        platform = _array(self.platform, np.int64)
        out: list[_Run] = []
        done = 0
        for at, run in [*self._runs, (len(actor), None)]:
            if at > done:
                part = slice(done, at)
                out.append(
                    _Run(
                        known_ids[actor[part]],
                        known_ids[target[part]],  # -1: the no-target marker
                        kind[part],
                        ts[part],
                        platform[part],
                        weight[part],
                    )
                )
                done = at
            if run is not None:
                out.append(run)
        return out


class _Run:
    """Events in line order: ids as bytes, then kind, ts, platform and weight columns."""

    def __init__(
        self,
        actor: np.ndarray,
        target: np.ndarray,
        kind: np.ndarray,
        ts: np.ndarray,
        platform: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> None:
        self.actor, self.target, self.kind, self.ts, self.platform = (
            actor, target, kind, ts, platform
        )
        self.weight = np.ones(len(kind)) if weight is None else weight


def _id_array(names: list[bytes]) -> np.ndarray:
    """Fixed-width bytes when the ids are short, else Python bytes objects."""
    longest = max(map(len, names), default=0)
    if longest <= _NUMPY_SORT_MAX_BYTES:
        return np.array(names, dtype=f"S{max(longest, 1)}")
    return np.array(names, dtype=object)


def _concatenate(parts: list[np.ndarray]) -> np.ndarray:
    """One array of ids; Python bytes objects if any part is, or if the widest id
    would make a fixed-width array too big."""
    wide = any(p.dtype == object or p.dtype.itemsize > _NUMPY_SORT_MAX_BYTES for p in parts)
    if wide:
        return np.concatenate([p.astype(object) for p in parts])
    return np.concatenate(parts)


def _columns(objs: list[dict[str, Any]]) -> tuple[list[Any], ...]:
    """kind, actor, target, ts, platform, weight and community of every object, with
    FieldReader's defaults (a missing ts is _MISSING)."""
    return (
        [o.get("kind") for o in objs],
        [o.get("actor") for o in objs],
        [o.get("target") for o in objs],
        [o.get("ts", _MISSING) for o in objs],
        [o.get("platform", "discord") for o in objs],
        [o.get("weight", 1.0) for o in objs],
        [o.get("community") for o in objs],
    )


def _valid_ids(names: list[Any]) -> bool:
    """Whether id_problem accepts every name; the common case in C-level passes."""
    if not names:
        return True
    plain = (
        set(map(type, names)) == {str}
        and min(map(len, names)) > 0
        and max(map(len, names)) <= MAX_ID_CHARS
        and all(map(str.isprintable, names))
        and list(map(str.strip, names)) == names
    )
    return plain or all(id_problem(name) is None for name in names)


def _times(values: Sequence[Any]) -> Sequence[float] | None:
    """Epoch seconds for every value, or None if any would be refused."""
    if set(map(type, values)) == {int}:
        return values if min(values) >= MIN_EPOCH and max(values) <= MAX_EPOCH else None
    out = []
    for value in values:
        if value is _MISSING:
            return None
        try:
            out.append(parse_timestamp(value))
        except LineError:
            return None
    return out


def _plain_weights(values: Sequence[Any]) -> bool:
    # Types first: True == 1 would otherwise pass as the number it hashes like.
    if not set(map(type, values)) <= {float, int}:
        return False
    return all(0 <= v <= MAX_EVENT_WEIGHT for v in set(values))


def _sorted_with_ranks(items: list[str]) -> tuple[list[str], np.ndarray]:
    """(sorted items, rank) with rank[i] = position of items[i] in the sorted list.
    For the few platform names."""
    order = sorted(range(len(items)), key=items.__getitem__)
    rank = np.empty(len(items), dtype=np.int64)
    rank[order] = np.arange(len(items), dtype=np.int64)
    return [items[i] for i in order], rank


def _array(values: list[Any], dtype: type) -> np.ndarray:
    return np.fromiter(values, dtype=dtype, count=len(values))


class _Numbering(Mapping[str, int]):
    """id -> final user number for the ids the strict paths numbered (every profile's
    among them), without a second dict; its length is the number of users, which
    _facts_from_profiles sizes the facts by."""

    def __init__(self, index: dict[str, int], rank: np.ndarray, n_users: int) -> None:
        self._index, self._rank, self._n_users = index, rank, n_users

    def __getitem__(self, user: str) -> int:
        return int(self._rank[self._index[user]])

    def __len__(self) -> int:
        return self._n_users

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)
