"""Impact analysis: which numbers, slides, figures and listings move if one spec value changes.

    mlsysim-impact hardware.H100.memory_bandwidth                 # what reads it
    mlsysim-impact hardware.H100.memory_bandwidth --value "3.9 TB/s"
    mlsysim-impact "H100 memory bandwidth = 3.9 TB/s"             # the same, in words
    python -m mlsysim_deck.impact ...                             # without the console script

It answers before anything is rebuilt, and writes nothing under build/: the claims are evaluated
twice in child processes (forked from this one, with the engine loaded: `runner.Child`), once on the spec files as they are and once on a copy in a temporary
directory with the one value changed (``MLSYSIM_SPECS``).  The slides and PDF pages a claim appears
on come from the last build (build/claims.json, build/deck.pdf) when there is one, else from the
templates; which figures and listings read the key comes from the spec inputs doit saved for them
(build/.doit.db, opened read-only), else from running them under the recorder in a temporary
directory.  With a new value, the listings that read the key are run on both spec sets and their
printed lines compared.
"""
from __future__ import annotations

import difflib
import json
import math
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # engine/mlsysim_deck/impact.py -> the repository


class ImpactError(Exception):
    """The question cannot be answered as asked (unknown key, a value of the wrong kind)."""


# --- the repository and its spec keys --------------------------------------------------------


def find_root(start: Path | None = None) -> Path:
    """The repository: the nearest folder above `start` (default: cwd) with dodo.py and slides/."""
    here = Path(start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "dodo.py").exists() and (folder / "slides").is_dir():
            return folder
    if (PACKAGE_ROOT / "slides").is_dir():
        return PACKAGE_ROOT
    raise ImpactError("run this inside the tutorial's repository (no dodo.py and slides/ found)")


def spec_keys(spec_dir: Path) -> dict[str, str]:
    from .build import spec_fingerprints

    return {k: v for k, v in spec_fingerprints(spec_dir).items() if k.count(".") >= 2}  # not "<stem>.tables"


def resolve_key(text: str, keys) -> str:
    """'hardware.H100.memory_bandwidth' as is; 'H100 memory bandwidth' -> the one key it names."""
    text = text.strip()
    if text in keys:
        return text
    words = [w for w in re.split(r"[\s.]+", text) if w]
    found = []
    for key in keys:
        stem, table, name = key.split(".", 2)
        for i in range(len(words)):
            rest = words[:i] + words[i + 1:]
            if words[i].lower() == table.lower() and "_".join(rest).lower() in (name.lower(),
                                                                                 f"{stem}_{name}".lower()):
                found.append(key)
                break
    if len(found) == 1:
        return found[0]
    close = difflib.get_close_matches(text, list(keys), n=5, cutoff=0.5) if not found else sorted(found)
    hint = f"; did you mean: {', '.join(close)}" if close else " (keys read: file stem.table.field)"
    raise ImpactError(f"unknown spec key {text!r}{hint}")


def split_question(text: str) -> tuple[str, str | None]:
    """'KEY = VALUE' -> (KEY, VALUE); 'KEY' -> (KEY, None)."""
    if "=" in text:
        key, value = text.split("=", 1)
        return key.strip(), value.strip()
    return text.strip(), None


_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)\s*(.*?)\s*$", re.IGNORECASE)


