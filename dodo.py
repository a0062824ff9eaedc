"""doit tasks: specs -> engine -> claims -> slides, figures, listings -> the five materials
(build/deck.pdf, notes.pdf, handout.pdf, exercises.pdf, solutions.pdf).

    doit            build everything that is out of date (the default tasks)
    doit list       the tasks; `doit info slides:01_roofline` says why one would run
    doit accept_claims   accept the build's claim values into slides/claims.lock.json

Each slide part, figure and listing is a task of its own.  A slide part depends on the claim
files it uses; a figure or listing on the spec values it read last time (see
mlsysim_deck.build.spec_inputs_unchanged), so editing one spec value rebuilds exactly what reads it.
Loading this file must stay cheap (no sympy, pint or matplotlib here): a no-op `doit` is one of
the benchmarks.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "engine"))
# Every path a task names is relative to this folder (doit runs from it), so doit's record of what
# was built stays valid when the checkout moves or is copied with its build/: a copy rebuilds only
# what its own edits touch.
ROOT = Path(os.path.relpath(Path(__file__).resolve().parent))
ENGINE = ROOT / "engine"

from mlsysim_deck import build as B  # noqa: E402  (light: no jinja, sympy, pint or matplotlib)

SLIDES, TEMPLATES, FIGURES, BUILD = ROOT / "slides", ROOT / "templates", ROOT / "figures", ROOT / "build"
PACKAGE = ENGINE / "mlsysim"
TOOLING = ENGINE / "mlsysim_deck"
SPECS = PACKAGE / "specs"
CLAIMS_DIR = BUILD / "claims"
#: Each figure's script (figures/<name>.py; _style.py and other _*.py are their shared helpers).
FIGURE_SCRIPTS = [s for s in sorted(FIGURES.glob("*.py")) if not s.name.startswith("_")]
FIGURE_PDFS = [BUILD / "figures" / f"{s.stem}.pdf" for s in FIGURE_SCRIPTS]

DOIT_CONFIG = {"default_tasks": ["claims", "equations", "slides", "listing", "figure", "schedule", "deck_tex", "typeset", "pdf",
                                 "claims_json", "ledger"],
               "backend": "sqlite3", "dep_file": str(BUILD / ".doit.db"), "verbosity": 1,
               "reporter": B.reporter(error_marker=BUILD / ".doit.error"),
               # tasks run on every core (at most four at once: the five materials typeset side by side);
               # `doit -n 1` runs one at a time
               "num_process": B.build_processes()}
BUILD.mkdir(exist_ok=True)
B.FINAL_OUTPUTS[:] = [BUILD / "deck.pdf", BUILD / "ledger.html", BUILD / "ledger"]  # a failed build removes them

# The engine's physics: any change to it may move any number, so claims, figures and listings
# depend on all of it.  The deck tooling (engine/mlsysim_deck, a package of its own) only affects rendering.
# (The teaching forms of the equations, core/board.py and core/teaching.py, print equations and move no number.)
ENGINE_SOURCES = sorted(str(p) for p in PACKAGE.rglob("*.py") if p.name not in ("board.py", "teaching.py"))
SPEC_FILES = sorted(str(p) for p in SPECS.glob("*.toml"))
CURRENT_SPECS = B.spec_fingerprints(SPECS)
DERIVATIONS = [str(PACKAGE / "core" / "derivations.py")] + sorted(str(p) for p in (PACKAGE / "core").glob("derive_*.py"))
# The teaching forms of the slides' equations, proved against the derivations by the equations task.
TEACHING = [str(PACKAGE / "core" / "board.py"), str(PACKAGE / "core" / "teaching.py")]
EQUATIONS = BUILD / "equations.json"
RENDER_SOURCES = [str(TOOLING / n) for n in ("render.py", "lint.py", "claims.py", "atomic.py", "workload.py",
                                              "errata.py")]
WORKLOAD = str(TOOLING / "workload.py")  # the workloads and comparisons claims and figures share
# The Reality check appendix: published measurements and the code that compares the engine with them.
VALIDATION = sorted(str(p) for p in (ROOT / "validation").glob("*.toml")) + [str(TOOLING / "validation.py")]


def _spec_uptodate():
    return [B.SpecInputsUnchanged(CURRENT_SPECS)]  # `doit info` prints the spec keys that moved


def _derive():
    from mlsysim.core import generate

    generate.main()


def task_derive():
    """Print the sympy derivations into the engine's run-time formulas (core/_derived*.py).

    Not a default task, and it declares no targets: the generated files are file_deps of the
    claims, figures and listings, and doit runs whatever task makes a file_dep, so a target here
    would make every build run it.  The build never writes into the source tree: run `doit derive`
    after editing a derivation and commit the result; the tests fail while a generated module is stale."""
    return {"actions": [_derive], "file_dep": DERIVATIONS + [str(PACKAGE / "core" / "generate.py")]}


@B.reported
def _write_equations(slides_root, out):
    from mlsysim_deck.equations import write_equations

    write_equations(Path(slides_root), Path(out))


def task_equations():
    """Prove each equation's teaching form equal to its derivation; write the slides' LaTeX once
    (build/equations.json).  Depends only on the derivations and the teaching forms: a spec or prose
    edit never runs sympy again.  A wrong teaching form fails here, naming the frames that show it."""
    return {"actions": [(_write_equations, [str(SLIDES), str(EQUATIONS)])],
            "file_dep": DERIVATIONS + TEACHING + [str(PACKAGE / "core" / "generate.py"), str(TOOLING / "equations.py"),
                         str(TOOLING / "ledger.py")],
            "targets": [str(EQUATIONS)],
            "verbosity": 2}


def task_claims():
    """Evaluate every claim of every part (one small JSON file per claim)."""
    return {"actions": [(B.evaluate_claims, [SLIDES, CLAIMS_DIR])],
            "file_dep": SPEC_FILES + ENGINE_SOURCES + [str(p) for p in B.claims_files(SLIDES)] + VALIDATION
            + [str(TOOLING / "claims.py"), WORKLOAD],
            "targets": [str(CLAIMS_DIR / "index.json"), str(CLAIMS_DIR / "records.sha256")],
            "verbosity": 2}


def _claim_uses(part_dir: Path) -> list[str]:
    """Claim ids a part's template uses (read from its Jinja AST; errors surface when it renders)."""
    return B.template_claims(part_dir / "slides.tex.j2", [SLIDES, TEMPLATES])


