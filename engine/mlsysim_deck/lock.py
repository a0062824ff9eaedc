"""The claims lock: every number the deck states, committed, so that a moved number is a reviewed one.

``slides/claims.lock.json`` holds, per claim id, the text the slide prints and the value with its
unit, one claim per line (sorted), so that a change of physics or of a spec value shows up in code
review as a readable diff of slide numbers.  The tests compare the claims against it and fail,
listing each claim that moved (old → new) or disappeared, and the slides and PDF pages that show it.
A claim the lock does not hold yet (a new slide, a new accelerator) is reported as new, not a
failure: nothing it replaces has moved, and `doit accept_claims` adds it::

    python -m mlsysim_deck.lock check      # evaluate the claims now and compare (exit 1 on a change)
    doit accept_claims                     # accept the build's claims: rewrite the lock

Values are compared to 10 significant digits (the last bits of a float may differ between
machines); the printed text must match exactly.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_text_atomic

ROOT = Path(__file__).resolve().parents[2]  # engine/mlsysim_deck/lock.py -> the repository
LOCK = ROOT / "slides" / "claims.lock.json"
BUILD = ROOT / "build"
DIGITS = 10


def lock_entry(record: dict) -> dict:
    """What the lock keeps of a claim: its printed text, and its value with unit."""
    value = record["value"]
    if isinstance(value, float):
        value = float(f"{value:.{DIGITS}g}")
    return {"text": record["text"], "value": value, "unit": record.get("unit", "")}


def dumps(entries: dict[str, dict]) -> str:
    """The lock file's text: sorted, one claim per line, so diffs and merges read well."""
    lines = [f"{json.dumps(cid, ensure_ascii=False)}: {json.dumps(entries[cid], ensure_ascii=False, sort_keys=True)}"
             for cid in sorted(entries)]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def read_lock(path: Path = LOCK) -> dict[str, dict]:
    path = Path(path)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def write_lock(records: dict[str, dict], path: Path = LOCK) -> bool:
    """Rewrite the lock from claim records (id -> record); True if its bytes changed."""
    return write_text_atomic(Path(path), dumps({cid: lock_entry(r) for cid, r in records.items()}))


def records_of(claims_json: Path) -> dict[str, dict]:
    """id -> record, from build/claims.json."""
    data = json.loads(Path(claims_json).read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["claims"]}


# --- comparing ---------------------------------------------------------------------------------


def _same(old: dict, new: dict) -> bool:
    if old.get("text") != new.get("text") or old.get("unit", "") != new.get("unit", ""):
        return False
    a, b = old.get("value"), new.get("value")
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=10 ** (1 - DIGITS), abs_tol=0.0) or a == b
    return a == b


@dataclass
class Change:
    """One claim that differs from the lock: added (old None), removed (new None) or moved."""

    id: str
    old: dict | None
    new: dict | None
    places: list[str]

    @property
    def added(self) -> bool:
        return self.old is None

    def describe(self) -> str:
        if self.old is None:
            head = f"+ {self.id}: new claim, {_shown(self.new)}"
        elif self.new is None:
            head = f"- {self.id}: no longer declared (was {_shown(self.old)})"
        else:
            head = f"~ {self.id}: {_shown(self.old)} \u2192 {_shown(self.new)}"
            if self.old.get("text") == self.new.get("text"):
                head += " (same text; the value moved)"
        where = "".join(f"\n      on {p}" for p in self.places) or ("\n      (not on any slide)"
                                                                      if self.new is not None else "")
        return head + where


def _shown(entry: dict) -> str:
    value = entry.get("value")
    text = entry.get("text", "")
    if isinstance(value, float):
        unit = f" {entry['unit']}" if entry.get("unit") else ""
        return f"\u201c{text}\u201d [{value:.{DIGITS}g}{unit}]"
    return f"\u201c{text}\u201d"