def changed_spec_text(spec_text: str, table: str, field_name: str, value: str) -> tuple[str, int]:
    """The spec file's text with [table] field set to `value` ("3.9 TB/s", "3.9", or a name)."""
    from mlsysim.spec import _line_numbers

    line_no = _line_numbers(spec_text).get((table, field_name))
    if line_no is None:
        raise ImpactError(f"[{table}] has no {field_name} to change")
    lines = spec_text.splitlines(keepends=True)
    line = lines[line_no - 1]
    key_part, rhs = line.split("=", 1)
    if rhs.strip().startswith("{"):
        m = _NUMBER.match(value)
        if not m:
            raise ImpactError(f"{table}.{field_name}: {value!r} is not a number with an optional unit "
                              f"(such as \"3.9 TB/s\")")
        number, unit = m.group(1), m.group(2)
        number = number.lower() if number.lower() in ("nan", "inf") else number
        new, n = re.subn(r"(\bvalue\s*=\s*)[^,}]+", lambda g: g.group(1) + number, rhs, count=1)
        if unit:
            if re.search(r"\bunit\s*=", new):
                new = re.sub(r'(\bunit\s*=\s*)"[^"]*"', lambda g: g.group(1) + json.dumps(unit), new, count=1)
            else:
                new = new.replace("{", "{ unit = " + json.dumps(unit) + ",", 1)
        if not n:
            raise ImpactError(f"{table}.{field_name}: cannot find its value in the spec file")
        line = key_part + "=" + new
    else:
        line = f"{key_part.rstrip()} = {json.dumps(value)}\n"
    lines[line_no - 1] = line
    return "".join(lines), line_no


# --- evaluating in child processes -------------------------------------------------------------


def evaluated(slides_root: str) -> dict:
    """Every claim, evaluated on the spec files this process reads, and those that failed (run in a
    child process, `runner.Child`, once on each set of spec files)."""
    from mlsysim.spec import SpecError

    from .build import collect_claims
    from .claims import ClaimError

    failed: list[dict] = []
    try:
        records = collect_claims(Path(slides_root), failed)
    except (ClaimError, SpecError, LookupError) as err:
        print(f"{err}", file=sys.stderr)
        raise SystemExit(2)
    return {"records": records, "failed": failed}


def _start_claims(root: Path, spec_dir: Path):
    from .runner import Child

    return Child("mlsysim_deck.impact:evaluated", [str(root / "slides")], root / "engine", specs=spec_dir, cwd=root)


def _finish_claims(child, label: str) -> tuple[dict, list[dict]]:
    """(records, claims that failed) of one evaluation in a child process."""
    done = child.wait()
    if done.returncode != 0:
        raise ImpactError(f"the claims cannot be evaluated {label}:\n{done.stderr.strip()}")
    return done.value["records"], done.value["failed"]


# --- claims whose sense flips ------------------------------------------------------------------


def _is_ratio(old: dict, new: dict) -> bool:
    """A number read against 1: a speedup or factor ("1.10×"), a ratio, a fraction of a budget.
    Counts (whole numbers before and after) are not: 2 requests -> 0 is a change, not a flip."""
    if new.get("kind") != "number":
        return False
    if str(new.get("text", "")).endswith("\u00d7") or re.search(r"speedup|ratio|factor", new["id"]):
        return True
    return not (float(old["value"]).is_integer() and float(new["value"]).is_integer())


def sense_flip(old: dict, new: dict) -> str | None:
    """Why a claim's meaning changes, not only its number, or None: a ratio crossing 1 (faster
    becomes slower), a sign change, a word the engine decides (a bottleneck, the fastest chip, a
    ranking) that becomes another word."""
    a, b = old.get("value"), new.get("value")
    if old.get("kind") == "text" or new.get("kind") == "text":
        if old.get("text") != new.get("text"):
            return f"the engine's verdict changes: \u201c{old.get('text')}\u201d becomes \u201c{new.get('text')}\u201d"
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
        return None
    if _is_ratio(old, new) and (a - 1) * (b - 1) < 0:
        more, less = ("above", "below") if a > 1 else ("below", "above")
        return (f"the ratio crosses 1 ({old.get('text')} \u2192 {new.get('text')}): it was {more} 1 and is now "
                f"{less}, so \u201cfaster\u201d, \u201cmore\u201d or \u201clonger\u201d around it now reads the "
                f"other way round")
    if a * b < 0:
        return f"the sign changes ({old.get('text')} \u2192 {new.get('text')})"
    return None