def _prints_errata(part_dir: Path) -> bool:
    """Whether a part's template prints the errata table (its rows follow build/claims/errata.json)."""
    return "errata_pages(" in (part_dir / "slides.tex.j2").read_text(encoding="utf-8")


def _compares(part_dir: Path) -> bool:
    """Whether a part's template loops over or counts a comparison of accelerators."""
    source = (part_dir / "slides.tex.j2").read_text(encoding="utf-8")
    return "accelerators(" in source or "count_word(" in source


@B.reported
def _render_part(part_dir, out_tex, out_uses, claim_ids, errata=False):
    from mlsysim_deck.render import render_part, write_sheet_views

    render_part(Path(part_dir), SLIDES, TEMPLATES, CLAIMS_DIR, Path(out_tex), Path(out_uses))
    write_sheet_views(Path(out_tex), B.SHEETS)  # the exercise sheet's and the answer key's frames of it
    return {"claims": B.printed_claims(claim_ids, CLAIMS_DIR, errata)}  # what B.ClaimsUnchanged compares next time


def task_slides():
    """Render each part's template into build/slides/<part>.tex (and its line map, <part>.tex.map).

    A part reruns when the text of a claim it prints moves (B.ClaimsUnchanged, checked after the
    claims task ran); an unknown claim id renders, so the error names the template line.  A loop over
    accelerators("lineup") reads the claims of each accelerator in the comparison, and count_word()
    counts them: the comparisons of hardware.toml are part of what a part depends on."""
    from doit.tools import config_changed
    from mlsysim_deck.workload import comparison_keys

    compared = comparison_keys(SPECS)
    for part in B.parts(SLIDES):
        part_dir = SLIDES / part["dir"]
        used = _claim_uses(part_dir)
        macros = sorted(str(p) for p in TEMPLATES.glob("*.j2") if p.name != "deck.tex.j2")
        out_tex, out_uses = BUILD / "slides" / f"{part['dir']}.tex", BUILD / "slides" / f"{part['dir']}.uses.json"
        errata = _prints_errata(part_dir)
        # the errata table also names the frames that show each claim: it follows the other parts' templates
        others = sorted(str(p) for p in SLIDES.glob("*/slides.tex.j2") if p.parent != part_dir) if errata else []
        yield {"name": part["dir"],
               "actions": [(_render_part, [str(part_dir), str(out_tex), str(out_uses), used, errata])],
               "file_dep": [str(part_dir / "slides.tex.j2"), str(part_dir / "part.toml"), str(EQUATIONS)]
               + macros + RENDER_SOURCES + [str(TOOLING / "equations.py")] + others,
               "uptodate": [B.ClaimsUnchanged(used, CLAIMS_DIR, CURRENT_SPECS, errata)]
               + ([config_changed(compared)] if _compares(part_dir) else []),
               "task_dep": ["claims"],
               "targets": [str(out_tex), str(out_uses), str(out_tex) + ".map"]
               + [str(BUILD / "slides" / f"{part['dir']}.{sheet}.tex{end}") for sheet in B.SHEETS for end in ("", ".map")]}


