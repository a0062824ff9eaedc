"""The instructor's materials built from one source: reveals in the deck, the exercise sheet without
answers, the answer key with them, one handout page per frame, and a speaker note on every frame.

(tests/test_pdf.py checks, on each material, that every claim it should show is on its page.)
"""
import functools
import json
import re
import unicodedata
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, require_build
from test_pdf import normalise, read_pdf

MATERIALS = ["deck", "notes", "handout", "exercises", "solutions"]


@pytest.fixture(scope="module")
def uses_files():
    require_build(BUILD / "claims.json")
    files = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((BUILD / "slides").glob("*.uses.json"))]
    assert files, "no build/slides/*.uses.json"
    return files


@pytest.fixture(scope="module")
def pdfs():
    return {m: read_pdf(require_build(BUILD / f"{m}.pdf")) for m in MATERIALS}


def printed(text: str, page: str) -> bool:
    """Whether a claim's text stands on a page as a number of its own: not inside another number or
    name (16 in FP16, 4,096 token in 4,096 tokens); spaces optional (pdftotext drops thin spaces)."""
    return _standing(text).search(_nfkc(page)) is not None


@functools.lru_cache(maxsize=None)  # (the checks ask about the same texts and pages many times over)
def _standing(text: str) -> re.Pattern:
    want = unicodedata.normalize("NFKC", text).replace(" ", "")
    return re.compile(r"(?<![\w.,])" + r"\s*".join(re.escape(c) for c in want) + r"(?!\w)")


@functools.lru_cache(maxsize=512)
def _nfkc(page: str) -> str:
    return unicodedata.normalize("NFKC", page)


def numeric(use, kinds) -> bool:
    """A number or quantity claim with at least three characters to look for (names and verdicts
    such as "MI300X" or "Compute" also stand in the questions)."""
    return kinds[use["claim"]] in ("number", "quantity") and len(use["text"].replace(" ", "")) >= 3


@pytest.fixture(scope="module")
def kinds(claims_json):
    return {c["id"]: c["kind"] for c in claims_json["claims"]}


def _texts_of_non_answers(uses_files, frame_filter) -> set[str]:
    """Normalised texts of claims that are not answers, on the frames the filter keeps: the same
    text may stand on a question page for another reason (a bottleneck named in the question)."""
    return {normalise(u["text"]) for f in uses_files for u in f["uses"]
            if not u.get("answer") and not u.get("note") and frame_filter(u)}


# --- reveals -----------------------------------------------------------------------------------


def test_every_reveal_poses_the_question_before_the_answer(uses_files, pdfs, kinds):
    pages, dests = pdfs["deck"]
    reveals = [(f, r) for f in uses_files for r in f.get("reveals", [])]
    # Parts 0-4 have at least the hook, two predictions in Part 1, one in Part 2, two in Part 3, one in Part 4
    assert len(reveals) >= 7, reveals
    problems = []
    for f, reveal in reveals:
        first = dests.get(reveal["marker"])
        if first is None:
            problems.append(f"{reveal['frame']}: no question marker {reveal['marker']} in deck.pdf")
            continue
        answers = [u for u in f["uses"] if u.get("reveal") == reveal["marker"]]
        same_frame = _texts_of_non_answers([f], lambda u: reveal["frame"] in u["frames"])
        for use in answers:
            page = dests.get(use["target"])
            if page is None or page <= first:
                problems.append(f"{reveal['frame']}: answer {use['claim']} anchored on page "
                                f"{None if page is None else page + 1}, not after the question's page {first + 1}")
            elif numeric(use, kinds) and printed(use["text"], pages[first]) \
                    and normalise(use["text"]) not in same_frame:
                problems.append(f"{reveal['frame']}: answer {use['claim']} = {use['text']!r} is printed on the "
                                f"question's page {first + 1}")
    assert not problems, "\n".join(problems)


def test_vendor_prediction_shows_the_speedups_only_after_the_question(uses_files, pdfs):
    pages, dests = pdfs["deck"]
    roofline = next(f for f in uses_files if f["part"] == "01_roofline")
    reveal = next(r for r in roofline["reveals"] if r["label"] == "predict-vendors")
    first = dests[reveal["marker"]]
    speedups = [u for u in roofline["uses"] if u["claim"] in ("three.MI300X.speedup", "three.Gaudi3.speedup")
                and not u.get("note")]
    assert len(speedups) == 2
    question, later = normalise(pages[first]), normalise(pages[first + 1])
    assert "Whichisfastest" in question and "Whichisfastest" in later  # the same frame, next overlay
    for use in speedups:
        # 3.35 TB/s against 5.30 and 3.70 TB/s: 1.58x and 1.10x (memory-bound: the bandwidth ratio)
        assert use["answer"] and use["text"] in ("1.58×", "1.10×")
        assert normalise(use["text"]) not in question
        assert normalise(use["text"]) in later


# --- the exercise sheet and the answer key -----------------------------------------------------


