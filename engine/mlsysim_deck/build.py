"""The build's actions, called by dodo.py: claims, listings, figures, slides, the deck, the PDF.

Every action writes atomically and only when the bytes change, so doit's content check rebuilds
exactly what depends on a changed value.  Figures and listings report the spec values they read;
their tasks are up to date while those values are unchanged (`spec_inputs_unchanged`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from mlsysim.units import keep_newest

from .atomic import write_bytes_atomic, write_text_atomic

SETUP_MARKER = "# --- slide ---"


class BuildError(Exception):
    """A build step failed; the message names the file (and line) to look at."""


#: The deck's finished material (dodo.py names it: build/deck.pdf, build/ledger.html; every PDF
#: directly in build/ counts too).  A failed build removes it, so nobody reads a deck that no longer
#: matches the sources.  The typeset pages of the last good passes (build/tex/<material>.xdv) stay:
#: nobody reads them, doit retypesets any whose sources changed, and the rest, once the error is
#: fixed, only need assembling again (0.2 s, not a XeLaTeX pass).  A pass that halts leaves none.
FINAL_OUTPUTS: list[Path] = []


def _builds_here(args) -> bool:
    """Does an action with these arguments write into the build that FINAL_OUTPUTS belong to?  (A
    test that runs one action into a temporary folder must not remove the repository's deck.)"""
    folders = {p.parent.resolve() for p in FINAL_OUTPUTS}
    for arg in args:
        if isinstance(arg, (str, Path)) and str(arg):
            path = Path(arg).resolve()
            if any(path == f or f in path.parents for f in folders):
                return True
    return False


def remove_final_outputs() -> list[str]:
    """Delete the finished material (see FINAL_OUTPUTS); returns what was removed, as shown paths."""
    found = set(FINAL_OUTPUTS)
    for folder in {p.parent for p in FINAL_OUTPUTS}:
        found |= set(folder.glob("*.pdf"))
    removed = []
    for path in sorted(found):  # (a task failing beside another may find them gone already)
        try:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(shown_path(path) + "/")
            else:
                path.unlink()
                removed.append(shown_path(path))
        except FileNotFoundError:
            pass
    return removed


def reported(action):
    """Run a build action; a known error prints one clear message (no traceback) and fails the task.

    Any failure also removes the finished material (FINAL_OUTPUTS), saying so: after a failed
    build there is no deck.pdf that looks current but shows the sources as they were before."""

    @functools.wraps(action)
    def run(*args, **kwargs):
        try:
            return action(*args, **kwargs)
        except BaseException as err:
            known = known_error(err)
            if known and first_error_of_the_run():
                print(f"error: {err}", file=sys.stderr)
            elif known:  # a task running beside the one that failed first: most often the same cause
                print(f"  failed at the same time: {str(err).splitlines()[0]}", file=sys.stderr)
            if _builds_here(args):
                _say_removed(remove_final_outputs())
            if not known:
                raise
            return False

    return run


def known_error(err: BaseException) -> bool:
    """An error the build explains in one message, by file and line (a bad spec value, claim or
    template): no traceback.  (The template errors' module loads Jinja, so only once one is raised.)"""
    from mlsysim.spec import SpecError

    from .claims import ClaimError
    from .render import RenderError

    return isinstance(err, (BuildError, ClaimError, RenderError, SpecError, LookupError))


def build_processes() -> int:
    """How many tasks `doit` runs at once: one per core, at most four (MLSYSIM_PROCESSES overrides)."""
    wanted = os.environ.get("MLSYSIM_PROCESSES")
    if wanted:
        return max(1, int(wanted))
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


#: The environment variable naming the file by which one doit run's tasks (two or more at a time, in
#: worker processes) agree which of them reports its error: the build's reporter sets it for each run.
ERROR_MARKER = "MLSYSIM_ERROR_MARKER"


def first_error_of_the_run() -> bool:
    """Is this the run's first error?  A build reports one error, however many tasks it runs at once."""
    marker = os.environ.get(ERROR_MARKER)
    if not marker:
        return True
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    except OSError:
        return True
    return True


def _say_removed(removed: list[str]) -> None:
    if removed:
        them = "they show" if len(removed) > 1 else "it shows"
        print(f"  removed {', '.join(removed)}: {them} the deck as it was before this change; the next build "
              f"that succeeds makes {'them' if len(removed) > 1 else 'it'} again", file=sys.stderr)


# --- parts of the deck -------------------------------------------------------------------------


def parts(slides_root: Path) -> list[dict]:
    """The deck's parts, in order: each folder of slides/ holding a part.toml."""
    found = []
    for toml in sorted(Path(slides_root).glob("*/part.toml")):
        meta = tomllib.loads(toml.read_text(encoding="utf-8"))
        meta["dir"] = toml.parent.name
        found.append(meta)
    return sorted(found, key=lambda p: p["number"])


# --- spec fingerprints: which values a figure or listing read ---------------------------------


def template_calls(template: Path, search_path: list[Path], errata: list[str] | None = None) -> list[list]:
    """A template's helper calls as render.analyse reads them, [helper, name, line, frame] each (a loop
    over a comparison expanded per accelerator, one over the errata per erratum claim).

    Every `doit` asks this of each part (0.15 s of parsing and Jinja's import, most of a no-op
    build), and every part render again, so the answer is remembered in the user's cache, keyed on
    all it follows from: the template, hardware.toml's comparisons, the errata's claims, the code
    that reads them (render.py, workload.py) and Jinja's version.  Jinja is imported only to read a
    template anew."""
    from mlsysim.spec import spec_dir

    from .workload import comparison_keys

    here = Path(__file__).parent
    key = b"\0".join([Path(template).read_bytes(), json.dumps(comparison_keys(spec_dir()), sort_keys=True).encode(),
                      json.dumps(errata or []).encode(), (here / "render.py").read_bytes(),
                      (here / "workload.py").read_bytes(), _jinja_version()])

    def read():
        from .render import analyse, environment

        uses = analyse(environment(search_path), Path(template), errata=errata)
        return [[u.helper, u.name, u.line, u.frame] for u in uses]

    return remembered("analysis", key, read)


def _jinja_version() -> bytes:
    """Jinja's __init__ (it names its version), read without importing Jinja."""
    import importlib.util

    return Path(importlib.util.find_spec("jinja2").origin).read_bytes()


def answer_lines(template: Path, search_path: list[Path]) -> list[list]:
    """render.answer_blocks of a template ([line, frame title, frame label] of each answer() block),
    remembered like template_calls: a part's render reads its template once, not twice."""
    here = Path(__file__).parent
    key = b"\0".join([b"answers", Path(template).read_bytes(), (here / "render.py").read_bytes(), _jinja_version()])

    def read():
        from .render import answer_blocks, environment

        return [list(block) for block in answer_blocks(environment(search_path), Path(template))]

    return remembered("analysis", key, read)


def template_notes(template: Path, search_path: list[Path]) -> list:
    """render.notes of a template (each note()'s minutes, FLEX tag, line and frame), remembered like
    answer_lines: the schedule reads every template's notes, and after an edit parses only the
    template that changed (a parse of all six took 0.1-0.3 s of each prose edit's wait)."""
    from .render import Note

    here = Path(__file__).parent
    key = b"\0".join([b"notes", Path(template).read_bytes(), (here / "render.py").read_bytes(), _jinja_version()])

    def read():
        from .render import environment, notes

        return [[n.minutes, n.flex, n.line, n.frame] for n in notes(environment(search_path), Path(template))]

    return [Note(*note) for note in remembered("analysis", key, read)]


def errata_slide_uses(slides_root: Path, templates_dir: Path) -> dict[str, list[list]]:
    """errata.slide_uses (where the day's parts show each claim), remembered like template_calls,
    keyed on every part's part.toml and template and the code that reads them: the errata part's
    render parsed every other part's template to find out."""
    here = Path(__file__).parent
    sources = sorted(p for p in Path(slides_root).glob("*/*") if p.name in ("part.toml", "slides.tex.j2"))
    key = b"\0".join([b"slide uses", *(f"{p.parent.name}/{p.name}".encode() + b"\0" + p.read_bytes() for p in sources),
                      *((here / n).read_bytes() for n in ("errata.py", "render.py", "build.py")), _jinja_version()])

    def read():
        from .errata import slide_uses

        return {cid: [list(use) for use in uses] for cid, uses in slide_uses(slides_root, templates_dir).items()}

    return remembered("analysis", key, read)


def template_claims(template: Path, search_path: list[Path]) -> list[str]:
    """Claim ids a part's template uses (its claim() and count() calls); none for a template that
    does not parse (its error surfaces when it renders)."""
    try:
        calls = template_calls(template, search_path)
    except Exception as err:
        from .render import RenderError

        if not isinstance(err, RenderError):
            raise
        return []
    return sorted({name for helper, name, _, _ in calls if helper in ("claim", "count")})


def remembered(kind: str, key: bytes, compute):
    """compute() (a JSON value), kept in the user's cache folder under <kind>/ by a digest of `key`,
    the bytes the value follows from; computed each time when the cache is off or cannot be written."""
    name = hashlib.sha256(key).hexdigest()[:32]
    value = kept(kind, name)
    if value is None:
        value = compute()
        keep(kind, name, value, REMEMBERED_KEPT)
    return value


def _cache_file(kind: str, name: str) -> Path | None:
    from mlsysim.units import cache_root

    root = cache_root()
    return None if root is None else Path(root) / kind / f"{name}.json"


def kept(kind: str, name: str):
    """The JSON value kept in the user's cache as <kind>/<name>.json; None when there is none (or
    the cache is off).  Reading it marks it used: each folder keeps the values used last."""
    path = _cache_file(kind, name)
    if path is None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
        os.utime(path)
        return value
    except (OSError, ValueError):
        return None


def keep(kind: str, name: str, value, count: int) -> None:
    """Keep a JSON value in the user's cache as <kind>/<name>.json, the folder bounded to the `count`
    used last; a cache that is off or read-only costs only time."""
    path = _cache_file(kind, name)
    if path is None:
        return
    try:
        if not write_text_atomic(path, json.dumps(value)):
            os.utime(path)  # the same value again: used now
        keep_newest(path.parent.glob("*.json"), count)
    except OSError:
        pass


#: Values `remembered` keeps of each kind: a few versions of each of a dozen templates, the proofs of
#: the last engines.
REMEMBERED_KEPT = 100


def spec_fingerprints(spec_dir: Path) -> dict[str, str]:
    """key -> "value unit" for every value of every spec file (tomllib only: cheap at dodo load).
    Parsed once a process for the same files' bytes: every listing and figure a worker runs asks."""
    texts = tuple((path.stem, path.read_text(encoding="utf-8")) for path in sorted(Path(spec_dir).glob("*.toml")))
    return dict(_fingerprints(texts))


@functools.lru_cache(maxsize=8)
def _fingerprints(texts: tuple[tuple[str, str], ...]) -> dict[str, str]:
    prints = {}
    for stem, text in texts:
        data = tomllib.loads(text)
        prints[f"{stem}.tables"] = json.dumps(list(data))  # which entries exist (read by iterating)
        for table, body in data.items():
            if not isinstance(body, dict):
                continue
            for field, raw in body.items():
                if isinstance(raw, dict):
                    raw = f"{raw.get('value')} {raw.get('unit', '')}".strip()
                prints[f"{stem}.{table}.{field}"] = json.dumps(raw)
    return prints


def spec_inputs_unchanged(task, values, current: dict[str, str]) -> bool:
    """doit uptodate: the spec values this task read last time all still hold."""
    saved = values.get("spec_inputs")
    if saved is None:
        return False
    return all(current.get(key) == value for key, value in saved.items())


def _printed(fingerprint: str | None) -> str:
    return "(absent)" if fingerprint is None else str(json.loads(fingerprint))


def moved_keys(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """`key: old -> new` for each spec value that differs (added and removed keys too)."""
    return [f"{k}: {_printed(before.get(k))} -> {_printed(after.get(k))}"
            for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]


class SpecInputsUnchanged:
    """doit uptodate for a figure or listing: the spec values it read last time all still hold.

    Its text is what `doit info` prints as the reason the task reruns: the keys that moved."""

    def __init__(self, current: dict[str, str]):
        self.current = current
        self.moved: list[str] | None = []

    def __call__(self, task, values) -> bool:
        saved = values.get("spec_inputs")
        if saved is None:
            self.moved = None
            return False
        self.moved = moved_keys(saved, {k: self.current.get(k) for k in saved})
        return not self.moved

    def __repr__(self) -> str:
        if self.moved is None:
            return "the spec values it reads are not known yet (it has not run)"
        if not self.moved:
            return "the spec values it read are unchanged"
        return "spec values it read have changed: " + "; ".join(self.moved)


class ClaimsUnchanged:
    """doit uptodate for a slide part: every claim its template uses prints what it printed last time.

    A part depends on the printed text of its claims (build/claims/<id>.json), not on the files: a
    claim id that no claims.py declares makes the part render, and the renderer names the template
    line (a missing file_dep would stop doit before that, with no line to show).  Before the claims
    are re-evaluated (`doit info`), a claim that read a spec value which has since moved is named."""

    def __init__(self, ids: list[str], claims_dir: Path, current_specs: dict[str, str], errata: bool = False):
        self.ids, self.claims_dir, self.current_specs = list(ids), Path(claims_dir), current_specs
        self.errata = errata  # the part prints the errata table: the errata (and their claims) count too
        self.reasons: list[str] = []

    def __call__(self, task, values) -> bool:
        saved = values.get("claims")
        now = printed_claims(self.ids, self.claims_dir, self.errata)
        if saved is None:
            self.reasons = ["it has not rendered yet"]
            return False
        self.reasons = []
        for cid in sorted(set(saved) | set(now)):
            if saved.get(cid) != now.get(cid):
                if now.get(cid) is None:
                    self.reasons.append(f"claim {cid!r} is not declared (or not evaluated yet)")
                elif saved.get(cid) is None:
                    self.reasons.append(f"the template now uses claim {cid!r}")
                else:
                    self.reasons.append(f"claim {cid}: {saved[cid]} -> {now[cid]}")
        self.reasons += self._pending(now)
        return not self.reasons

    def _pending(self, now: dict) -> list[str]:
        """Claims of this part that read a spec value changed since the claims were evaluated."""
        snapshot = self.claims_dir.parent / SPEC_SNAPSHOT
        if not snapshot.exists():
            return []
        before = json.loads(snapshot.read_text(encoding="utf-8"))
        changed = {k for k in set(before) | set(self.current_specs) if before.get(k) != self.current_specs.get(k)}
        if not changed:
            return []
        readers = []
        for cid in self.ids:
            path = self.claims_dir / f"{cid}.json"
            if path.exists() and set(json.loads(path.read_text(encoding="utf-8")).get("inputs", [])) & changed:
                readers.append(cid)
        if not readers:
            return []
        moved = moved_keys({k: before.get(k) for k in changed}, {k: self.current_specs.get(k) for k in changed})
        return [f"spec values changed since the claims were evaluated ({'; '.join(moved)}), and {len(readers)} "
                f"claim(s) this part prints read them ({', '.join(readers)}): it reruns if their text moves"]

    def __repr__(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "the claims it prints are unchanged"


def printed_claims(ids, claims_dir: Path, errata: bool = False) -> dict[str, str | None]:
    """claim id -> the text the slide prints (None when no claim file exists for it).  With `errata`
    (a part that prints the errata table), the errata's claims too, and each erratum's reference and
    reason under "erratum:<id>": the table changes when they do."""
    from .errata import errata_ids, read_errata

    ids = list(ids)
    if errata:
        ids += [cid for cid in errata_ids(claims_dir) if cid not in ids]
    index = claims_index(Path(claims_dir))
    found = {}
    for cid in ids:
        if index is not None:
            found[cid] = index.get(cid)
            continue
        path = Path(claims_dir) / f"{cid}.json"  # (an index written before it held the texts)
        found[cid] = json.loads(path.read_text(encoding="utf-8"))["text"] if path.exists() else None
    if errata:
        for row in read_errata(claims_dir):
            found[f"erratum:{row['claim']}"] = f"{row['reference']} | {row['reason']}"
    return found


def claims_index(claims_dir: Path) -> dict[str, str] | None:
    """build/claims/index.json: claim id -> the text it prints (None: no index, or an index of ids
    only, which a build before it held the texts wrote).  Read once a process while it is the same."""
    path = claims_dir / "index.json"
    try:
        st = path.stat()
    except OSError:
        return None
    return _read_index(str(path), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)  # (every part's uptodate reads it: once a process while it is the same)
def _read_index(path: str, *_identity) -> dict[str, str] | None:
    index = json.loads(Path(path).read_text(encoding="utf-8"))
    return index if isinstance(index, dict) else None


def _inputs_values(keys, spec_dir: Path) -> dict:
    current = spec_fingerprints(spec_dir)
    return {"spec_inputs": {k: current.get(k) for k in sorted(keys)}}


# --- claims ------------------------------------------------------------------------------------


def claims_files(slides_root: Path) -> list[Path]:
    return sorted(Path(slides_root).glob("*/claims.py"))


def collect_claims(slides_root: Path, failed: list | None = None) -> dict:
    """Evaluate every part's claims (nothing is written): claim id -> record.

    The first claim that fails raises ClaimError; with a `failed` list, every failing claim is
    appended to it instead ({"id", "part", "kind", "error"}) and the others are still evaluated
    (impact analysis reports every statement a change would make false)."""
    from .claims import ClaimError, load_claims

    records, owner = {}, {}
    for path in claims_files(slides_root):
        claims = load_claims(path)
        for claim_id, claim in claims.items.items():
            if claim_id in owner:
                raise ClaimError(f"{claim.declared_at}: claim {claim_id!r} is also declared in {owner[claim_id]}")
            owner[claim_id] = path
            try:
                claim.evaluate()
            except ClaimError as err:
                if failed is None:
                    raise
                failed.append({"id": claim_id, "part": path.parent.name, "kind": claim.kind, "error": str(err)})
                continue
            records[claim_id] = claim.record() | {"part": path.parent.name}
    return records


SPEC_SNAPSHOT = "spec_values.json"  # in build/: the spec values the claims were last evaluated with


@reported
def evaluate_claims(slides_root: Path, claims_dir: Path) -> dict:
    """Evaluate every part's claims; one JSON file per claim (rewritten only when it changes).

    Prints what changed since the last evaluation: the spec values that moved, the claims that
    moved (old -> new), and whether the claims now differ from the lock (and how to accept)."""
    from mlsysim.spec import spec_dir

    from .claims import ClaimError

    failed: list[dict] = []
    records = collect_claims(slides_root, failed)
    if failed:  # every claim that fails, not only the first: one message, one line each
        more = "".join(f"\n  also: {f['error']}" for f in failed[1:])
        raise ClaimError(failed[0]["error"] + more)
    claims_dir = Path(claims_dir)
    claims_dir.mkdir(parents=True, exist_ok=True)
    before = {}
    for claim_id in records:
        path = claims_dir / f"{claim_id}.json"
        if path.exists():
            before[claim_id] = json.loads(path.read_text(encoding="utf-8"))
    snapshot = claims_dir.parent / SPEC_SNAPSHOT
    specs_before = json.loads(snapshot.read_text(encoding="utf-8")) if snapshot.exists() else None
    specs_now = spec_fingerprints(spec_dir())
    for claim_id, record in records.items():
        write_text_atomic(claims_dir / f"{claim_id}.json", json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    from .errata import ERRATA_FILE, write_errata

    for stale in claims_dir.glob("*.json"):
        if stale.stem not in records and stale.name not in ("index.json", ERRATA_FILE):
            stale.unlink()
    # the index: every claim id and the text it prints (what a part's uptodate compares, one file to read)
    write_text_atomic(claims_dir / "index.json", json.dumps({cid: records[cid]["text"] for cid in sorted(records)},
                                                             indent=0, ensure_ascii=False) + "\n")
    write_errata(records, claims_dir, {p["dir"]: p["number"] for p in parts(slides_root)})
    # one small file that changes whenever any claim's record does (claims.json depends on it)
    digest = hashlib.sha256("".join((claims_dir / f"{cid}.json").read_text(encoding="utf-8")
                                    for cid in sorted(records)).encode()).hexdigest()
    write_text_atomic(claims_dir / "records.sha256", digest + "\n")
    write_text_atomic(snapshot, json.dumps(specs_now, indent=0, sort_keys=True) + "\n")
    report = what_changed(specs_before, specs_now, before, records, Path(slides_root) / "claims.lock.json")
    if report:
        print(report)
    return records


def what_changed(specs_before: dict | None, specs_now: dict, before: dict, records: dict, lock: Path) -> str:
    """The build log's account of a claims run: spec values moved, claims moved, the lock."""
    from .lock import _same, lock_entry, read_lock

    out = []
    if specs_before is not None:
        moved = moved_keys(specs_before, specs_now)
        if moved:
            out.append(f"spec values changed since the last build ({len(moved)}):")
            out += [f"  {m}" for m in moved]
    if before:
        from .impact import sense_flip

        moved = []
        for cid in sorted(records):
            if cid in before and before[cid]["text"] != records[cid]["text"]:
                flip = sense_flip(before[cid], records[cid])
                moved.append(f"  {cid}: {before[cid]['text']} -> {records[cid]['text']}"
                             + (f"   <- its sense flips: {flip}" if flip else ""))
        added = sorted(set(records) - set(before))
        if moved:
            out.append(f"claims that moved ({len(moved)}):")
            out += moved
        if added and len(added) < len(records):
            out.append(f"new claims ({len(added)}): {', '.join(added)}")
    locked = read_lock(lock)
    if locked:
        differ = sorted(cid for cid in set(locked) | set(records)
                        if cid not in locked or cid not in records or not _same(locked[cid], lock_entry(records[cid])))
        if differ:
            shown = ", ".join(differ[:8]) + (f" and {len(differ) - 8} more" if len(differ) > 8 else "")
            out.append(f"the claims now differ from {shown_path(lock)} ({len(differ)}: {shown}); the tests fail "
                       f"until the lock agrees: if the change is intended, run `doit accept_claims` and commit "
                       f"the lock (`python -m mlsysim_deck.lock check` lists each claim old -> new)")
    return "\n".join(out)


# --- listings ----------------------------------------------------------------------------------
#
# A listing's workload values come from the claims, never typed twice: in the listing's source,
# \VAR{claim("context")} stands for the claim's value as a Python literal (4096; 0.7; a text claim
# verbatim), filled in before the listing runs, so the slide shows the concrete code that ran.
# A comment line `# prints: TTFT: {serving.ttft} ms` declares an output line that states claims:
# after the run, some printed line must match it with each {claim.id} agreeing with the claim to the
# digits printed ({} matches any number; a run of spaces any run).  Declarations are never shown.

PLACEHOLDER = re.compile(r'\\VAR\{claim\("([^"]+)"\)\}')
PRINTS = re.compile(r"^[ \t]*# prints: (.*)$", re.M)
NUMBER = r"[-+\u2212]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?"


def split_listing(source: str) -> tuple[str, str]:
    """(hidden setup, code shown on the slide): lines up to SETUP_MARKER are setup; `# prints:`
    declarations are never shown."""
    if SETUP_MARKER in source:
        setup, shown = source.split(SETUP_MARKER, 1)
        shown = shown.lstrip("\n")
    else:
        setup, shown = "", source
    shown = "".join(ln for ln in shown.splitlines(keepends=True) if not PRINTS.match(ln))
    return setup, shown


def listing_claims(source: str) -> list[str]:
    """Claim ids a listing reads: its placeholders and the claims its `# prints:` lines state."""
    ids = set(PLACEHOLDER.findall(source))
    for pattern in PRINTS.findall(source):
        ids.update(i for i in re.findall(r"\{([^{}]*)\}", pattern) if i)
    return sorted(ids)


def claim_record(claims_dir: Path, claim_id: str, where: str) -> dict:
    path = Path(claims_dir) / f"{claim_id}.json"
    if not path.exists():
        raise BuildError(f"{where}: unknown claim {claim_id!r} (no claims.py declares it)")
    return json.loads(path.read_text(encoding="utf-8"))


def python_literal(record: dict) -> str:
    """A claim's value as the listing's code writes it: 4096, 0.7 (unscaled: a fraction stays a
    fraction), a quantity in the claim's unit, a text claim as its text."""
    value = record["value"]
    if record["kind"] in ("text", "statement") or isinstance(value, str):
        return str(record["text"])
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def fill_listing(source: str, lookup) -> str:
    """The listing's source with every \\VAR{claim("id")} replaced by lookup(id)'s value."""
    return PLACEHOLDER.sub(lambda m: python_literal(lookup(m.group(1))), source)


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def check_prints(src: Path, source: str, output: str, lookup) -> None:
    """Each `# prints:` declaration matches a printed line whose numbers agree with the claims."""
    lines = output.splitlines()
    for m in PRINTS.finditer(source):
        pattern, where = m.group(1).rstrip(), f"{shown_path(src)}:{_line_of(source, m.start())}"
        parts = re.split(r"\{([^{}]*)\}", pattern)
        regex, ids = "", []
        for i, part in enumerate(parts):
            if i % 2 == 0:  # the pattern's own text; a run of spaces matches any run (aligned columns)
                regex += "".join(r"\s+" if w.isspace() else re.escape(w) for w in re.split(r"(\s+)", part) if w)
                continue
            record = lookup(part) if part else None
            if record is not None and (record["kind"] in ("text", "statement") or isinstance(record["value"], str)):
                regex += re.escape(str(record["text"]))
                continue
            regex += f"({NUMBER})"
            ids.append(part)
        matched = [ln for ln in lines if re.fullmatch(regex, ln.strip())]
        if not matched:
            raise BuildError(f"{where}: no printed line has the form {pattern!r}; the listing printed:\n"
                             + "\n".join(f"    {ln}" for ln in lines[:12]))
        problems = []
        for ln in matched:
            numbers = re.fullmatch(regex, ln.strip()).groups()
            wrong = [f"{cid} is {lookup(cid)['text']}" for cid, shown in zip(ids, numbers)
                     if cid and not agrees(shown, lookup(cid))]
            if not wrong:
                break
            problems.append(f"    {ln.strip()!r}: but {'; '.join(wrong)}")
        else:
            raise BuildError(f"{where}: the listing's output disagrees with the claims on its slide:\n"
                             + "\n".join(problems))


def agrees(shown: str, record: dict) -> bool:
    """A printed number agrees with a claim when it is the claim's value (times its scale) rounded
    to the digits printed."""
    text = shown.replace(",", "").replace("\u2212", "-")
    printed = float(text)
    digits = len(text.split(".")[1].split("e")[0].split("E")[0]) if "." in text else 0
    value = float(record["value"]) * float(record.get("scale", 1.0))
    return abs(printed - value) <= 0.5 * 10 ** -digits * (1 + 1e-9) + 1e-9 * abs(value)


def reporter(error_marker: Path):
    """doit's console reporter, timing each task when MLSYSIM_TIMINGS=1.  Tasks running side by side
    report one error between them, the first to fail: each run names `error_marker` as the file they
    agree by (first_error_of_the_run), from its start to its end."""
    from .progress import TimedReporter

    TimedReporter.error_marker = str(Path(error_marker).resolve())
    return TimedReporter


@reported
def run_listing(src: Path, out_dir: Path, engine_dir: Path, spec_dir: Path, claims_dir: Path | None = None) -> dict:
    """Fill a listing's claim placeholders, run it as its own Python process, check the lines that
    state claims, and write the code shown and what it printed, each also as the lines the slide
    sets (mlsysim_deck.highlight)."""
    src = Path(src)
    source = src.read_text(encoding="utf-8")

    def lookup(claim_id: str) -> dict:
        return claim_record(claims_dir or Path("build") / "claims", claim_id, shown_path(src))

    filled = fill_listing(source, lookup)
    _, shown = split_listing(filled)
    from .runner import run_script

    with tempfile.TemporaryDirectory() as tmp:
        runnable = Path(tmp) / src.name  # the filled-in source; line numbers are the listing's own
        runnable.write_text(filled, encoding="utf-8")
        ran = run_script(runnable, Path(tmp), Path(engine_dir))
        if ran.returncode != 0:
            raise BuildError(listing_failure(src, ran.returncode, ran.stderr, ran=runnable))
    check_prints(src, source, ran.stdout, lookup)
    from .highlight import code_tex, output_tex

    write_text_atomic(out_dir / f"{src.stem}.py", shown)
    write_text_atomic(out_dir / f"{src.stem}.out", ran.stdout)
    # the lines the slide sets, coloured here (the theme draws the box): <name>.py.tex, <name>.out.tex
    write_text_atomic(out_dir / f"{src.stem}.py.tex", code_tex(shown))
    write_text_atomic(out_dir / f"{src.stem}.out.tex", output_tex(ran.stdout))
    return _inputs_values(ran.reads, spec_dir)


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it (messages read shorter)."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def listing_failure(src: Path, returncode: int, stderr: str, ran: Path | None = None) -> str:
    """One line naming the listing's file and line and the exception, then the traceback's tail
    (`ran`: the filled-in copy that ran, whose line numbers are the listing's)."""
    src = Path(src)
    line = None
    for m in re.finditer(r'File "([^"]+)", line (\d+)', stderr):
        if Path(m.group(1)).resolve() in (src.resolve(), Path(ran or src).resolve()):
            line = int(m.group(2))
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else f"exit status {returncode}"
    if line:
        return f"{shown_path(src)}:{line}: listing raised {last}"
    tail = "\n".join("    " + ln for ln in lines[-6:-1] if not ln.startswith("Traceback"))
    return f"{shown_path(src)}: listing failed: {last}" + (f"\n  the last lines it wrote:\n{tail}" if tail else "")


# --- figures -----------------------------------------------------------------------------------


@reported
def run_figure(script: Path, out_pdf: Path, spec_dir: Path, sources=None) -> dict:
    """Run figures/<name>.py's main(out_path) in this process, recording the spec values it reads.

    With `sources` (the files the figure follows from: its script, the shared helpers, the engine;
    dodo.py passes its file_dep), a figure drawn before from the same sources and the same values
    of the spec keys it read then is taken from the user's cache (`drawn_before`) instead of drawn:
    a build from an empty build/ draws only what it has not drawn before."""
    from mlsysim.spec import reading

    from .atomic import write_bytes_atomic
    from .lint import lint_file, printed_claims

    script = Path(script)
    problems = lint_file(script, printed_claims(Path(out_pdf).parent.parent / "claims"))
    if problems:  # a number typed into a label: the hard-coded-number lint, as for templates
        raise BuildError("\nerror: ".join(problems))
    out_pdf = Path(out_pdf)
    code = _figure_code(script, sources) if sources is not None else None
    drawn = drawn_before(code, spec_dir) if code else None
    if drawn is not None:
        data, keys = drawn
    else:
        if str(script.parent) not in sys.path:
            sys.path.insert(0, str(script.parent))  # the figure's shared helpers (figures/_style.py)
        namespace = runpy.run_path(str(script), run_name="figure")
        if "main" not in namespace:
            raise BuildError(f"{script}: a figure script defines main(out_path)")
        out_pdf.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out_pdf.stem}.", suffix=".pdf", dir=out_pdf.parent)
        os.close(fd)
        try:
            with reading() as read:
                try:
                    namespace["main"](Path(tmp))
                except Exception as err:  # noqa: BLE001 - reported as the figure's file:line
                    raise BuildError(figure_failure(script, err)) from err
            data = Path(tmp).read_bytes()
        finally:
            os.unlink(tmp)
        keys = sorted(read)
        if code:
            remember_drawing(code, spec_dir, keys, data)
    write_bytes_atomic(out_pdf, data)
    return _inputs_values(keys, spec_dir)


#: Figures kept in the user's cache (20-60 KB each): the last few values of each spec a dozen
#: figures read.
FIGURES_KEPT = 200


def _figure_code(script: Path, sources) -> str | None:
    """A digest of what a figure's drawing follows from besides the spec values: its script and
    `sources` (their bytes), and the versions of the libraries that draw and save it.  None when
    the figure cache is off (MLSYSIM_FIGURE_CACHE=0, or the user's cache off)."""
    if os.environ.get("MLSYSIM_FIGURE_CACHE", "1").lower() in ("0", "off"):
        return None
    key = hashlib.sha256(f"figure 1|{sys.version}{_drawing_libraries()}".encode())
    for path in [Path(script), *map(Path, sources)]:
        key.update(f"|{path.name}|".encode() + path.read_bytes())
    return key.hexdigest()[:32]


@functools.cache  # (a package's version is looked up in its metadata: 4 ms each, once a process)
def _drawing_libraries() -> str:
    """The versions of the libraries that draw and save a figure."""
    from importlib.metadata import PackageNotFoundError, version

    stamp = ""
    for package in ("matplotlib", "numpy", "fonttools"):
        try:
            stamp += f"|{package} {version(package)}"
        except PackageNotFoundError:
            stamp += f"|{package} none"
    return stamp


def drawn_before(code: str, spec_dir: Path) -> tuple[bytes, list[str]] | None:
    """(PDF, the spec keys it read) of a figure drawn before from the same code (`_figure_code`)
    with the same values of the keys it read then, or None.  The keys a drawing reads can depend on
    the values (a comparison of accelerators reads the fields of each member), so the cache keeps,
    for each code, the keys its last drawing read, and the drawing under the code, those keys and
    their values: the same keys with the same values make the same drawing."""
    trace = kept("figure-reads", code)
    if not isinstance(trace, list):
        return None
    drawing = kept("figures", _drawing_name(code, spec_dir, trace))
    if not (isinstance(drawing, dict) and isinstance(drawing.get("pdf"), str)):
        return None
    return drawing["pdf"].encode("latin-1"), trace


def remember_drawing(code: str, spec_dir: Path, keys: list[str], pdf: bytes) -> None:
    keep("figure-reads", code, keys, FIGURES_KEPT)
    keep("figures", _drawing_name(code, spec_dir, keys), {"pdf": pdf.decode("latin-1")}, FIGURES_KEPT)


def _drawing_name(code: str, spec_dir: Path, keys: list[str]) -> str:
    current = spec_fingerprints(spec_dir)
    values = json.dumps([[k, current.get(k)] for k in keys])
    return hashlib.sha256(f"{code}|{values}".encode()).hexdigest()[:32]


def figure_failure(script: Path, err: BaseException) -> str:
    """`figures/<file>:<line>: ...`: the innermost line of the figures' own code (the script or a
    shared helper such as figures/_style.py), the script's calling line, and a hint for a KeyError
    on a table that a shared helper defines (a colour for a new accelerator, say)."""
    script = Path(script).resolve()
    folder = script.parent
    inner = outer = None
    tb = err.__traceback__
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename).resolve()
        if path.parent == folder:
            inner = (path, tb.tb_lineno)
            if path == script:
                outer = (path, tb.tb_lineno)
        tb = tb.tb_next
    where = f"{shown_path(inner[0])}:{inner[1]}" if inner else shown_path(script)
    message = f"{where}: figure {script.stem} raised {type(err).__name__}: {err}"
    if inner and outer and inner != outer:
        message += f" (called from {shown_path(outer[0])}:{outer[1]})"
    if isinstance(err, KeyError) and inner:
        message += _missing_entry_hint(inner, folder, err.args[0] if err.args else None)
    return message


def _missing_entry_hint(inner: tuple[Path, int], folder: Path, key) -> str:
    """"COLORS in figures/_style.py:7 has no entry 'H200': add one there" when the failing line
    indexes a table that a shared helper of the figures defines."""
    import linecache

    line = linecache.getline(str(inner[0]), inner[1])
    for name in re.findall(r"\b([A-Za-z_]\w*)\s*\[", line):
        for helper in sorted(folder.glob("_*.py")):
            for number, text in enumerate(helper.read_text(encoding="utf-8").splitlines(), 1):
                if re.match(rf"{name}\s*(:[^=]*)?=", text):
                    return (f"\n  {name} is defined in {shown_path(helper)}:{number} and has no entry {key!r}: "
                            f"add one there")
    return ""


# --- the deck ----------------------------------------------------------------------------------


#: The materials, each a master file over the same rendered parts: name -> what it is.
MATERIALS = {
    "deck": "the presenter's deck, with overlays",
    "notes": "the deck with its speaker notes on a second screen (pdfpc --notes=right): the deck's pages",
    "handout": "one page per frame in its final state, for attendees after the session (the deck's pages)",
    "exercises": "the attendee's sheet: the predictions and exercises, no answers",
    "solutions": "the answer key: each exercise's code, executed output, claims and reasoning",
}


#: The sheets typeset from their own view of each part (render.sheet_view): the frames they keep.
SHEETS = ("exercises", "solutions")
#: Materials made of another's typeset pages, with no master or XeLaTeX pass of their own: the
#: handout is the deck's last page of each frame (mlsysim_deck.xdv), so it shows each frame exactly
#: as the deck leaves it.
SELECTED = {"handout": "deck"}
#: The materials XeLaTeX typesets, each from its master build/<material>.tex.
TYPESET = [m for m in MATERIALS if m not in SELECTED]
#: Materials whose pages are another's, each with a page of its own beside it: the notes are the
#: deck's pages, each with its note page (typeset by the notes' own pass from what the deck's pass
#: wrote, build/tex/deck.notes.tex) to the right of it (mlsysim_deck.xdv.beside).
BESIDE = {"notes": "deck"}


def material_frames(slides_root: Path, material: str) -> list[str]:
    """The frame labels a material keeps (\\includeonlyframes); empty: every frame."""
    from .render import frame_labels, sheet_kinds

    if material not in SHEETS:
        return []
    kinds = sheet_kinds(material)
    labels = ["sheet-title"]
    for part in parts(slides_root):
        source = (Path(slides_root) / part["dir"] / "slides.tex.j2").read_text(encoding="utf-8")
        labels += [label for _, label in frame_labels(source) if label.startswith(kinds)]
    return labels


@reported
def render_deck(slides_root: Path, templates_dir: Path, out_tex: Path, material: str = "deck",
                schedule: Path | None = None) -> None:
    """A material's master file: preamble, title, and for each part its section, roadmap and slides.
    The day's plan comes from `schedule` (build/schedule.json, which the schedule task wrote from
    the same sources) where given, else from the templates' notes."""
    from .render import PartRenderer, environment, line_map_path, render_template_mapped
    from .schedule import clock, later_parts, plan, read_schedule

    if material not in TYPESET:
        raise BuildError(f"no master for material {material!r}: one of {', '.join(TYPESET)}")
    built = read_schedule(schedule) if schedule else plan(slides_root, templates_dir)
    plans = {p.dir: p for p in built}
    # the day's parts this deck does not build: on the agenda and the roadmaps, with no slides
    later = [{"number": p.number, "title": p.title, "time": f"{clock(p.start)}–{clock(p.end)}",
              "after_what": p.after_what,
              "after_time": f"{clock(p.end)}–{clock(p.end + p.after)}" if p.after else ""}
             for p in later_parts(slides_root, built)]
    shown = []
    for part in parts(slides_root):
        p = plans.get(part["dir"])
        if p is None:  # an appendix: after the day, not on the agenda's clock
            shown.append(part | {"time": "appendix", "planned": "", "after_what": "", "after_time": "",
                                 "appendix": True})
            continue
        shown.append(part | {"time": f"{clock(p.start)}–{clock(p.end)}", "planned": f"{p.planned} min",
                             "after_what": p.after_what,
                             "after_time": f"{clock(p.end)}–{clock(p.end + p.after)}" if p.after else "",
                             "appendix": False})
    env = environment([templates_dir, slides_root])
    env.globals["note"] = PartRenderer("deck", Path(out_tex).parent).note
    text, origins = render_template_mapped(env, templates_dir / "deck.tex.j2",
                                           {"_template_name": "deck.tex.j2", "parts": shown, "later": later, "material": material,
                                            "include_frames": material_frames(slides_root, material)})
    write_text_atomic(out_tex, text)
    write_text_atomic(line_map_path(out_tex), "\n".join(origins) + "\n")


#: The files a XeLaTeX pass writes for the next one (cross-references, the frame total, outlines,
#: page labels): while a pass changes one of them, the next pass may print other pages.
AUXILIARY = (".aux", ".nav", ".snm", ".toc", ".out", ".vrb")
#: What the `xelatex` command runs on its .xdv to make the PDF (its built-in output driver).
PDF_DRIVER = ["xdvipdfmx", "-q", "-E"]


def _tex_env(build_dir: Path, templates_dir: Path) -> dict:
    return os.environ | {"TEXINPUTS": f"{Path(templates_dir).resolve()}//:{build_dir}//:",
                         "SOURCE_DATE_EPOCH": "1767225600", "FORCE_SOURCE_DATE": "1", "TZ": "UTC",
                         "max_print_line": "10000"}  # the log's file:line errors unwrapped, however long the path


@reported
def compile_pdf(build_dir: Path, templates_dir: Path, job: str = "deck") -> None:
    """XeLaTeX on build/<job>.tex, reproducibly: `typeset`, then `assemble`; on failure print the
    first error with file:line."""
    typeset(build_dir, templates_dir, job)
    assemble(build_dir, templates_dir, job)


def typeset(build_dir: Path, templates_dir: Path, job: str = "deck") -> int:
    """XeLaTeX on build/<job>.tex into build/tex/<job>.xdv: the pages, with each figure placed at the
    size its PDF has now (written down in build/tex/<job>.figures.json), but not yet read.

    Passes run until the auxiliary files come out as they went in: an edit that moves numbers
    takes one pass, a frame added two.  A build from an empty build/ starts from the auxiliary
    files the same sources settled on in another build folder, where the user's cache remembers
    them (`remembered_auxiliary`): one pass, where starting from none takes two.  Only `assemble`
    reads the figures' contents, so a figure redrawn at the same size needs no new pass, and the
    pass may run while the figures are being drawn.  Returns how many passes ran.

    A material of SELECTED (the handout) runs no pass: its pages are chosen from its source's
    (`select_pages`), which must be typeset already (`assemble` typesets it again where its
    figures' sizes moved).  Returns 0.  A material of BESIDE (the notes) runs its own passes over
    what its source's pass wrote, then sets each of its pages beside the source's (`xdv.beside`)."""
    build_dir = Path(build_dir).resolve()
    if job in SELECTED:
        return select_pages(build_dir, templates_dir, job)
    xelatex = shutil.which("xelatex")
    if xelatex is None:
        raise BuildError("xelatex not found: run the README's first command (it installs TeX Live)")
    out = build_dir / "tex"
    out.mkdir(parents=True, exist_ok=True)
    env = _tex_env(build_dir, templates_dir)
    fmt = precompiled_preamble(build_dir, Path(templates_dir), job, xelatex, env)
    cmd = [xelatex, "-no-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           f"-output-directory={out}", *([f"-fmt={fmt}"] if fmt else []), f"{job}.tex"]
    log = out / f"{job}.log"

    def auxiliary():
        return {ext: (out / f"{job}{ext}").read_bytes() if (out / f"{job}{ext}").exists() else None
                for ext in AUXILIARY}

    sizes = figure_sizes(build_dir)  # before the pass: a figure redrawn during it keeps its size
    source = BESIDE.get(job)
    if source and not (out / f"{source}.notes.tex").exists():
        raise BuildError(f"the {job} are set beside build/tex/{source}.xdv: typeset the {source} first "
                         f"(doit typeset:{source})")
    sources = auxiliary_key(build_dir, job)
    typeset_before = _as_it_is(out / f"{job}.xdv")
    if not any(auxiliary().values()):
        restore_auxiliary(out, job, remembered_auxiliary(sources))
    passes = 0
    for passes in range(1, 5):
        before = auxiliary()
        proc = subprocess.run(cmd, cwd=build_dir, env=env, capture_output=True, text=True, errors="replace")
        if proc.returncode != 0:
            for partial in (f"{job}.xdv", f"{job}.figures.json"):  # a halted run leaves no half-made output
                (out / partial).unlink(missing_ok=True)
            restore_auxiliary(out, job, before)
            raise latex_error(proc, log, build_dir, f"on build/{job}.tex")
        if auxiliary() == before:
            remember_auxiliary(sources, before)
            break
    if source:  # its pages beside the source's: the figures are the source's, placed as it placed them
        from .xdv import XdvError, beside

        try:
            merged = beside((out / f"{source}.xdv").read_bytes(), (out / f"{job}.xdv").read_bytes(),
                            f"build/tex/{job}.xdv")
        except XdvError as err:
            for partial in (f"{job}.xdv", f"{job}.figures.json"):
                (out / partial).unlink(missing_ok=True)
            raise BuildError(str(err)) from err
        write_bytes_atomic(out / f"{job}.xdv", merged)
        write_bytes_atomic(out / f"{job}.figures.json", (out / f"{source}.figures.json").read_bytes())
        _same_pages_same_time(out / f"{job}.xdv", typeset_before)
        return passes
    write_text_atomic(out / f"{job}.figures.json", json.dumps(sizes, indent=1, sort_keys=True) + "\n")
    _same_pages_same_time(out / f"{job}.xdv", typeset_before)
    return passes


def _as_it_is(path: Path) -> tuple[bytes, os.stat_result] | None:
    return (path.read_bytes(), path.stat()) if path.exists() else None


def _same_pages_same_time(xdv: Path, before: tuple[bytes, os.stat_result] | None) -> None:
    """Pages typeset again into the same bytes keep the file's old time, so the PDF assembled from
    them (which doit does not assemble again) is still no older than they are: `pages.claim_pages`
    then reads the claims' pages from them, where reading the PDF back takes 0.4 s more."""
    if before is not None and xdv.read_bytes() == before[0]:
        os.utime(xdv, ns=(before[1].st_atime_ns, before[1].st_mtime_ns))


def select_pages(build_dir: Path, templates_dir: Path, job: str = "handout") -> int:
    """build/tex/<job>.xdv from its source's typeset pages (the handout: the deck's last page of each
    frame), with the figures placed where the source placed them.  Returns 0: no XeLaTeX pass ran."""
    from .xdv import XdvError, write_handout

    build_dir = Path(build_dir).resolve()
    source, out = SELECTED[job], build_dir / "tex"
    placed = out / f"{source}.figures.json"
    if not placed.exists():
        raise BuildError(f"the {job} is made of build/tex/{source}.xdv: typeset the {source} first (doit typeset:{source})")
    try:
        write_handout(out, source, job)
    except XdvError as err:
        (out / f"{job}.xdv").unlink(missing_ok=True)
        raise BuildError(f"the {job} from build/tex/{source}.xdv: {err}") from err
    write_bytes_atomic(out / f"{job}.figures.json", placed.read_bytes())
    return 0


def auxiliary_key(build_dir: Path, job: str) -> str:
    """What a material's auxiliary files follow from: its name, its master and the parts' LaTeX."""
    key = hashlib.sha256(job.encode() + b"\0" + (build_dir / f"{job}.tex").read_bytes())
    for part in sorted((build_dir / "slides").glob("*.tex")):
        key.update(part.name.encode() + b"\0" + part.read_bytes())
    return f"{job}-{key.hexdigest()[:16]}"


def remembered_auxiliary(sources: str) -> dict:
    """The auxiliary files a material settled on from these sources in another build folder: a
    hint only (the passes run until the files come out as they went in, whatever they started
    from); none when the cache is off or has none."""
    saved = kept("aux", sources)
    saved = saved if isinstance(saved, dict) else {}
    return {ext: saved[ext].encode("latin-1") if isinstance(saved.get(ext), str) else None for ext in AUXILIARY}


def remember_auxiliary(sources: str, files: dict) -> None:
    """Keep the settled auxiliary files in the user's cache (the last AUXILIARY_KEPT sets; without
    them, the next build from nothing takes two passes, which is only slower)."""
    keep("aux", sources, {ext: None if content is None else content.decode("latin-1")
                          for ext, content in files.items()}, AUXILIARY_KEPT)


#: Settled auxiliary files kept in the user's cache: five materials, a few versions of each.
AUXILIARY_KEPT = 40


def restore_auxiliary(out: Path, job: str, files: dict) -> None:
    """Put back the auxiliary files as a pass found them (None: there was none).  A halted pass
    leaves them half-written, and the pass after the fix would then need a second to settle."""
    for ext, content in files.items():
        path = out / f"{job}{ext}"
        if content is None:
            path.unlink(missing_ok=True)
        else:
            write_bytes_atomic(path, content)


def assemble(build_dir: Path, templates_dir: Path, job: str = "deck") -> None:
    """build/tex/<job>.xdv and the figures as they are now into build/<job>.pdf (xdvipdfmx, as the
    `xelatex` command itself runs it: the same bytes).  A figure whose size changed since `typeset`
    placed it is placed again first."""
    build_dir = Path(build_dir).resolve()
    out = build_dir / "tex"
    placed = out / f"{job}.figures.json"
    sizes = figure_sizes(build_dir)
    if not placed.exists() or json.loads(placed.read_text(encoding="utf-8")) != sizes:
        made_of = SELECTED.get(job) or BESIDE.get(job)
        source = out / f"{made_of}.figures.json"
        if made_of and (not source.exists() or json.loads(source.read_text(encoding="utf-8")) != sizes):
            typeset(build_dir, templates_dir, made_of)  # (doit has run pdf:<source> first: see dodo.py)
        typeset(build_dir, templates_dir, job)
    pdf = out / f"{job}.pdf"
    proc = subprocess.run([*PDF_DRIVER, "-o", pdf.name, f"{job}.xdv"], cwd=out,
                          env=_tex_env(build_dir, templates_dir), capture_output=True, text=True, errors="replace")
    if proc.returncode != 0 or not pdf.exists():
        pdf.unlink(missing_ok=True)
        raise BuildError(f"xdvipdfmx failed on build/tex/{job}.xdv:\n{(proc.stderr or proc.stdout)[-2000:]}")
    # moved, not copied: build/tex keeps no PDF, so no build (failed, or one that never reached this
    # material) leaves one there that looks current
    os.replace(pdf, build_dir / f"{job}.pdf")


@reported
def typeset_material(build_dir: Path, templates_dir: Path, job: str) -> None:
    """The `typeset` task's action (a known error: one message)."""
    typeset(build_dir, templates_dir, job)


@reported
def assemble_material(build_dir: Path, templates_dir: Path, job: str) -> None:
    """The `pdf` task's action (a known error: one message)."""
    assemble(build_dir, templates_dir, job)


#: A figure's page size, as matplotlib writes it (uncompressed, in the page object).
MEDIA_BOX = re.compile(rb"/MediaBox\s*\[([^\]]*)\]")


def figure_sizes(build_dir: Path) -> dict[str, str]:
    """build/figures/<name>.pdf -> its page size ("0 0 268.56 163.44"), for every figure there is."""
    sizes = {}
    for figure in sorted((Path(build_dir) / "figures").glob("*.pdf")):
        box = MEDIA_BOX.search(figure.read_bytes())
        sizes[figure.name] = " ".join(box.group(1).decode().split()) if box else "?"
    return sizes


#: The line of a master where its precompiled part ends (mylatexformat's dump point).
DUMP_POINT = "\\csname endofdump\\endcsname"


def precompiled_preamble(build_dir: Path, templates_dir: Path, job: str, xelatex: str, env: dict) -> Path | None:
    """The XeLaTeX format holding build/<job>.tex's class and packages, made once: a pass then starts
    in about 0.5 s instead of 1.7 s.  None where the master has no dump point (it compiles as is).

    The format is named after what it holds: the master's lines up to the dump point, the template
    files they \\input, and the TeX Live it was made with.  Materials with the same head (the deck and
    the notes; the handout and the sheets) share one, and so do builds in other folders: it is kept
    in the user's cache folder (~/.cache/mlsysim/tex; build/tex when that cache is off), so a build
    from an empty build/ makes none (1.5 s each).  It is stored uncompressed (`_uncompress`).  It is a
    cache: a material compiles to the same bytes without it (tests/test_pdf.py)."""
    import fcntl

    if os.environ.get("MLSYSIM_TEX_FORMAT", "1").lower() in ("0", "off"):
        return None
    text = (build_dir / f"{job}.tex").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    end = next((i for i, ln in enumerate(lines) if ln.strip() == DUMP_POINT), None)
    if end is None:
        return None
    head = "".join(lines[:end + 1])
    key = hashlib.sha256(head.encode())
    for name in re.findall(r"\\input\{([^}]+)\}", head):
        source = templates_dir / (name if name.endswith(".tex") else f"{name}.tex")
        key.update(source.read_bytes() if source.exists() else name.encode())
    key.update(_tex_live_stamp(xelatex).encode())
    key.update(b"stored uncompressed")  # (formats made before were gzipped: another name, pruned as old)
    out = format_folder(build_dir)
    fmt = out / f"preamble-{key.hexdigest()[:16]}.fmt"
    if out != build_dir / "tex":  # formats a build made before they moved to the cache: 10 MB each
        for old in (build_dir / "tex").glob("preamble-*.fmt"):
            old.unlink(missing_ok=True)
    with open(out / "preamble.lock", "w") as lock:  # two materials compiled at once make it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not fmt.exists():
            made = f"{fmt.stem}-{os.getpid()}"
            proc = subprocess.run([xelatex, "-ini", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
                                   f"-jobname={made}", f"-output-directory={out}", "&xelatex", "mylatexformat.ltx",
                                   f"{job}.tex"], cwd=build_dir, env=env, capture_output=True, text=True,
                                  errors="replace")
            if proc.returncode != 0 or not (out / f"{made}.fmt").exists():
                keep_newest(out.glob("preamble-*.log"), FORMATS_KEPT)  # the failed ones' logs, the last few
                raise latex_error(proc, out / f"{made}.log", build_dir,
                                  f"making the preamble's format from build/{job}.tex")
            _uncompress(out / f"{made}.fmt")
            os.replace(out / f"{made}.fmt", fmt)
            (out / f"{made}.log").unlink(missing_ok=True)
        os.utime(fmt)  # last used now: the formats kept are the ones used last
        keep_newest(out.glob("preamble-*.fmt"), FORMATS_KEPT)  # a preamble edited many times leaves no pile of 10 MB files
    return fmt


def _uncompress(fmt: Path) -> None:
    """A format as XeTeX reads it fastest: TeX Live dumps it gzipped (10 MB), and every pass then spends
    0.08 s of its 0.35 s start inflating it; XeTeX reads the 34 MB it holds as they are just as well
    (zlib passes data that is not gzipped through), into the same pages."""
    import gzip

    with open(fmt, "rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            return
    plain = fmt.with_name(fmt.name + ".plain")
    with gzip.open(fmt, "rb") as packed, open(plain, "wb") as out:
        shutil.copyfileobj(packed, out, 1 << 20)
    os.replace(plain, fmt)


#: How many precompiled preambles are kept (the materials use two: slides and handout mode; a
#: preamble edited and edited back finds its format still there).
FORMATS_KEPT = 4


def format_folder(build_dir: Path) -> Path:
    """Where the precompiled preambles live: the user's cache folder, else (cache off, or a home
    that cannot be written) build/tex."""
    from mlsysim.units import cache_root

    root = cache_root()
    if root is not None:
        try:
            (Path(root) / "tex").mkdir(parents=True, exist_ok=True)
            return Path(root) / "tex"
        except OSError:
            pass
    return Path(build_dir) / "tex"


def latex_error(proc: subprocess.CompletedProcess, log: Path, build_dir: Path, what: str) -> BuildError:
    """The error of a XeLaTeX run that failed: its first error at the template line (latex_failure),
    else the end of what it printed."""
    text = log.read_text(errors="replace") if log.exists() else proc.stdout
    return BuildError(latex_failure(text, build_dir, log) or
                      f"LaTeX failed {what} (full log: {shown_path(log)}):\n{proc.stdout[-2000:]}")


@functools.cache  # one kpsewhich a process, however many materials it compiles
def _tex_live_stamp(xelatex: str) -> str:
    """Which TeX Live made a format: the engine binary and its base format (an upgrade changes both)."""
    base = subprocess.run(["kpsewhich", "-engine=xetex", "xelatex.fmt"], capture_output=True, text=True).stdout.strip()
    stamp = [str(Path(xelatex).resolve())]
    for f in (Path(xelatex).resolve(), Path(base) if base else None):
        if f is not None and f.exists():
            st = f.stat()
            stamp.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(stamp)


RUNAWAY = ("File ended while scanning use of", "Paragraph ended before", "Runaway argument",
           "Missing } inserted", "Extra }, or forgotten", "Argument of")


#: What the notes' pass logs before each note page: where the deck read the frame of that note.
NOTE_FROM = "mlsysim note from "


def latex_failure(log_text: str, build_dir: Path, log: Path) -> str | None:
    """The first LaTeX error as `template:line: what went wrong, and the likely fix`.

    With -file-line-error the log names the generated file (build/slides/<part>.tex) and its line;
    the line map written beside it (<part>.tex.map) names the template line that wrote it.  An
    argument that runs away (a `{` never closed) is traced to the brace that opened it and the
    frame it is in; an undefined macro gets the nearest command the deck uses."""
    build_dir = Path(build_dir).resolve()
    lines = log_text.splitlines()
    for i, ln in enumerate(lines):
        m = re.match(r"^(\S+\.tex):(\d+): (.*)$", ln)
        if not m:
            continue
        tex, number, message = Path(m.group(1)), int(m.group(2)), m.group(3).strip()
        note = next((n for n in reversed(lines[:i]) if n.startswith(NOTE_FROM)), None)
        if note:  # a note page of the notes' pass: the frame its note came from (\mlsnotepage)
            tex, _, line = note[len(NOTE_FROM):].strip().lstrip("/").rpartition(":")
            tex, number = Path(tex), int(line) if line.isdigit() else number
        if not tex.is_absolute():
            tex = (build_dir / tex).resolve()
        missing = _missing_file(lines[:i]) if message.startswith("Emergency stop") else None
        if missing:  # TeX asked for another file name, read none, and stopped a line further on
            number = _line_naming(tex, number, missing.rsplit(".", 1)[0])
            message = f"LaTeX Error: File `{missing}' not found: check its name, or install the TeX Live package that has it"
        context = [x for x in lines[i + 1:i + 4] if x.strip()]
        where = f"{shown_path(tex)}:{number}"
        tail = f"\n  full log: {shown_path(log)}" + "".join(f"\n  {x}" for x in context)
        if any(message.startswith(r) for r in RUNAWAY):
            told = _runaway(tex, number, message, build_dir)
            if told:
                return f"{told} (LaTeX: {message.rstrip('.')}, in {where})\n  full log: {shown_path(log)}"
        hint = ""
        if message.startswith("Undefined control sequence"):
            name = _undefined_name(context)
            if name:
                number = _line_using(tex, number, name)
                where = f"{shown_path(tex)}:{number}"
                hint = _undefined_macro_hint(name, build_dir)
        origin = template_origin(tex, number)
        head = f"{origin}: {message}{hint} (LaTeX, in {where})" if origin else f"{where}: {message}{hint} (LaTeX)"
        return head + tail
    for i, ln in enumerate(lines):
        if ln.startswith("!"):
            return f"{shown_path(build_dir / 'deck.tex')}: LaTeX {ln[1:].strip()}\n  full log: {shown_path(log)}"
    return None


def _missing_file(lines: list[str]) -> str | None:
    """The file of the last "! LaTeX Error: File `x.sty' not found." among these log lines."""
    for ln in reversed(lines):
        m = re.match(r"^! LaTeX Error: File `([^']+)' not found", ln)
        if m:
            return m.group(1)
    return None


def _line_naming(tex: Path, number: int, name: str) -> int:
    """The line at or above `number` whose text (outside a comment) names `name`, else `number`."""
    if tex.exists():
        lines = tex.read_text(encoding="utf-8", errors="replace").splitlines()
        for n in range(min(number, len(lines)), 0, -1):
            if name in lines[n - 1].split("%")[0]:
                return n
    return number


def template_origin(tex: Path, number: int) -> str | None:
    """The template `file:line` that wrote line `number` of a generated .tex (from its line map)."""
    from .render import read_line_map

    origins = read_line_map(tex)
    if 0 < number <= len(origins) and origins[number - 1]:
        return origins[number - 1]
    return None


def _frames(lines: list[str]) -> list[int]:
    return [n for n, ln in enumerate(lines, 1) if "\\begin{frame}" in ln.split("%")[0]]


def unbalanced_braces(lines: list[str]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    r"""((line, column) of each `{` never closed, (line, column) of each `}` closing nothing).

    TeX's rules, simply: `\{` and `\}` are characters, `%` starts a comment."""
    opened: list[tuple[int, int]] = []
    stray: list[tuple[int, int]] = []
    for n, line in enumerate(lines, 1):
        i = 0
        while i < len(line):
            c = line[i]
            if c == "\\":  # a control word (\frame) or a control symbol (\{, \%, \\)
                j = i + 1
                if j < len(line) and line[j].isalpha():
                    while j < len(line) and line[j].isalpha():
                        j += 1
                    i = j
                else:
                    i = j + 1
                continue
            if c == "%":
                break
            if c == "{":
                opened.append((n, i))
            elif c == "}":
                if opened:
                    opened.pop()
                else:
                    stray.append((n, i))
            i += 1
    return opened, stray


def _runaway(tex: Path, number: int, message: str, build_dir: Path) -> str | None:
    """For an argument LaTeX could not finish: the template line of the `{` left open, and its frame."""
    target = tex
    if message.startswith("File ended while scanning use of") and tex.exists():
        # the error is reported on the \input line of deck.tex: the runaway is in the file it reads
        text = tex.read_text(encoding="utf-8", errors="replace").splitlines()
        if 0 < number <= len(text):
            m = re.search(r"\\input\{([^}]*)\}", text[number - 1])
            if m:
                name = m.group(1).replace("\\_", "_")
                target = (tex.parent / (name if name.endswith(".tex") else name + ".tex")).resolve()
    if not target.exists():
        return None
    lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
    opened, stray = unbalanced_braces(lines)
    if target == tex and not message.startswith("File ended"):
        opened = [o for o in opened if o[0] <= number]  # the `{` open where LaTeX stopped
    if opened:
        line, col = opened[0]
        frame = max((f for f in _frames(lines) if f <= line), default=None)
        origin = template_origin(target, line) or f"{shown_path(target)}:{line}"
        rest = lines[line - 1][col:]
        snippet = rest[:50] + ("\u2026" if len(rest) > 50 else "")
        inside = ""
        if frame is not None:
            frame_origin = template_origin(target, frame) or f"{shown_path(target)}:{frame}"
            same_file = frame_origin.rsplit(":", 1)[0] == origin.rsplit(":", 1)[0]
            inside = f" in the frame that starts at {'line ' + frame_origin.rsplit(':', 1)[1] if same_file else frame_origin}"
        ending = "; LaTeX read on to the end of the file looking for it" if message.startswith("File ended") else ""
        return f"{origin}: a `{{` is not closed{inside}: `{snippet}` needs its `}}`{ending}"
    if stray:
        line, col = stray[0]
        origin = template_origin(target, line) or f"{shown_path(target)}:{line}"
        return f"{origin}: a `}}` closes nothing here: remove it, or add the `{{` it was meant to close"
    return None


#: Commands every deck may use besides those its own templates use (LaTeX, Beamer).
COMMON_MACROS = """textbf textit texttt textsc textrm textsf emph underline alert item begin end frametitle
framesubtitle includegraphics centering raggedright small footnotesize scriptsize tiny normalsize large Large
LARGE huge Huge bfseries itshape ttfamily cite href url vspace hspace hfill vfill newline
par section subsection pause only onslide uncover visible column columns caption label ref toprule midrule
bottomrule hline multicolumn frac sqrt cdot times approx leq geq left right text mathrm mathbf ldots dots
cdots quad qquad color textcolor rowcolor checkmark footnote noindent linewidth textwidth""".split()


def known_macros(build_dir: Path) -> set[str]:
    """Command names the deck's own sources use or define, plus COMMON_MACROS."""
    from collections import Counter

    root = Path(build_dir).resolve().parent
    names = set(COMMON_MACROS)
    for path in sorted((root / "templates").glob("*")):
        if path.is_file() and path.suffix in (".sty", ".tex"):  # the theme and preamble define commands
            names |= set(re.findall(r"\\([A-Za-z]+)", path.read_text(encoding="utf-8", errors="replace")))
    uses = Counter()
    for path in sorted((root / "templates").glob("*.j2")) + sorted((root / "slides").glob("*/slides.tex.j2")):
        uses.update(re.findall(r"\\([A-Za-z]+)", path.read_text(encoding="utf-8", errors="replace")))
    names |= {n for n, k in uses.items() if k > 1}  # a name used once may be the typo itself
    return names - {"VAR", "BLOCK"}


def _undefined_name(context: list[str]) -> str | None:
    """The undefined command: the last one before the break of TeX's first context line."""
    for line in context:
        names = re.findall(r"\\([A-Za-z@]+)", line)
        if names:
            return names[-1]
    return None


def _line_using(tex: Path, number: int, name: str) -> int:
    r"""The line at or above `number`, in the same frame, that uses \name (Beamer reads a whole frame
    before running it, so TeX reports its errors on the frame's \end{frame} line)."""
    if not tex.exists():
        return number
    lines = tex.read_text(encoding="utf-8", errors="replace").splitlines()
    use = re.compile(rf"\\{re.escape(name)}(?![A-Za-z@])")
    for n in range(min(number, len(lines)), 0, -1):
        if use.search(lines[n - 1].split("%")[0]):
            return n
        if "\\begin{frame}" in lines[n - 1] and n < number:
            break
    return number


def _undefined_macro_hint(name: str, build_dir: Path) -> str:
    """": \textbff is not a LaTeX command: did you mean \textbf?" (the commands the deck knows)."""
    import difflib

    known = known_macros(build_dir)
    if name in known:
        return f" \\{name} is used elsewhere in the deck; is the package that defines it loaded here?"
    close = difflib.get_close_matches(name, sorted(known), n=2, cutoff=0.75)
    spelled = " or ".join("\\" + c for c in close)
    hint = f"did you mean {spelled}?" if close else "check its spelling, or define it in templates/preamble.tex"
    return f" \\{name} is not a LaTeX command: {hint}"


@reported
def write_schedule(slides_root: Path, templates_dir: Path, out: Path) -> None:
    """build/schedule.json, and planned against slot per part on the console."""
    from .schedule import write_schedule as write

    write(slides_root, templates_dir, out)


@reported
def write_claims_json(claims_dir: Path, uses_dir: Path, out: Path) -> None:
    """One machine-readable file: every claim with the slides (part, frame, target) that use it."""
    claims_dir, uses_dir = Path(claims_dir), Path(uses_dir)
    ids = json.loads((claims_dir / "index.json").read_text())
    used: dict[str, list] = {}
    for uses_file in sorted(uses_dir.glob("*.uses.json")):
        data = json.loads(uses_file.read_text(encoding="utf-8"))
        for use in data["uses"]:
            used.setdefault(use["claim"], []).append({"part": data["part"], "frames": use["frames"],
                                                     "target": use["target"], "lines": use["lines"],
                                                     "template": use["template"]}
                                                    | ({"note": True} if use.get("note") else {}))
    records = []
    for claim_id in ids:
        record = json.loads((claims_dir / f"{claim_id}.json").read_text(encoding="utf-8"))
        record["slides"] = sorted(used.get(claim_id, []), key=lambda s: bool(s.get("note")))  # slides, then notes
        records.append(record)
    write_text_atomic(Path(out), json.dumps({"claims": records}, indent=1, ensure_ascii=False) + "\n")


@reported
def write_ledger(claims_json: Path, pdf: Path, spec_dir: Path, out: Path, equations: Path) -> None:
    """build/ledger.html: the claims ledger (see mlsysim_deck.ledger)."""
    from .ledger import write_ledger as write

    write(claims_json, pdf, spec_dir, out, equations)