def task_listing():
    """Run each code listing; what it prints is what the slide shows.

    A listing depends on the claims it reads (its \\VAR{claim("id")} placeholders and `# prints:`
    declarations) and on the spec values it read when it last ran."""
    for src in sorted(SLIDES.glob("*/listings/*.py")):
        part = src.parent.parent.name
        out = BUILD / "listings" / part
        used = [str(CLAIMS_DIR / f"{c}.json") for c in B.listing_claims(src.read_text(encoding="utf-8"))]
        yield {"name": f"{part}/{src.stem}",
               "actions": [(B.run_listing, [src, out, ENGINE, SPECS, CLAIMS_DIR])],
               "file_dep": [str(src)] + ENGINE_SOURCES + used + [str(TOOLING / "highlight.py")],
               "task_dep": ["claims"],
               "uptodate": _spec_uptodate(),
               "targets": [str(out / f"{src.stem}{ext}") for ext in (".py", ".out", ".py.tex", ".out.tex")]}


def task_figure():
    """Regenerate each figure from its script in figures/.

    A figure is drawn after the listings and the parts (an order only, task_dep): the materials'
    typesetting waits for those and reads a figure only when its PDF is assembled, so after a spec
    edit the figures draw beside the typesetting instead of before it (about 0.8 s sooner)."""
    for script, out in zip(FIGURE_SCRIPTS, FIGURE_PDFS):
        sources = [*sorted(str(p) for p in FIGURES.glob("_*.py"))] + ENGINE_SOURCES + [WORKLOAD]
        yield {"name": script.stem,
               # (a figure drawn before from these sources and spec values comes from the user's cache)
               "actions": [(B.run_figure, [script, out, SPECS, sources])],
               "file_dep": [str(script), *sources, str(TOOLING / "lint.py")],
               "uptodate": _spec_uptodate(),
               "task_dep": ["listing", "slides"],
               "targets": [str(out)]}


def task_schedule():
    """The day's schedule from the notes: planned against slot per part (build/schedule.json)."""
    templates = [str(p) for p in sorted(SLIDES.glob("*/slides.tex.j2"))]
    return {"actions": [(B.write_schedule, [SLIDES, TEMPLATES, BUILD / "schedule.json"])],
            "file_dep": [str(TEMPLATES / "deck.tex.j2")] + [str(p) for p in sorted(SLIDES.glob("*/part.toml"))]
            + [str(SLIDES / "afternoon.toml")] + templates + RENDER_SOURCES + [str(TOOLING / "schedule.py")],
            "targets": [str(BUILD / "schedule.json")],
            "verbosity": 2}


def task_deck_tex():
    """One master file per material, build/<material>.tex: preamble, agenda, roadmaps, parts in order.

    The materials differ only in their master (Beamer mode, notes, which frames); all of them
    \\input the same rendered parts, so no claim, listing or figure is evaluated twice."""
    for material in B.TYPESET:  # (the handout has no master: it is the deck's pages, see task_typeset)
        yield {"name": material,
               "actions": [(B.render_deck, [SLIDES, TEMPLATES, BUILD / f"{material}.tex", material,
                                            BUILD / "schedule.json"])],
               "file_dep": [str(BUILD / "schedule.json"), str(TEMPLATES / "deck.tex.j2")]
               + [str(p) for p in sorted(SLIDES.glob("*/part.toml"))] + [str(SLIDES / "afternoon.toml")]
               + [str(p) for p in sorted(SLIDES.glob("*/slides.tex.j2"))] + RENDER_SOURCES
               + [str(TOOLING / "schedule.py")],
               "targets": [str(BUILD / f"{material}.tex"), str(BUILD / f"{material}.tex.map")]}