def _sheet(use) -> bool:
    from mlsysim_deck.render import SHEET_KINDS

    return any(label.startswith(SHEET_KINDS) for label in use.get("labels", []))


def test_exercise_sheet_holds_no_answer(uses_files, pdfs, kinds):
    pages, dests = pdfs["exercises"]
    text = "\n".join(pages)
    answers = [u for f in uses_files for u in f["uses"] if u.get("answer")]
    assert len(answers) >= 40, "too few answer claims recorded: the answer markers are not read"
    allowed = _texts_of_non_answers(uses_files, _sheet)  # the same text asked in a question
    anchored = [u["claim"] for u in answers if u["target"] in dests]
    shown = sorted({f"{u['claim']} = {u['text']!r}" for u in answers
                    if numeric(u, kinds) and printed(u["text"], text) and normalise(u["text"]) not in allowed})
    assert not anchored, f"exercises.pdf typesets answer claims: {anchored}"
    assert not shown, "exercises.pdf prints answers:\n" + "\n".join(shown)


def test_exercise_sheet_holds_the_predictions_and_the_four_exercises(pdfs):
    text = normalise("".join(pdfs["exercises"][0]))
    for n in range(1, 5):
        assert f"Exercise{n}:" in text
    assert text.count("Predict:") >= 6  # two in Part 1, one in Part 2, two in Part 3, two in Part 4
    assert "Solution" not in text and "Setup:InstallandCheck" in text


def _listings_posed_as_code() -> list[Path]:
    """Listings whose code an exercise shows without output (\\mlslistingonly in a rendered part)."""
    found = []
    for tex in sorted((BUILD / "slides").glob("*.tex")):
        for m in re.finditer(r"\\mlslistingonly\{listings/([^/]+)/([^}]+)\.py\}", tex.read_text(encoding="utf-8")):
            found.append(BUILD / "listings" / m.group(1) / f"{m.group(2)}.out")
    return found


def test_exercise_output_is_in_the_answer_key_not_on_the_sheet(pdfs):
    posed = _listings_posed_as_code()
    assert len(posed) >= 4, posed  # the four exercises
    sheet = normalise("".join(pdfs["exercises"][0]))
    key = normalise("".join(pdfs["solutions"][0]))
    for out in posed:
        lines = [ln for ln in out.read_text(encoding="utf-8").splitlines() if len(ln.strip()) > 8]
        assert lines, f"{out} printed nothing"
        for line in lines:
            assert normalise(line) not in sheet, f"exercises.pdf shows the output of {out.name}: {line!r}"
            assert normalise(line) in key, f"solutions.pdf lacks the output of {out.name}: {line!r}"


def test_answer_key_holds_every_answer_of_the_sheet(uses_files, pdfs):
    """Every answer claim of a sheet or solution frame is typeset in solutions.pdf."""
    from mlsysim_deck.render import SOLUTION_KIND

    pages, dests = pdfs["solutions"]
    keyed = [u for f in uses_files for u in f["uses"] if u.get("answer") and not u.get("note")
             and (_sheet(u) or any(lb.startswith(SOLUTION_KIND) for lb in u.get("labels", [])))]
    assert len(keyed) >= 40
    assert not [u["claim"] for u in keyed if u["target"] not in dests]


# --- handout and notes -------------------------------------------------------------------------


def test_handout_is_one_page_per_frame(pdfs, uses_files):
    from pypdf import PdfReader

    deck_labels = PdfReader(str(BUILD / "deck.pdf")).page_labels   # the frame number of each page
    handout_labels = PdfReader(str(BUILD / "handout.pdf")).page_labels
    assert len(deck_labels) > len(set(deck_labels)), "deck.pdf has no overlays"
    assert handout_labels == sorted(set(deck_labels), key=int)
    # the handout shows every frame in its final state: each reveal's answers are on it
    # (tests/test_handout.py: each page is the deck's last page of its frame)
    pages, dests = pdfs["handout"]
    answers = [u["target"] for f in uses_files for u in f["uses"] if u.get("answer") and not u.get("note")]
    assert len(answers) >= 40
    assert not [a for a in answers if a not in dests]


def test_notes_pdf_puts_each_note_beside_its_slide(pdfs):
    from pypdf import PdfReader

    from mlsysim_deck.render import environment, notes

    deck = PdfReader(str(BUILD / "deck.pdf")).pages[0].mediabox
    note_pages = PdfReader(str(BUILD / "notes.pdf")).pages[0].mediabox
    assert float(note_pages.width) == pytest.approx(2 * float(deck.width), rel=1e-3)  # slide | notes
    env = environment([ROOT / "slides", ROOT / "templates"])
    written = sum(len(notes(env, t)) for t in sorted((ROOT / "slides").glob("*/slides.tex.j2")))
    assert written >= 20
    pages, _ = pdfs["notes"]
    headed = [p for p in pages if re.search(r"\[\d+ min\]\s*(CORE|FLEX)", p)]
    # each note is on every overlay of its frame, so at least one page per note written
    assert len(headed) >= written, f"notes.pdf shows {len(headed)} timed notes for {written} written"


