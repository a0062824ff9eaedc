"""The build's actions, called by dodo.py: claims, listings, figures, slides, the deck, the PDF.

Every action writes atomically and only when the bytes change, so doit's content check rebuilds
exactly what depends on a changed value.  Figures and listings report the spec values they read;
their tasks are up to date while those values are unchanged (`spec_inputs_unchanged`).
"""
from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from .atomic import write_text_atomic

SETUP_MARKER = "# --- slide ---"


class BuildError(Exception):
    """A build step failed; the message names the file (and line) to look at."""


def reported(action):
    """Run a build action; a known error prints one clear message (no traceback) and fails the task."""
    import functools

    @functools.wraps(action)
    def run(*args, **kwargs):
        from mlsysim.spec import SpecError
        from .claims import ClaimError
        from .render import RenderError

        try:
            return action(*args, **kwargs)
        except (BuildError, ClaimError, RenderError, SpecError, LookupError) as err:
            print(f"error: {err}", file=sys.stderr)
            return False

    return run


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


def spec_fingerprints(spec_dir: Path) -> dict[str, str]:
    """key -> "value unit" for every value of every spec file (tomllib only: cheap at dodo load)."""
    prints = {}
    for path in sorted(Path(spec_dir).glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for table, body in data.items():
            if not isinstance(body, dict):
                continue
            for field, raw in body.items():
                if isinstance(raw, dict):
                    raw = f"{raw.get('value')} {raw.get('unit', '')}".strip()
                prints[f"{path.stem}.{table}.{field}"] = json.dumps(raw)
    return prints


def spec_inputs_unchanged(task, values, current: dict[str, str]) -> bool:
    """doit uptodate: the spec values this task read last time all still hold."""
    saved = values.get("spec_inputs")
    if saved is None:
        return False
    return all(current.get(key) == value for key, value in saved.items())


def _inputs_values(keys, spec_dir: Path) -> dict:
    current = spec_fingerprints(spec_dir)
    return {"spec_inputs": {k: current.get(k) for k in sorted(keys)}}


# --- claims ------------------------------------------------------------------------------------


def claims_files(slides_root: Path) -> list[Path]:
    return sorted(Path(slides_root).glob("*/claims.py"))


def collect_claims(slides_root: Path) -> dict:
    """Evaluate every part's claims (nothing is written): claim id -> record."""
    from .claims import ClaimError, load_claims

    records, owner = {}, {}
    for path in claims_files(slides_root):
        claims = load_claims(path)
        for claim_id, claim in claims.items.items():
            if claim_id in owner:
                raise ClaimError(f"{claim.declared_at}: claim {claim_id!r} is also declared in {owner[claim_id]}")
            owner[claim_id] = path
            claim.evaluate()
            records[claim_id] = claim.record() | {"part": path.parent.name}
    return records


@reported
def evaluate_claims(slides_root: Path, claims_dir: Path) -> dict:
    """Evaluate every part's claims; one JSON file per claim (rewritten only when it changes)."""
    records = collect_claims(slides_root)
    claims_dir = Path(claims_dir)
    claims_dir.mkdir(parents=True, exist_ok=True)
    for claim_id, record in records.items():
        write_text_atomic(claims_dir / f"{claim_id}.json", json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    for stale in claims_dir.glob("*.json"):
        if stale.stem not in records and stale.name != "index.json":
            stale.unlink()
    write_text_atomic(claims_dir / "index.json", json.dumps(sorted(records), indent=0) + "\n")
    return records


# --- listings ----------------------------------------------------------------------------------


def split_listing(source: str) -> tuple[str, str]:
    """(hidden setup, code shown on the slide): lines up to SETUP_MARKER are setup."""
    if SETUP_MARKER in source:
        setup, shown = source.split(SETUP_MARKER, 1)
        return setup, shown.lstrip("\n")
    return "", source


@reported
def run_listing(src: Path, out_dir: Path, engine_dir: Path, spec_dir: Path) -> dict:
    """Run a listing as its own Python process; write the code shown and what it printed."""
    src = Path(src)
    _, shown = split_listing(src.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "reads.json"
        env = os.environ | {"PYTHONPATH": os.pathsep.join([str(engine_dir)] + [p for p in [
            os.environ.get("PYTHONPATH", "")] if p]), "MLSYSIM_RECORD": str(record), "PYTHONHASHSEED": "0",
                           "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg"}
        proc = subprocess.run([sys.executable, str(src.resolve())], cwd=tmp, env=env, capture_output=True,
                              text=True, encoding="utf-8", timeout=120)
        if proc.returncode != 0:
            raise BuildError(listing_failure(src, proc.returncode, proc.stderr))
        keys = json.loads(record.read_text()) if record.exists() else []
    write_text_atomic(out_dir / f"{src.stem}.py", shown)
    write_text_atomic(out_dir / f"{src.stem}.out", proc.stdout)
    return _inputs_values(keys, spec_dir)


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it (messages read shorter)."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def listing_failure(src: Path, returncode: int, stderr: str) -> str:
    """One line naming the listing's file and line and the exception, then the traceback's tail."""
    import re

    src = Path(src)
    line = None
    for m in re.finditer(r'File "([^"]+)", line (\d+)', stderr):
        if Path(m.group(1)).resolve() == src.resolve():
            line = int(m.group(2))
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else f"exit status {returncode}"
    if line:
        return f"{shown_path(src)}:{line}: listing raised {last}"
    tail = "\n".join("    " + ln for ln in lines[-6:-1] if not ln.startswith("Traceback"))
    return f"{shown_path(src)}: listing failed: {last}" + (f"\n  the last lines it wrote:\n{tail}" if tail else "")


# --- figures -----------------------------------------------------------------------------------


@reported
def run_figure(script: Path, out_pdf: Path, spec_dir: Path) -> dict:
    """Run figures/<name>.py's main(out_path) in this process, recording the spec values it reads."""
    from mlsysim.spec import reading

    script = Path(script)
    if str(script.parent) not in sys.path:
        sys.path.insert(0, str(script.parent))  # the figure's shared helpers (figures/_style.py)
    namespace = runpy.run_path(str(script), run_name="figure")
    if "main" not in namespace:
        raise BuildError(f"{script}: a figure script defines main(out_path)")
    out_pdf = Path(out_pdf)
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_pdf.stem}.", suffix=".pdf", dir=out_pdf.parent)
    os.close(fd)
    try:
        with reading() as keys:
            try:
                namespace["main"](Path(tmp))
            except Exception as err:  # noqa: BLE001 - reported as the figure's file:line
                line, tb = None, err.__traceback__
                while tb is not None:
                    if Path(tb.tb_frame.f_code.co_filename).resolve() == script.resolve():
                        line = tb.tb_lineno
                    tb = tb.tb_next
                where = f"{shown_path(script)}:{line}" if line else shown_path(script)
                raise BuildError(f"{where}: figure raised {type(err).__name__}: {err}") from err
        data = Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)
    from .atomic import write_bytes_atomic

    write_bytes_atomic(out_pdf, data)
    return _inputs_values(keys, spec_dir)


# --- the deck ----------------------------------------------------------------------------------


#: The materials, each a master file over the same rendered parts: name -> what it is.
MATERIALS = {
    "deck": "the presenter's deck, with overlays",
    "notes": "the deck with its speaker notes on a second screen (pdfpc --notes=right)",
    "handout": "one page per frame in its final state, for attendees after the session",
    "exercises": "the attendee's sheet: the predictions and exercises, no answers",
    "solutions": "the answer key: each exercise's code, executed output, claims and reasoning",
}


def material_frames(slides_root: Path, material: str) -> list[str]:
    """The frame labels a material keeps (\\includeonlyframes); empty: every frame."""
    from .render import SHEET_KINDS, SOLUTION_KIND, frame_labels

    if material == "exercises":
        kinds = SHEET_KINDS
    elif material == "solutions":
        kinds = SHEET_KINDS + (SOLUTION_KIND,)
    else:
        return []
    labels = ["sheet-title"]
    for part in parts(slides_root):
        source = (Path(slides_root) / part["dir"] / "slides.tex.j2").read_text(encoding="utf-8")
        labels += [label for _, label in frame_labels(source) if label.startswith(kinds)]
    return labels


@reported
def render_deck(slides_root: Path, templates_dir: Path, out_tex: Path, material: str = "deck") -> None:
    """A material's master file: preamble, title, and for each part its section, roadmap and slides."""
    from .render import PartRenderer, environment, render_template
    from .schedule import clock, plan

    if material not in MATERIALS:
        raise BuildError(f"unknown material {material!r}: one of {', '.join(MATERIALS)}")
    plans = {p.dir: p for p in plan(slides_root, templates_dir)}
    shown = []
    for part in parts(slides_root):
        p = plans[part["dir"]]
        shown.append(part | {"time": f"{clock(p.start)}–{clock(p.end)}", "planned": f"{p.planned} min",
                             "after_what": p.after_what,
                             "after_time": f"{clock(p.end)}–{clock(p.end + p.after)}" if p.after else ""})
    env = environment([templates_dir, slides_root])
    env.globals["note"] = PartRenderer("deck", Path(out_tex).parent).note
    text = render_template(env, templates_dir / "deck.tex.j2",
                           {"_template_name": "deck.tex.j2", "parts": shown, "material": material,
                            "include_frames": material_frames(slides_root, material)})
    write_text_atomic(out_tex, text)


@reported
def compile_pdf(build_dir: Path, templates_dir: Path, job: str = "deck") -> None:
    """latexmk + XeLaTeX on build/<job>.tex, reproducibly; on failure print the first error with file:line."""
    build_dir = Path(build_dir).resolve()
    latexmk = shutil.which("latexmk")
    if latexmk is None:
        raise BuildError("latexmk not found: run the README's first command (it installs TeX Live)")
    out = build_dir / "tex"
    env = os.environ | {"TEXINPUTS": f"{Path(templates_dir).resolve()}//:{build_dir}//:",
                        "SOURCE_DATE_EPOCH": "1767225600", "FORCE_SOURCE_DATE": "1", "TZ": "UTC",
                        "max_print_line": "10000"}  # the log's file:line errors unwrapped, however long the path
    cmd = [latexmk, "-xelatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           f"-outdir={out}", f"{job}.tex"]
    proc = subprocess.run(cmd, cwd=build_dir, env=env, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        for partial in (f"{job}.pdf", f"{job}.xdv"):  # a halted run leaves no half-made output behind
            (out / partial).unlink(missing_ok=True)
        log = out / f"{job}.log"
        text = log.read_text(errors="replace") if log.exists() else proc.stdout
        raise BuildError(latex_failure(text, build_dir, log) or
                         f"LaTeX failed on build/{job}.tex (full log: {shown_path(log)}):\n{proc.stdout[-2000:]}")
    from .atomic import write_bytes_atomic

    write_bytes_atomic(build_dir / f"{job}.pdf", (out / f"{job}.pdf").read_bytes())


def latex_failure(log_text: str, build_dir: Path, log: Path) -> str | None:
    """The first LaTeX error as `file:line: message`, traced back to the slide template if it can be.

    With -file-line-error the log names the generated file (build/slides/<part>.tex) and its line;
    when that line's text occurs exactly once in the part's template, the template line is named too.
    """
    import re

    lines = log_text.splitlines()
    for i, ln in enumerate(lines):
        m = re.match(r"^(\S+\.tex):(\d+): (.*)$", ln)
        if not m:
            continue
        tex, number, message = Path(m.group(1)), int(m.group(2)), m.group(3).strip()
        if not tex.is_absolute():
            tex = (Path(build_dir) / tex).resolve()
        context = [x for x in lines[i + 1:i + 4] if x.strip()]
        where = f"{shown_path(tex)}:{number}"
        origin = _template_line(tex, number, Path(build_dir))
        head = f"{origin}: {message} (LaTeX, in {where})" if origin else f"{where}: {message} (LaTeX)"
        return head + f"\n  full log: {shown_path(log)}" + "".join(f"\n  {x}" for x in context)
    for i, ln in enumerate(lines):
        if ln.startswith("!"):
            return f"{shown_path(Path(build_dir) / 'deck.tex')}: LaTeX {ln[1:].strip()}\n  full log: {shown_path(log)}"
    return None


def _template_line(tex: Path, number: int, build_dir: Path) -> str | None:
    """slides/<part>/slides.tex.j2:<line> whose text is the generated line `number`, if unique."""
    if tex.parent.name != "slides" or tex.parent.parent != build_dir.resolve() or not tex.exists():
        return None
    generated = tex.read_text(encoding="utf-8", errors="replace").splitlines()
    if not 0 < number <= len(generated) or not generated[number - 1].strip():
        return None
    wanted = generated[number - 1].strip()
    template = build_dir.resolve().parent / "slides" / tex.stem / "slides.tex.j2"
    if not template.exists():
        return None
    hits = [n for n, ln in enumerate(template.read_text(encoding="utf-8").splitlines(), 1) if ln.strip() == wanted]
    return f"{shown_path(template)}:{hits[0]}" if len(hits) == 1 else None


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
def write_ledger(claims_json: Path, pdf: Path, spec_dir: Path, out: Path) -> None:
    """build/ledger.html: the claims ledger (see mlsysim_deck.ledger)."""
    from .ledger import write_ledger as write

    write(claims_json, pdf, spec_dir, out)
