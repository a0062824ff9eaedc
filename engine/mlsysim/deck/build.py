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
        from ..spec import SpecError
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


@reported
def evaluate_claims(slides_root: Path, claims_dir: Path) -> dict:
    """Evaluate every part's claims; one JSON file per claim (rewritten only when it changes)."""
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
            raise BuildError(f"{src}: listing failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
        keys = json.loads(record.read_text()) if record.exists() else []
    write_text_atomic(out_dir / f"{src.stem}.py", shown)
    write_text_atomic(out_dir / f"{src.stem}.out", proc.stdout)
    return _inputs_values(keys, spec_dir)


# --- figures -----------------------------------------------------------------------------------


@reported
def run_figure(script: Path, out_pdf: Path, spec_dir: Path) -> dict:
    """Run figures/<name>.py's main(out_path) in this process, recording the spec values it reads."""
    from ..spec import reading

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
            namespace["main"](Path(tmp))
        data = Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)
    from .atomic import write_bytes_atomic

    write_bytes_atomic(out_pdf, data)
    return _inputs_values(keys, spec_dir)


# --- the deck ----------------------------------------------------------------------------------


@reported
def render_deck(slides_root: Path, templates_dir: Path, out_tex: Path) -> None:
    """The master file: preamble, title, and for each part its section, roadmap and slides."""
    from .render import environment, render_template

    env = environment([templates_dir, slides_root])
    text = render_template(env, templates_dir / "deck.tex.j2",
                           {"_template_name": "deck.tex.j2", "parts": parts(slides_root)})
    write_text_atomic(out_tex, text)


@reported
def compile_pdf(build_dir: Path, templates_dir: Path) -> None:
    """latexmk + XeLaTeX, reproducibly; on failure print the first error with file:line."""
    build_dir = Path(build_dir).resolve()
    latexmk = shutil.which("latexmk")
    if latexmk is None:
        raise BuildError("latexmk not found: run the README's first command (it installs TeX Live)")
    out = build_dir / "tex"
    env = os.environ | {"TEXINPUTS": f"{Path(templates_dir).resolve()}//:{build_dir}//:",
                        "SOURCE_DATE_EPOCH": "1767225600", "FORCE_SOURCE_DATE": "1", "TZ": "UTC"}
    cmd = [latexmk, "-xelatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           f"-outdir={out}", "deck.tex"]
    proc = subprocess.run(cmd, cwd=build_dir, env=env, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        log = out / "deck.log"
        text = log.read_text(errors="replace") if log.exists() else proc.stdout
        import re

        lines = text.splitlines()
        errors = []
        for i, ln in enumerate(lines):
            if ln.startswith("!") or re.match(r"^\S+\.tex:\d+: ", ln):
                errors.extend(lines[i:i + 3])
        first = "\n".join(errors[:6]) or proc.stdout[-2000:]
        raise BuildError(f"LaTeX failed on build/deck.tex (full log: {log}):\n{first}")
    pdf = out / "deck.pdf"
    tmp = build_dir / ".deck.pdf.tmp"
    shutil.copyfile(pdf, tmp)
    os.replace(tmp, build_dir / "deck.pdf")


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
                                                     "template": use["template"]})
    records = []
    for claim_id in ids:
        record = json.loads((claims_dir / f"{claim_id}.json").read_text(encoding="utf-8"))
        record["slides"] = used.get(claim_id, [])
        records.append(record)
    write_text_atomic(Path(out), json.dumps({"claims": records}, indent=1, ensure_ascii=False) + "\n")
