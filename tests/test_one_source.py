"""One source for every value on a page: change an assumption and a spec value in a copy of the
repository, rebuild, and every number a listing prints or a figure annotates follows the claims.

The copy is built once as it is, then the serving context goes from 4,096 to 8,192 tokens
(specs/assumptions.toml) and the H100's NVLink from 900 to 1,000 GB/s (specs/hardware.toml), and
it is rebuilt incrementally.  The expected values are worked by hand in the comments.
"""
import re

import pytest

from workflow_support import copy_repo, doit, set_spec_value

TASKS = ["claims", "slides", "listing", "figure", "claims_json"]  # no LaTeX: the figures are read as PDFs


@pytest.fixture(scope="module")
def deck(module_folder):
    repo = copy_repo(module_folder / "repo", built=True)
    first = doit(repo, *TASKS)
    assert first.returncode == 0, first.stdout + first.stderr
    specs = repo / "engine" / "mlsysim" / "specs"
    set_spec_value(specs, "assumptions", "serving", "context_tokens",
                   '{ value = 8192, unit = "token", source = "what-if: an 8K context" }')
    set_spec_value(specs, "hardware", "H100", "scaleup_bandwidth_total",
                   '{ value = 1000, unit = "GB/s", source = "what-if: a faster NVLink" }')
    second = doit(repo, *TASKS)
    assert second.returncode == 0, second.stdout + second.stderr
    return repo


def claims(repo):
    import json

    data = json.loads((repo / "build" / "claims.json").read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["claims"]}


def out(repo, part, name):
    return (repo / "build" / "listings" / part / f"{name}.out").read_text(encoding="utf-8")


def shown(repo, part, name):
    return (repo / "build" / "listings" / part / f"{name}.py").read_text(encoding="utf-8")


def frames_showing(repo, part, needle):
    """Frame titles of slides/<part>/slides.tex.j2 whose body contains `needle`."""
    from mlsysim_deck.render import frame_at, frame_titles

    source = (repo / "slides" / part / "slides.tex.j2").read_text(encoding="utf-8")
    titles = frame_titles(source)
    return {frame_at(titles, n) for n, line in enumerate(source.splitlines(), 1) if needle in line}


def frames_of_claim(record):
    return {f for use in record.get("slides", []) for f in use["frames"]}


# --- listings --------------------------------------------------------------------------------------


def test_listings_show_the_context_they_ran_with(deck):
    """Every listing that reads the serving context shows 8192 where it showed 4096."""
    using = [src for src in sorted((deck / "slides").glob("*/listings/*.py"))
             if '\\VAR{claim("context")}' in src.read_text(encoding="utf-8")]
    assert len(using) >= 8, using  # two_phase, capacity, capacity_slo, paged, speculative(_draft), ...
    for src in using:
        code = shown(deck, src.parent.parent.name, src.stem)
        assert "8192" in code and "4096" not in code and "\\VAR" not in code, (src, code)


def test_two_phase_prints_what_its_frame_says(deck):
    text = out(deck, "02_serving", "two_phase")
    c = claims(deck)
    # TTFT, prefill of 8,192 tokens: 2 x 7,504,924,672 matmul parameters x 8,192 = 1.229607e14 FLOP, plus
    # causal attention 2 x 32 layers x 4,096 x 8,192 x 8,193 = 1.759431e13 FLOP; 1.405550e14 FLOP at
    # 0.5 x 989.4e12 FLOP/s = 284.12 ms (at 4,096 tokens it was 133.17 ms)
    ttft = float(re.search(r"TTFT: ([\d.]+) ms", text).group(1))
    assert ttft == pytest.approx(284.12, abs=0.5)  # printed for people: three significant digits, "284"
    assert c["serving.ttft"]["text"] == "284 ms"
    # ITL: the 15,009,849,344 B of streamed weights plus the KV cache, 2 x 32 x 8 x 128 x 2 B x 8,192
    # = 1,073,741,824 B, at 3.35e12 B/s = 16,083,591,168 / 3.35e12 = 4.8011 ms
    itl = float(re.search(r"ITL: ([\d.]+) ms", text).group(1))
    assert itl == pytest.approx(4.8011, abs=0.005)  # printed "4.80"
    assert c["serving.itl"]["text"] == "4.80 ms"
    assert "KV cache/req: 1.07 GB" in text and c["kv.per_request"]["text"] == "1.074 GB"
    # and these are the claims of the frame that shows the listing
    frame = frames_showing(deck, "02_serving", 'listing("two_phase")')
    for cid in ("serving.ttft", "serving.itl", "kv.per_request"):
        assert frame & frames_of_claim(c[cid]), cid