def test_every_frame_has_a_note():
    from mlsysim_deck.render import environment, frame_labels, frame_titles, notes

    slides, templates = ROOT / "slides", ROOT / "templates"
    env = environment([slides, templates])
    without, counted = [], 0
    for template in sorted(slides.glob("*/slides.tex.j2")) + [templates / "deck.tex.j2"]:
        source = template.read_text(encoding="utf-8")
        titles = frame_titles(source)
        noted = {n.line for n in notes(env, template)}
        labels = dict(frame_labels(source))
        counted += len(titles)
        for i, (start, title) in enumerate(titles):
            if labels.get(start) == "sheet-title":
                continue  # the exercise sheet's and answer key's own title page, never shown in the talk
            end = titles[i + 1][0] if i + 1 < len(titles) else float("inf")
            if not any(start <= line < end for line in noted):
                without.append(f"{template.relative_to(ROOT)}:{start}: {title or '(untitled frame)'}")
    assert counted >= 60
    assert not without, f"{len(without)} of {counted} frames have no speaker note:\n" + "\n".join(without)


def test_every_material_opens_with_its_title_page(pdfs):
    """Page one is the title page, with the authors and their institution (deck.tex.j2), never a
    part's divider: the first part has no divider, since the title page opens it."""
    master = (ROOT / "templates" / "deck.tex.j2").read_text(encoding="utf-8")
    author = re.search(r"\\author\{([^}]*)\}", master).group(1)
    institute = re.search(r"\\institute\{([^}]*)\}", master).group(1)
    assert author and institute
    for material, (pages, _) in pdfs.items():
        first = normalise(pages[0])
        assert normalise("First-Principles ML") in first, f"{material}.pdf page 1 is not the title page:\n{pages[0]}"
        assert normalise(author) in first and normalise(institute) in first, material
        assert not re.search(r"\bPART\b", pages[0]), f"{material}.pdf opens with a part's divider"


@pytest.mark.parametrize("sheet", ["exercises", "solutions"])
def test_a_sheet_numbers_its_frames_as_the_deck_does(sheet):
    # "Turn to frame 17" means the same frame in the room and on the sheet: the sheet's own title
    # page takes no number, and each frame carries the deck's "n / total".
    import re
    import subprocess

    def footers(pdf):
        pages = subprocess.run(["pdftotext", "-layout", str(require_build(BUILD / f"{pdf}.pdf")), "-"],
                               capture_output=True, text=True, check=True).stdout.split("\f")
        return [(page.strip().splitlines()[0].strip() if page.strip() else "",
                 (re.findall(r"(\d+) / (\d+)\s*$", page.rstrip()) or [None])[-1]) for page in pages]

    deck = {title: number for title, number in footers("deck") if number}
    compared = 0
    for title, number in footers(sheet)[1:]:
        if number and title in deck:
            assert number == deck[title], (sheet, title, number, deck[title])
            compared += 1
    assert compared >= 5


def test_a_sheet_view_keeps_its_frames_and_the_numbers_and_lines_of_the_others():
    # A sheet typesets its own view of each part: the frames it keeps as they are, every other frame
    # as the frame number it takes (so the footers read as the deck's) on as many lines (so a LaTeX
    # error's line still maps to the template).
    from mlsysim_deck.render import sheet_view

    part = "\n".join([
        r"\section{x}",                                     # 1: outside any frame: kept
        r"\begin{frame}[t,label=predict-a]{Predict}",       # 2-4: kept (a prediction)
        r"  Which is faster?",
        r"\end{frame}",
        r"\begin{frame}[t]{The answer}",                    # 5-8: left out, numbered
        r"  It is \claim{x:y:1}{4.8 ms}.",
        r"  \pause More.",
        r"\end{frame}",
        r"\begin{frame}[plain,noframenumbering]{Divider}",  # 9-10: left out, takes no number
        r"\end{frame}",
        r"\begin{frame}[label=solution-a]{Solution}",       # 11-12: left out of the exercise sheet
        r"\end{frame}",
        r"\begin{frame}[t,",                                # 13-15: options over two lines: kept
        r"  label=predict-b]{Predict again}",
        r"\end{frame}",
    ])
    view = sheet_view(part, ("predict-",)).split("\n")
    assert len(view) == 15
    assert view[12:] == part.split("\n")[12:]
    assert view[:4] == part.split("\n")[:4]
    assert view[4].startswith(r"\stepcounter{framenumber}") and view[5:8] == ["", "", ""]
    assert view[8:10] == ["", ""]
    assert view[10].startswith(r"\stepcounter{framenumber}") and view[11] == ""
    # the answer key keeps the solution too
    assert sheet_view(part, ("predict-", "solution-")).split("\n")[10:12] == part.split("\n")[10:12]
