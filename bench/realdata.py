"""Convert the shared real-world data sets to `klout-bot score` event JSONL.

    python bench/realdata.py higgs OUT.jsonl      # Higgs Twitter activity (SNAP)
    python bench/realdata.py congress OUT.jsonl   # 117th US Congress on X (SNAP)

The data lives outside the repository (REALWORLD_DIR, see its README) and is never
copied in: benches and tests read it from there and skip when it is absent.
`higgs_events(path)` and `congress_events(path)` yield event dicts in the format
scoring/jsonl.py documents; `write_jsonl(events, out)` writes them.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

# The shared folder sits beside the checkout (../shared); KLOUT_REALWORLD_DIR overrides it.
REALWORLD_DIR = Path(os.environ.get(
    "KLOUT_REALWORLD_DIR",
    Path(__file__).resolve().parents[2] / "shared" / "data" / "realworld"))
HIGGS_PATH = REALWORLD_DIR / "higgs-activity_time.txt.gz"
CONGRESS_PATH = REALWORLD_DIR / "congress_network_data.json"

# Higgs interaction codes: A retweeted (RT), mentioned (MT) or replied to (RE) B.
HIGGS_KINDS = {"RT": "retweet", "MT": "mention", "RE": "reply"}
# The Congress file has no timestamps: every event is stamped at this instant, the
# end of the data's collection window (2022-06-01T00:00:00Z, 117th Congress).
CONGRESS_TS = 1_654_041_600


def higgs_events(
    path: str | Path = HIGGS_PATH, *, keep_reply_mentions: bool = False
) -> Iterator[dict[str, Any]]:
    """One event per row of the Higgs activity file, in file order.

    Every RE row also appears as an MT row at the same second (the reply's implicit
    @-mention). By default that MT row is dropped so a reply is counted once, as a
    reply; keep_reply_mentions=True keeps every row (563,069 events).
    """
    with gzip.open(path, "rt", encoding="ascii") as handle:
        rows = [line.split() for line in handle if line.strip()]
    replies = {(a, b, ts) for a, b, ts, code in rows if code == "RE"}
    for actor, target, ts, code in rows:
        if code == "MT" and not keep_reply_mentions and (actor, target, ts) in replies:
            continue
        yield {
            "kind": HIGGS_KINDS[code],
            "actor": actor,
            "target": target,
            "ts": int(ts),
            "platform": "twitter",
        }


def congress_events(path: str | Path = CONGRESS_PATH) -> Iterator[dict[str, Any]]:
    """One weighted mention per directed edge of the Congress network.

    The file's edge weight (its share of the source's interactions) becomes the event
    weight; its kinds are not separated, so every edge is a "mention". Members are
    named by their X username.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))[0]
    names = data["usernameList"]
    edges = zip(data["outList"], data["outWeight"], strict=True)
    for source, (targets, weights) in enumerate(edges):
        for target, weight in zip(targets, weights, strict=True):
            if target == source:
                continue
            yield {
                "kind": "mention",
                "actor": names[source],
                "target": names[target],
                "ts": CONGRESS_TS,
                "platform": "twitter",
                "weight": float(weight),
            }


def write_jsonl(events: Iterable[dict[str, Any]], out: str | Path) -> int:
    """Write one event per line; returns the number written."""
    count = 0
    with Path(out).open("wb") as handle:
        for event in events:
            handle.write(orjson.dumps(event) + b"\n")
            count += 1
    return count


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("higgs", "congress"):
        sys.stderr.write("usage: python bench/realdata.py higgs|congress OUT.jsonl\n")
        return 2
    events = higgs_events() if argv[0] == "higgs" else congress_events()
    count = write_jsonl(events, argv[1])
    sys.stdout.write(f"{argv[1]}: {count} events\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