def test_the_spec_change_reaches_the_listing(deck):
    # Llama-3 8B's BF16 gradients, 8,030,261,248 x 2 = 16,060,522,496 B, in a ring of 8 at 500 GB/s one
    # way: 2 x 7/8 x 16.0605e9 / 500e9 = 56.212 ms, plus 14 x 0.47 us = 0.0066 ms -> 56.2 ms (was 62.5)
    assert out(deck, "04_distributed", "allreduce_per_direction") == "16.1 GB, NVLink one way: 56.2 ms\n"
    assert claims(deck)["dist.ar16.per_dir"]["text"] == "56.2 ms"


def _declared(src):
    """(pattern, claim ids) of each `# prints:` line of a listing."""
    found = []
    for line in src.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*# prints: (.*)$", line)
        if m:
            found.append(m.group(1).rstrip())
    return found


def _agrees(printed, record):
    # the claim's value (times its scale: 100 for a percentage) rounded to the digits printed
    digits = len(printed.split(".")[1]) if "." in printed else 0
    value = record["value"] * record.get("scale", 1.0)
    return round(value, digits) == pytest.approx(float(printed.replace(",", "")), abs=0.51 * 10 ** -digits)


def _regex(pattern, c):
    """The pattern as a regex: a text claim as its text, a number claim as a group; a run of spaces
    matches any run (the listings align their columns)."""
    regex, numbered = "", []
    for i, piece in enumerate(re.split(r"\{([^{}]*)\}", pattern)):
        if i % 2 == 0:
            regex += "".join(r"\s+" if w.isspace() else re.escape(w) for w in re.split(r"(\s+)", piece) if w)
        elif piece and c[piece]["kind"] == "text":
            regex += re.escape(c[piece]["text"])
        else:
            regex += r"([-\d,.]+)"
            numbered.append(piece)
    return regex, numbered


def test_every_declared_output_line_agrees_with_its_claims(deck):
    """Re-checked here from build/: each declared line is printed, and its numbers are the claims'."""
    c = claims(deck)
    checked = 0
    for src in sorted((deck / "slides").glob("*/listings/*.py")):
        lines = [ln.strip() for ln in out(deck, src.parent.parent.name, src.stem).splitlines()]
        for pattern in _declared(src):
            regex, numbered = _regex(pattern, c)
            hits = [h for h in (re.fullmatch(regex, ln) for ln in lines) if h]
            assert hits, (src.name, pattern, lines)
            assert any(all(not cid or _agrees(n, c[cid]) for cid, n in zip(numbered, h.groups())) for h in hits), \
                (src.name, pattern, [h.group(0) for h in hits], [c[cid]["text"] for cid in numbered if cid])
            checked += 1
    assert checked >= 25, checked


# --- figures ---------------------------------------------------------------------------------------