def compare(lock: dict[str, dict], records: dict[str, dict], pages: dict[str, int] | None = None) -> list[Change]:
    """The claims whose text or value differ from the lock, with the slides and pages using them."""
    from .pages import where_used

    pages = pages or {}
    changes = []
    for cid in sorted(set(lock) | set(records)):
        old = lock.get(cid)
        new = lock_entry(records[cid]) if cid in records else None
        if old is not None and new is not None and _same(old, new):
            continue
        places = where_used(records[cid], pages) if cid in records else []
        changes.append(Change(cid, old, new, places))
    return changes


def failing(changes: list[Change]) -> list[Change]:
    """The changes that fail the check: moved or removed claims (a new claim is only reported)."""
    return [c for c in changes if not c.added]


def report(changes: list[Change], lock_path: Path = LOCK) -> str:
    if not changes:
        return "claims match the lock"
    shown = lock_path.relative_to(ROOT) if Path(lock_path).is_relative_to(ROOT) else lock_path
    moved, added = failing(changes), [c for c in changes if c.added]
    lines = []
    if moved:
        lines.append(f"{len(moved)} claim(s) differ from {shown} (old \u2192 new):")
        lines += [c.describe() for c in moved]
    else:
        lines.append(f"claims match {shown}")
    if added:
        lines.append(f"{len(added)} new claim(s), not in {shown} yet (reported, not a failure):")
        lines += [c.describe() for c in added]
    lines.append("If these are intended, accept them: `doit accept_claims` (then commit the lock).")
    return "\n".join(lines)


# --- the build's places for claims evaluated afresh ------------------------------------------


def slides_of(build: Path = BUILD) -> dict[str, list]:
    """claim id -> its slides, from the last build's claims.json (empty without a build)."""
    path = Path(build) / "claims.json"
    if not path.exists():
        return {}
    return {cid: r.get("slides", []) for cid, r in records_of(path).items()}


def fresh_records(slides_root: Path = ROOT / "slides", build: Path = BUILD) -> dict[str, dict]:
    """Evaluate every claim now (from the current specs and engine), with the last build's slides."""
    from .build import collect_claims

    records = collect_claims(Path(slides_root))
    places = slides_of(build)
    for cid, record in records.items():
        record["slides"] = places.get(cid, [])
    return records


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mlsysim_deck.lock", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check", "accept"], nargs="?", default="check")
    parser.add_argument("--lock", type=Path, default=LOCK, help="the lock file (default: slides/claims.lock.json)")
    parser.add_argument("--build", type=Path, default=BUILD, help="the build directory (slides and pages)")
    parser.add_argument("--from-build", action="store_true",
                        help="use the build's claims.json instead of evaluating the claims now")
    args = parser.parse_args(argv)
    from .pages import claim_pages

    from mlsysim.spec import SpecError
    from .claims import ClaimError

    try:
        if args.from_build:
            path = args.build / "claims.json"
            if not path.exists():
                print(f"error: {path} does not exist: run `doit` first", file=sys.stderr)
                return 2
            records = records_of(path)
        else:
            records = fresh_records(build=args.build)
    except (ClaimError, SpecError, LookupError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.command == "accept":
        changed = write_lock(records, args.lock)
        print(f"{'wrote' if changed else 'unchanged:'} {args.lock} ({len(records)} claims)")
        return 0
    changes = compare(read_lock(args.lock), records, claim_pages(args.build / "deck.pdf"))
    print(report(changes, args.lock))
    return 1 if failing(changes) else 0


def accept_from_build(claims_json: Path, lock_path: Path = LOCK, pdf: Path | None = None) -> None:
    """doit accept_claims: show what moves, then rewrite the lock from build/claims.json."""
    from .pages import claim_pages

    records = records_of(claims_json)
    changes = compare(read_lock(lock_path), records, claim_pages(pdf) if pdf else {})
    if changes:
        print(report(changes, lock_path).rsplit("\n", 1)[0])
    changed = write_lock(records, lock_path)
    print(f"{'accepted' if changed else 'lock already up to date:'} {len(records)} claims -> {lock_path}")


if __name__ == "__main__":
    raise SystemExit(main())