def task_typeset():
    """Typeset each material, build/tex/<material>.xdv, with XeLaTeX (one pass unless the auxiliary
    files change); they typeset side by side.  A figure is placed at the size its file has, and read
    only by the pdf task: so the pass runs while the figures a spec edit moves are redrawn, and it
    waits for the figures only where one is missing (a build from nothing).  The handout runs no
    pass: its pages are the deck's last page of each frame, chosen from build/tex/deck.xdv."""
    parts = B.parts(SLIDES)
    listings = []
    for src in sorted(SLIDES.glob("*/listings/*.py")):
        base = BUILD / "listings" / src.parent.parent.name / src.stem
        listings += [f"{base}.py.tex", f"{base}.out.tex"]  # the lines the slides set
    # a figure missing now (a build from nothing) is drawn before the pass; as an order (task_dep),
    # not a file_dep, so a figure redrawn later never makes the pass run again
    missing = [f"figure:{f.stem}" for f in FIGURE_PDFS if not f.exists()]
    templates = sorted(str(p) for p in TEMPLATES.iterdir() if p.suffix in (".sty", ".tex"))
    for material, source in B.SELECTED.items():
        # the handout: the deck's last page of each frame, chosen from its typeset pages (no pass)
        yield {"name": material,
               "doc": B.MATERIALS[material],
               "actions": [(B.typeset_material, [BUILD, TEMPLATES, material])],
               "file_dep": [str(BUILD / "tex" / f"{source}.xdv"), str(BUILD / "tex" / f"{source}.figures.json")],
               # after the deck's PDF, which typesets the deck again where a figure's size moved: its
               # pages are read here, so they may not be rewritten meanwhile
               "task_dep": [f"pdf:{source}"],
               "targets": [str(BUILD / "tex" / f"{material}.xdv"), str(BUILD / "tex" / f"{material}.figures.json")],
               "verbosity": 2}
    for material in B.TYPESET:
        doc = B.MATERIALS[material]
        if material in B.BESIDE:  # the notes: typeset from what the deck's pass wrote, set beside its pages
            source = BUILD / "tex" / B.BESIDE[material]
            reads = [f"{source}.xdv", f"{source}.figures.json", f"{source}.notes.tex"]
        else:  # the parts (a sheet reads its own view of each) and the listings' lines
            reads = [str(BUILD / "slides" / (f"{p['dir']}.{material}.tex" if material in B.SHEETS
                                              else f"{p['dir']}.tex")) for p in parts] + listings
        yield {"name": material,
               "doc": doc,
               "actions": [(B.typeset_material, [BUILD, TEMPLATES, material])],
               "file_dep": reads + [str(BUILD / f"{material}.tex")] + templates,
               # (reached through the parts anyway: named first, doit starts the claims, the head of the
               # longest chain, before the tasks it would otherwise pick in no set order)
               "task_dep": ["claims", *missing] + ([f"pdf:{B.BESIDE[material]}"] if material in B.BESIDE else []),
               "targets": [str(BUILD / "tex" / f"{material}.xdv"), str(BUILD / "tex" / f"{material}.figures.json")]
               + ([str(BUILD / "tex" / f"{material}.notes.tex")] if material in B.BESIDE.values() else []),
               "verbosity": 2}


def task_pdf():
    """Each material's PDF, build/<material>.pdf: its typeset pages with the figures as they are now
    (xdvipdfmx, a fifth of a second)."""
    for material, doc in B.MATERIALS.items():
        yield {"name": material,
               "doc": doc,
               "actions": [(B.assemble_material, [BUILD, TEMPLATES, material])],
               "file_dep": [str(BUILD / "tex" / f"{material}.xdv"), str(BUILD / "tex" / f"{material}.figures.json")]
               + [str(f) for f in FIGURE_PDFS],
               # as for typeset: the head of the longest chain starts first; and a material made of
               # another's pages waits for that one's PDF, which typesets it again if a figure moved
               "task_dep": ["claims"] + [f"pdf:{m}" for m in (B.SELECTED.get(material), B.BESIDE.get(material)) if m],
               "targets": [str(BUILD / f"{material}.pdf")],
               "verbosity": 2}


def task_claims_json():
    """build/claims.json: every claim with value, unit, text, spec inputs and the slides using it."""
    parts = B.parts(SLIDES)
    uses = [str(BUILD / "slides" / f"{p['dir']}.uses.json") for p in parts]
    return {"actions": [(B.write_claims_json, [CLAIMS_DIR, BUILD / "slides", BUILD / "claims.json"])],
            "file_dep": [str(CLAIMS_DIR / "index.json"), str(CLAIMS_DIR / "records.sha256")] + uses,
            "targets": [str(BUILD / "claims.json")]}


def task_ledger():
    """build/ledger.html: every claim with its value, formulas, spec inputs and sources, slides and pages."""
    return {"actions": [(B.write_ledger, [BUILD / "claims.json", BUILD / "deck.pdf", SPECS, BUILD / "ledger.html",
                                          EQUATIONS])],
            "file_dep": [str(BUILD / "claims.json"), str(BUILD / "deck.pdf"), str(EQUATIONS)] + SPEC_FILES
            + [str(TOOLING / n) for n in ("ledger.py", "pages.py")],
            # last, after every material: a material failing beside it removes deck.pdf (B.reported),
            # which doit would then miss when it records the ledger's inputs
            "task_dep": [f"pdf:{m}" for m in B.MATERIALS],
            "targets": [str(BUILD / "ledger.html")]}


def task_accept_claims():
    """Accept the build's claims: rewrite slides/claims.lock.json (review its diff, then commit it)."""
    from mlsysim_deck.lock import accept_from_build

    return {"actions": [(accept_from_build, [BUILD / "claims.json", SLIDES / "claims.lock.json",
                                             BUILD / "deck.pdf"])],
            "task_dep": ["claims_json", "pdf"],
            "uptodate": [False],
            "verbosity": 2}