# (figure, what it writes, the claim that number is, in the claim's text, whether the frame that
# shows the figure shows the claim too)
ANNOTATIONS = [
    ("roofline", r"([\d,]+)-token context", "context", True),
    ("serving_hw", r"([\d,]+)-token prompt", "context", True),
    ("batch_sweep", r"context ([\d,]+) tokens", "context", True),
    ("precision", r"([\d,]+) tokens", "context", False),  # its frame leaves the context to the figure
    ("allreduce_scaling", r"NVLink \((\d+) GB/s each way\)", "dist.nvlink.dir", True),
    ("allreduce_scaling", r"AllReduce of (\d+) GB", "dist.ar.message", True),
    ("scaling_efficiency", r"global batch ([\d,]+) x", "dist.scale.batch", True),
    ("scaling_efficiency", r"x ([\d,]+) tokens", "dist.scale.seq", True),
]


def figure_text(repo, name):
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(str(repo / "build" / "figures" / f"{name}.pdf")).pages)
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("figure, pattern, claim_id, on_frame", ANNOTATIONS)
def test_figure_annotations_agree_with_the_claims_on_their_frame(deck, figure, pattern, claim_id, on_frame):
    c = claims(deck)[claim_id]
    found = re.findall(pattern, figure_text(deck, figure))
    assert found, (figure, pattern, figure_text(deck, figure)[:400])
    number = c["text"].split()[0]  # "8,192", "500 GB/s" -> "500"
    assert number in found, (figure, found, c["text"])
    assert c["slides"], f"{claim_id} is on no slide"
    if on_frame:
        parts = [p.name for p in (deck / "slides").iterdir() if (p / "slides.tex.j2").exists()]
        frames = set().union(*(frames_showing(deck, p, f"figures/{figure}.pdf") for p in parts))
        assert frames & frames_of_claim(c), (figure, claim_id, frames)


def test_figure_values_moved_with_the_specs(deck):
    # 8,192 tokens (was 4,096) and NVLink 1,000 / 2 = 500 GB/s each way (was 450)
    assert "8,192-token prompt" in figure_text(deck, "serving_hw")
    assert "NVLink (500 GB/s each way)" in figure_text(deck, "allreduce_scaling")
    assert "4,096" not in figure_text(deck, "roofline") + figure_text(deck, "precision")


# --- the build's own check of a listing's output (no build needed) -----------------------------------

RECORDS = {"serving.ttft": {"id": "serving.ttft", "kind": "quantity", "value": 133.17053399222152, "unit": "ms",
                            "text": "133 ms", "scale": 1.0},
           "context": {"id": "context", "kind": "number", "value": 4096.0, "unit": "", "text": "4,096",
                       "scale": 1.0}}
LISTING = 'import x\n# prints: TTFT: {serving.ttft} ms\n# --- slide ---\nr = solve(seq_len=\\VAR{claim("context")})\n'


def test_a_listing_is_filled_in_and_its_declarations_hidden():
    from mlsysim_deck.build import fill_listing, listing_claims, split_listing

    filled = fill_listing(LISTING, RECORDS.__getitem__)
    assert "r = solve(seq_len=4096)" in filled
    assert split_listing(filled)[1] == "r = solve(seq_len=4096)\n"
    assert listing_claims(LISTING) == ["context", "serving.ttft"]


def test_an_output_line_that_disagrees_with_its_claim_fails_naming_the_listing_line(tmp_path):
    from mlsysim_deck.build import BuildError, check_prints

    src = tmp_path / "two_phase.py"
    check_prints(src, LISTING, "TTFT: 133.17053 ms\n", RECORDS.__getitem__)  # the value to the 5 decimals printed: agrees
    with pytest.raises(BuildError, match=r"(?s)two_phase\.py:2: the listing's output disagrees .*serving\.ttft is 133 ms"):
        check_prints(src, LISTING, "TTFT: 284.12 ms\n", RECORDS.__getitem__)
    with pytest.raises(BuildError, match=r"two_phase\.py:2: no printed line has the form 'TTFT: \{serving\.ttft\} ms'"):
        check_prints(src, LISTING, "ITL: 4.64 ms\n", RECORDS.__getitem__)