def _run_listing(root: Path, src: Path, spec_dir: Path, records: dict) -> tuple[list[str], list[str]]:
    """(printed lines, spec keys read) of one listing run in a temporary directory, its
    \\VAR{claim("id")} placeholders filled from `records` (the claims on the same specs)."""
    from .build import BuildError, fill_listing, listing_claims

    def lookup(claim_id):
        if claim_id not in records:
            raise BuildError(f"{src}: unknown claim {claim_id!r}")
        return records[claim_id]

    from .runner import run_script

    with tempfile.TemporaryDirectory() as tmp:
        runnable = Path(tmp) / src.name
        try:
            runnable.write_text(fill_listing(src.read_text(encoding="utf-8"), lookup), encoding="utf-8")
        except BuildError as err:
            return [f"(cannot fill in: {err})"], []
        ran = run_script(runnable, Path(tmp), root / "engine", timeout=300, specs=spec_dir)
    keys = ran.reads
    # a listing also reads what the claims it shows read
    for cid in listing_claims(src.read_text(encoding="utf-8")):
        keys = sorted(set(keys) | set(records.get(cid, {}).get("inputs", [])))
    if ran.returncode != 0:
        last = (ran.stderr.strip().splitlines() or ["?"])[-1]
        return [f"(raises: {last})"], keys
    return ran.stdout.splitlines(), keys


def figure_reads(script: str) -> list[str]:
    """The spec keys a figure script reads as it draws (into a temporary file; run in a child)."""
    import runpy

    from mlsysim.spec import reading

    sys.path.insert(0, str(Path(script).parent))
    main = runpy.run_path(script, run_name="figure")["main"]
    with tempfile.TemporaryDirectory() as tmp, reading() as keys:
        main(Path(tmp) / "figure.pdf")
    return sorted(keys)


def _figure_keys(root: Path, script: Path, spec_dir: Path) -> list[str] | None:
    from .runner import Child

    done = Child("mlsysim_deck.impact:figure_reads", [str(script)], root / "engine", specs=spec_dir, cwd=root).wait()
    return done.value if done.returncode == 0 else None


def saved_inputs(build: Path) -> dict[str, list[str]]:
    """doit task id -> spec keys it read last time, from build/.doit.db (read-only; {} if absent)."""
    db = Path(build) / ".doit.db"
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
        try:
            rows = con.execute("SELECT task_id, task_data FROM doit").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return {}
    found = {}
    for task, data in rows:
        try:
            values = json.loads(data).get("_values_:", {})
        except (ValueError, AttributeError):
            continue
        if isinstance(values, dict) and "spec_inputs" in values:
            found[task] = sorted(values["spec_inputs"])
    return found


# --- the answer --------------------------------------------------------------------------------


@dataclass
class Impact:
    key: str
    old_value: str
    new_value: str | None
    where: str  # file:line of the value
    source: str
    claims_reading: list[str] = field(default_factory=list)
    changed: list = field(default_factory=list)  # lock.Change (old record entry -> new)
    figures: list[str] = field(default_factory=list)
    listings: dict[str, tuple[list[str], list[str]] | None] = field(default_factory=dict)
    flips: list = field(default_factory=list)  # (claim id, why its sense changes, places)
    false_now: list = field(default_factory=list)  # claims that fail with the new value (statements turned false)

    def report(self) -> str:
        head = f"{self.key} = {self.old_value}"
        if self.new_value is not None:
            head += f" \u2192 {self.new_value}"
        lines = [head, f"  ({self.where}; source: {self.source or 'none given'})", ""]
        if self.new_value is None:
            lines.append(f"Claims that read it ({len(self.claims_reading)}):")
            from .lock import _shown

            for c in self.changed:
                lines.append(f"  {c.id}: {_shown(c.new)}")
                lines += [f"      on {p}" for p in c.places] or ["      (not on any slide)"]
        else:
            if self.false_now:
                lines.append(f"Statements that would turn false, and claims that would fail ({len(self.false_now)}): "
                             f"the build stops on each")
                for f in self.false_now:
                    lines.append(f"  ! {f['id']}: {f['error']}")
                    lines += [f"      on {p}" for p in f.get("places", [])]
                lines.append("")
            if self.flips:
                lines.append(f"Claims whose sense flips ({len(self.flips)}): the words around them may now be wrong")
                for cid, why, places in self.flips:
                    lines.append(f"  ! {cid}: {why}")
                    lines += [f"      on {p}" for p in places]
                lines.append("")
            lines.append(f"Claims that change ({len(self.changed)} of the {len(self.claims_reading)} that read it):")
            lines += [f"  {c.describe()}" for c in self.changed] or ["  (none)"]
            same = sorted(set(self.claims_reading) - {c.id for c in self.changed} - {f["id"] for f in self.false_now})
            if same:
                lines.append(f"Claims that read it but print the same ({len(same)}): {', '.join(same)}")
        lines.append("")
        lines.append(f"Figures that read it ({len(self.figures)}):" + ("" if self.figures else " none"))
        lines += [f"  {f}" for f in self.figures]
        lines.append(f"Listings that read it ({len(self.listings)}):" + ("" if self.listings else " none"))
        for name, outputs in self.listings.items():
            lines.append(f"  {name}")
            if outputs is None:
                continue
            old, new = outputs
            diff = [d for d in difflib.ndiff(old, new) if d[:1] in "-+"]
            lines += [f"      {d}" for d in diff] or ["      (prints the same)"]
        lines.append("")
        lines.append("Nothing was rebuilt and nothing under build/ was written.")
        return "\n".join(lines)


def analyse(root: Path, key_text: str, value: str | None = None) -> Impact:
    """Answer "what moves if this spec value changes?" for the repository at `root`."""
    from .lock import Change, _same, lock_entry
    from .pages import claim_pages

    root = Path(root).resolve()
    spec_dir = root / "engine" / "mlsysim" / "specs"
    build = root / "build"
    keys = spec_keys(spec_dir)
    key = resolve_key(key_text, keys)
    stem, table, field_name = key.split(".", 2)
    spec_path = spec_dir / f"{stem}.toml"
    spec_text = spec_path.read_text(encoding="utf-8")
    from mlsysim.spec import _line_numbers, load_file

    line_no = _line_numbers(spec_text).get((table, field_name), 1)
    entry = load_file(spec_path)[table]
    old_value = json.loads(keys[key])
    with tempfile.TemporaryDirectory(prefix="mlsysim-impact-") as tmp:
        new_specs = Path(tmp) / "specs"
        if value is not None:
            shutil.copytree(spec_dir, new_specs)
            text, _ = changed_spec_text(spec_text, table, field_name, value)
            (new_specs / spec_path.name).write_text(text, encoding="utf-8")
            from mlsysim.spec import SpecError

            try:
                now = load_file(new_specs / spec_path.name)[table]
            except SpecError as err:
                raise ImpactError(f"the new value is not usable: {err}".replace(str(new_specs), str(spec_dir)))
            # the value as it is, in other words ("3350 GB/s" for 3.35 TB/s): nothing can move, so
            # neither the claims nor the listings run a second time
            same = _same_value(now.get(field_name), entry.get(field_name))
            new_proc = None if same else _start_claims(root, new_specs)
        old_proc = _start_claims(root, spec_dir)
        old, failing_now = _finish_claims(old_proc, "on the current specs")
        if value is None:
            new, false_now = None, []
        elif same:
            new, false_now = old, []
        else:
            new, false_now = _finish_claims(new_proc, f"with {key} = {value}")
        already = {f["id"] for f in failing_now}  # false before the change too: not this change's doing
        false_now = [f for f in false_now if f["id"] not in already]

        places = _places(root, build)
        pages = claim_pages(build / "deck.pdf")
        for cid, record in (new or old).items():
            record["slides"] = places.get(cid, [])
        for record in old.values():
            record["slides"] = places.get(record["id"], [])
        reading = sorted(cid for cid in set(old) | set(new or {})
                         if key in old.get(cid, {}).get("inputs", []) or key in (new or {}).get(cid, {}).get("inputs", []))
        from .pages import where_used

        flips: list[tuple[str, str, list[str]]] = []
        if new is None:
            changed = [Change(cid, None, lock_entry(old[cid]), where_used(old[cid], pages)) for cid in reading]
        else:
            changed = []
            failing = {f["id"] for f in false_now}
            for cid in sorted(set(old) | set(new)):
                if cid in failing:
                    continue  # reported with the statements that turn false
                a = lock_entry(old[cid]) if cid in old else None
                b = lock_entry(new[cid]) if cid in new else None
                if a is not None and b is not None and _same(a, b):
                    continue
                places = where_used(new.get(cid) or old[cid], pages)
                changed.append(Change(cid, a, b, places))
                why = sense_flip(old[cid], new[cid]) if cid in old and cid in new else None
                if why:
                    flips.append((cid, why, places))
            for f in false_now:
                f["places"] = where_used(old[f["id"]], pages) if f["id"] in old else []

        figures, listings = _readers(root, build, key, spec_dir, old)
        listing_out: dict = {}
        for name in listings:
            if value is None:
                listing_out[name] = None
            elif same:
                listing_out[name] = ([], [])  # prints the same
            else:
                src = root / name
                listing_out[name] = (_run_listing(root, src, spec_dir, old)[0],
                                     _run_listing(root, src, new_specs, new)[0])
    return Impact(key, str(old_value), value, f"{_rel(spec_path, root)}:{line_no}", entry.source(field_name),
                  reading, changed, figures, listing_out, flips, false_now)


def _same_value(a, b) -> bool:
    """Two spec values in their canonical unit: equal, floats up to rounding (3350e9 and 3.35e12)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12)
    return a == b


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _places(root: Path, build: Path) -> dict[str, list]:
    """claim id -> slides: from the last build, else read from the templates (no page numbers)."""
    from .lock import slides_of

    found = slides_of(build)
    if found:
        return found
    from .build import parts
    from .render import RenderError, analyse as analyse_template, environment

    env = environment([root / "slides", root / "templates"])
    places: dict[str, list] = {}
    for part in parts(root / "slides"):
        template = root / "slides" / part["dir"] / "slides.tex.j2"
        try:
            uses = analyse_template(env, template)
        except RenderError:
            continue
        for use in uses:
            if use.helper == "claim":
                places.setdefault(use.name, []).append({"part": part["dir"], "frames": [use.frame],
                                                        "target": "", "lines": [use.line]})
    return places


def _readers(root: Path, build: Path, key: str, spec_dir: Path, records: dict) -> tuple[list[str], list[str]]:
    """The figure scripts and listings that read `key` (saved inputs, else recorded afresh)."""
    saved = saved_inputs(build)
    figures, listings = [], []
    for script in sorted((root / "figures").glob("*.py")):
        if script.name.startswith("_"):
            continue
        keys = saved.get(f"figure:{script.stem}")
        if keys is None:
            keys = _figure_keys(root, script, spec_dir) or []
        if key in keys:
            figures.append(f"{_rel(script, root)} (build/figures/{script.stem}.pdf is redrawn)")
    for src in sorted((root / "slides").glob("*/listings/*.py")):
        keys = saved.get(f"listing:{src.parent.parent.name}/{src.stem}")
        if keys is None:
            keys = _run_listing(root, src, spec_dir, records)[1]
        else:  # and what the claims it fills in or checks read
            from .build import listing_claims

            for cid in listing_claims(src.read_text(encoding="utf-8")):
                keys = sorted(set(keys) | set(records.get(cid, {}).get("inputs", [])))
        if key in keys:
            listings.append(_rel(src, root))
    return figures, listings


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="mlsysim-impact",
                                     description="What moves on the slides if one spec value changes.")
    parser.add_argument("key", nargs="+", help='a spec key (hardware.H100.memory_bandwidth), or '
                                               '"H100 memory bandwidth = 3.9 TB/s"')
    parser.add_argument("--value", help='the new value, with a unit ("3.9 TB/s") or without (keeps the unit)')
    parser.add_argument("--root", type=Path, help="the repository (default: found from the working directory)")
    args = parser.parse_args(argv)
    key, value = split_question(" ".join(args.key))
    value = args.value if args.value is not None else value
    try:
        impact = analyse(find_root(args.root), key, value)
    except ImpactError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        print(impact.report(), flush=True)
    except BrokenPipeError:  # `mlsysim-impact ... | head`: the reader stopped early; that is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
