"""The hard-coded-number lint, and the template rules that force numbers through claims.

Every escape found in review (issues 10 and 13) is typed into a template here, and the lint must
name the file and the line it is on.
"""
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from mlsysim_deck.lint import lint_figure_text, lint_text, lint_tree, printed_claims
from mlsysim_deck.render import RenderError, Rendered, analyse, environment, render_template


def test_templates_and_figures_are_clean():
    problems = lint_tree(ROOT / "slides", ROOT / "templates", ROOT / "figures")
    assert problems == [], "\n".join(problems)


def test_the_tree_lint_reads_templates_and_figures(tmp_path):
    """Not vacuous: the tree walk finds both kinds of file and reports each."""
    (tmp_path / "slides" / "x").mkdir(parents=True)
    (tmp_path / "figures").mkdir()
    (tmp_path / "slides" / "x" / "slides.tex.j2").write_text("a\n8 GPUs\n")
    (tmp_path / "figures" / "f.py").write_text("ax.set_title('8 GPUs')\n")
    problems = lint_tree(tmp_path / "slides", tmp_path / "figures")
    assert [p.split(": hard-coded")[0] for p in problems] == [
        f"{tmp_path / 'slides' / 'x' / 'slides.tex.j2'}:2", f"{tmp_path / 'figures' / 'f.py'}:1"]


FRAME = "\\begin{{frame}}{{X}}\n  \\small\n{text}\n\\end{{frame}}\n"

# Each escape reported in review, and the token the lint must name on line 3 of FRAME.
ESCAPES = [
    ("Meta trained it on 16384 GPUs.", "16384"),
    ("Llama-3 70B has 70 billion parameters.", "70"),
    ("It saw 15 trillion tokens.", "15"),
    ("a 128K context window", "128K"),
    ("about 4e25 FLOPs of training", "4e25"),
    ("the overlap saves -4.8 ms per step", "-4.8"),
    ("MFU near 50 percent", "50"),
    ("an H200 holds 141 gigabytes", "141"),
    ("the H100 has a ridge of 206", "206"),
    ("that is 143 percent of the reported figure", "143"),
    ("HBM of \\num{141}~GB", "141"),
    ("\\begin{frame}{Five Accelerators on One Roofline}", "Five"),
    ("the three walls of serving", "three"),
    ("\\note{Tell them a node has 8 GPUs.}", "8"),
    # the rules the lint always had
    ("takes 4.8 ms", "4.8"), ("3.35~TB/s of bandwidth", "3.35"), ("at 50\\% MFU", "50"),
    ("a 1.6$\\times$ speedup", "1.6"), ("16,384 GPUs", "16,384"), ("MFU of 0.003", "0.003"),
    ("16\\,GB of weights", "16"), ("$2.05 \\times 10^{12}$", "2.05"),
]


@pytest.mark.parametrize("text, token", ESCAPES)
def test_every_escape_is_caught_with_file_and_line(text, token):
    problems = lint_text(FRAME.format(text=text), "slides/01_roofline/slides.tex.j2")
    assert problems, f"{text!r} passed the lint"
    assert problems[0].startswith(f"slides/01_roofline/slides.tex.j2:3: hard-coded number")
    assert f" {token!r} in " in problems[0]
    assert "state it as a claim, \\VAR{claim(\"...\")}" in problems[0]


def test_each_number_on_a_line_is_reported():
    problems = lint_text("x\n16384 GPUs for 15 trillion tokens\n", "t.j2")
    assert [p.split(" in ")[0] for p in problems] == [
        "t.j2:2: hard-coded number '16384'", "t.j2:2: hard-coded number '15'",
        "t.j2:2: hard-coded number word 'trillion'"]


TIKZ = """\\begin{frame}{Hierarchical AllReduce}
  \\begin{tikzpicture}[scale=0.75, >=Stealth, gpu/.style={draw, minimum width=0.55cm}]
    \\draw[dashed, rounded corners=4pt] (\\x-0.5, -0.45) rectangle (\\x+2.9, 0.45);
    \\node[font=\\scriptsize] at (\\x+1.2, 0.7) {Node \\n};
    \\foreach \\i in {0,...,3} { \\node[gpu] at (\\x+\\i*0.8, 0) {G\\i}; }
  \\end{tikzpicture}
\\end{frame}
"""


def test_a_count_typed_into_a_tikz_drawing_is_caught():
    """Coordinates and style options are geometry; the loop bound (GPUs per node) is a count."""
    problems = lint_text(TIKZ, "slides/04_distributed/slides.tex.j2")
    assert [p.split(" in ")[0] for p in problems] == [
        "slides/04_distributed/slides.tex.j2:5: hard-coded number '0'",
        "slides/04_distributed/slides.tex.j2:5: hard-coded number '3'"]


def test_a_drawing_looped_over_a_claim_passes():
    drawing = TIKZ.replace("\\foreach \\i in {0,...,3} { \\node[gpu] at (\\x+\\i*0.8, 0) {G\\i}; }",
                           "\\BLOCK{for i in range(gpus_per_node)}\\node[gpu] at (\\x+\\VAR{i}*0.8, 0) {};\\BLOCK{endfor}")
    assert lint_text(drawing, "t.j2") == []


def test_numbers_typed_into_template_code_are_caught():
    problems = lint_text("a\n\\BLOCK{for i in range(8)}x\\BLOCK{endfor}\n", "t.j2")
    assert [p.split(" in \"")[0] for p in problems] == ["t.j2:2: hard-coded number in template code '8'"]
    # a speaker note's timing is the schedule, not physics; anything else in the same call is not
    assert lint_text("\\BLOCK{call note(minutes=2, flex=true)}x\\BLOCK{endcall}\n", "t.j2") == []
    problems = lint_text("\\BLOCK{call note(minutes=2, gpus=8)}x\\BLOCK{endcall}\n", "t.j2")
    assert [p.split(" in \"")[0] for p in problems] == ["t.j2:1: hard-coded number in template code '8'"]


@pytest.mark.parametrize("source, line, token", [
    ("ax.annotate('ResNet-50, B=256 (H100)', (x, y))\n", 1, "256"),
    ("ax.set_ylabel(\n    'Ring AllReduce of 1 GB (ms)')\n", 2, "1"),
    ("ax.plot(x, y, label=f'B={256}')\n", 1, "256"),
    ("fig.suptitle('Five accelerators')\n", 1, "Five"),
    ("ax.text(1.2, 0.4, 'a ridge of 206', fontsize=8)\n", 1, "206"),
])
def test_numbers_typed_into_figure_labels_are_caught(source, line, token):
    problems = lint_figure_text(source, "figures/x.py")
    assert problems and problems[0].startswith(f"figures/x.py:{line}: hard-coded number")
    assert f" {token!r} in " in problems[0]


def test_figure_labels_computed_from_values_pass():
    source = ("ax.set_ylabel(f'Ring AllReduce of {MESSAGE / 1e9:.0f} GB (ms)')\n"
              "ax.annotate(f'{resnet.name}, B={batch} (H100)', (x, y), xytext=(4, -10), fontsize=7)\n"
              "ax.loglog(ai, y, lw=1.8, label=hw.name)\n")
    assert lint_figure_text(source, "figures/x.py") == []


@pytest.mark.parametrize("text", ["Llama-3 8B on an H100", "Llama-3.1 405B", "FP16 and INT4", "2:4 sparsity",
                                  "Wall 13", "Part 2", "\\VAR{claim(\"x.y\")} ms", "\\begin{column}{0.48\\textwidth}",
                                  "Gaudi\\,3 vs MI300X vs B200", "3D parallelism", "ResNet-50 and TPU v5p",
                                  "\\vspace{0.3cm}\\\\[0.2cm]", "\\rowcolor{crimson!12}", "\\only<2->{x}"])
def test_names_and_layout_are_not_numbers(text):
    assert lint_text(text, "f") == []


# --- allowances -------------------------------------------------------------------------------


def test_an_allowance_names_the_number_and_says_why():
    ok = "Daly (2006) refines it.  % lint: allow 2006: year of a citation\n"
    assert lint_text(ok, "t.j2") == []
    ok_word = "one thing at a time  % lint: allow one: prose, not a count\n"
    assert lint_text(ok_word, "t.j2") == []


def test_an_allowance_covers_only_the_numbers_it_names():
    problems = lint_text("Daly (2006) on 16384 GPUs  % lint: allow 2006: year of a citation\n", "t.j2")
    assert len(problems) == 1 and problems[0].startswith("t.j2:1: hard-coded number '16384'")


@pytest.mark.parametrize("comment, message", [
    ("% lint: allow 2006", "t.j2:1: lint allowance for '2006' gives no reason"),
    ("% lint: allow 2006:", "t.j2:1: lint allowance for '2006' gives no reason"),
    ("% lint: allow", "t.j2:1: lint allowance names no number"),
    ("% lint: allow year of a citation", "t.j2:1: lint allowance names no number"),
])
def test_an_allowance_without_a_reason_is_an_error(comment, message):
    problems = lint_text(f"Daly (2006) refines it. {comment}\n", "t.j2")
    assert any(p.startswith(message) for p in problems), problems


def test_a_stale_allowance_is_an_error():
    problems = lint_text("Daly refines it.  % lint: allow 2006: year of a citation\n", "t.j2")
    assert problems == ["t.j2:1: lint allowance for '2006', but the line shows no such number: "
                        "remove it or correct it"]


def test_an_allowance_in_a_figure_script():
    ok = "ax.set_title('Daly (2006)')  # lint: allow 2006: year of a citation\n"
    assert lint_figure_text(ok, "figures/x.py") == []
    bad = "ax.set_title('Daly (2006)')  # lint: allow 2006\n"
    assert lint_figure_text(bad, "figures/x.py")[0].startswith("figures/x.py:1: lint allowance for '2006' gives no")


# --- suggestions ------------------------------------------------------------------------------


def _claims_json(tmp_path, claims):
    (tmp_path / "claims.json").write_text(json.dumps({"claims": [{"id": i, "text": t} for i, t in claims]}))
    return printed_claims(tmp_path)


def test_the_message_suggests_the_claim_that_prints_the_number(tmp_path):
    known = _claims_json(tmp_path, [("ridge.H100", "295 FLOP/B"), ("hw.H200.capacity", "141 GB"),
                                    ("hook.fleet_gpus", "16,384"), ("dist.node_gpus", "8"),
                                    ("ridge.A100", "153 FLOP/B")])
    ridge = lint_text("x\na ridge of 295~FLOP/B\n", "slides.tex.j2", known)
    assert ridge == ["slides.tex.j2:2: hard-coded number '295' in \"a ridge of 295~FLOP/B\": state it as a "
                     "claim, \\VAR{claim(\"...\")} (did you mean \\VAR{claim(\"ridge.H100\")}?); if it is not "
                     "physics, allow it on its line with a reason, \"% lint: allow 295: <why>\""]
    assert "did you mean \\VAR{claim(\"hook.fleet_gpus\")}?" in lint_text("16384 GPUs", "t", known)[0]
    assert "did you mean \\VAR{claim(\"hw.H200.capacity\")}?" in lint_text("\\num{141}~GB", "t", known)[0]
    assert "did you mean" not in lint_text("a ridge of 206", "t", known)[0]  # no claim prints 206
    # the printed text must agree beyond the digits: 141 GB is not "1410 MHz"
    assert "did you mean" not in lint_text("1410 MHz", "t", known)[0]


def test_printed_claims_read_the_per_claim_files_too(tmp_path):
    (tmp_path / "ridge.H100.json").write_text(json.dumps({"id": "ridge.H100", "text": "295 FLOP/B"}))
    (tmp_path / "index.json").write_text(json.dumps(["ridge.H100"]))
    assert printed_claims(tmp_path) == {"295flop/b": ["ridge.H100"]}


# --- the build runs it ------------------------------------------------------------------------


def test_hand_typed_number_in_a_slide_template_fails_the_build(tmp_path):
    """Adding "4.8 ms" to a real template: the render step refuses it, naming file and line."""
    slides = tmp_path / "slides"
    shutil.copytree(ROOT / "slides", slides)
    template = slides / "01_roofline" / "slides.tex.j2"
    lines = template.read_text().splitlines()
    lines.insert(3, "  Loading the weights takes 4.8 ms.")
    template.write_text("\n".join(lines) + "\n")
    problems = lint_tree(slides)
    assert len(problems) == 1
    assert problems[0].startswith(f"{template}:4: hard-coded number '4.8' in \"Loading the weights takes 4.8 ms.\": "
                                  f"state it as a claim, \\VAR{{claim(\"...\")}}")
    from mlsysim_deck.render import render_part

    with pytest.raises(RenderError, match=r"slides.tex.j2:4: hard-coded number '4.8'"):
        render_part(slides / "01_roofline", slides, ROOT / "templates", tmp_path / "claims",
                    tmp_path / "out.tex", tmp_path / "uses.json")
    assert not (tmp_path / "out.tex").exists()


def test_hand_typed_label_in_a_figure_fails_the_build(tmp_path):
    from mlsysim_deck.build import run_figure

    script = tmp_path / "figures" / "bad.py"
    script.parent.mkdir()
    script.write_text("def main(out_path):\n    import matplotlib\n    ax = None\n"
                      "    ax.set_title('Llama-3 8B, 16384 GPUs')\n")
    assert run_figure(script, tmp_path / "build" / "figures" / "bad.pdf", ROOT / "engine" / "mlsysim" / "specs") \
        is False
    assert not (tmp_path / "build" / "figures" / "bad.pdf").exists()


def test_the_build_reports_the_figure_line(tmp_path, capsys):
    from mlsysim_deck.build import run_figure

    script = tmp_path / "figures" / "bad.py"
    script.parent.mkdir()
    script.write_text("def main(out_path):\n    ax.set_title('16384 GPUs')\n")
    run_figure(script, tmp_path / "build" / "figures" / "bad.pdf", ROOT / "engine" / "mlsysim" / "specs")
    assert f"error: {script}:2: hard-coded number '16384'" in capsys.readouterr().err


# --- Jinja rules -----------------------------------------------------------------------------


def _render(tmp_path, source, **context):
    (tmp_path / "t.tex.j2").write_text(source)
    env = environment([tmp_path])
    env.globals["claim"] = lambda claim_id: Rendered(f"\\claim{{{claim_id}}}{{1}}")
    return render_template(env, tmp_path / "t.tex.j2", {"_template_name": "t.tex.j2", **context})


def test_raw_number_printed_by_a_template_is_an_error(tmp_path):
    with pytest.raises(RenderError, match=r"t.tex.j2:2: a raw number \(4.8\)"):
        _render(tmp_path, "line one\n\\VAR{4.8} ms\n")


def test_undefined_name_is_an_error_with_line(tmp_path):
    with pytest.raises(RenderError, match=r"t.tex.j2:3: 'bandwidth' is undefined"):
        _render(tmp_path, "a\nb\n\\VAR{bandwidth}\n")


def test_a_template_compiled_before_renders_and_fails_as_a_fresh_one(tmp_path, monkeypatch):
    # render.compiled_templates keeps compiled templates between runs: only a cache, so the second
    # render (from it) prints the same text, and a template error names the same line
    import jinja2

    from mlsysim_deck import render

    cache = tmp_path / "compiled"
    cache.mkdir()
    monkeypatch.setattr(render, "compiled_templates", lambda: jinja2.FileSystemBytecodeCache(str(cache)))
    good = "\\begin{frame}{T}\n\\VAR{name} \\VAR{claim(\"a.b\")}\n\\end{frame}\n"
    first = _render(tmp_path, good, name="R&D")
    assert len(list(cache.iterdir())) == 1  # compiled once and kept
    assert _render(tmp_path, good, name="R&D") == first == "\\begin{frame}{T}\nR\\&D \\claim{a.b}{1}\n\\end{frame}\n"
    kept = []
    for _ in range(2):  # a new source: compiled (in the same place), then read from the cache
        with pytest.raises(RenderError, match=r"t.tex.j2:3: 'bandwidth' is undefined"):
            _render(tmp_path, "a\nb\n\\VAR{bandwidth}\n")
        (compiled,) = cache.iterdir()
        kept.append((compiled.read_bytes(), compiled.stat().st_mtime_ns))
    assert kept[0] == kept[1]  # the second render compiled nothing


def test_compiled_templates_go_where_the_cache_folder_is_now(tmp_path, monkeypatch):
    # the cache folder is looked up on every call: a process that points MLSYSIM_CACHE elsewhere
    # (a test) never writes into the folder an earlier setting named, which may be gone
    from mlsysim_deck import render

    for name in ("one", "two", "one"):
        monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / name))
        assert Path(render.compiled_templates().directory).parent == tmp_path / name
    monkeypatch.setenv("MLSYSIM_CACHE", "off")
    assert render.compiled_templates() is None


def test_text_is_latex_escaped_and_claims_pass(tmp_path):
    out = _render(tmp_path, "\\VAR{name} \\VAR{claim(\"a.b\")}", name="R&D_50%")
    assert out == "R\\&D\\_50\\% \\claim{a.b}{1}"


def test_non_literal_claim_id_is_rejected(tmp_path):
    path = tmp_path / "t.tex.j2"
    path.write_text("x\n\\BLOCK{set k = 'ridge'}\n\\VAR{claim(k ~ '.H100')}\n")
    with pytest.raises(RenderError, match=r"t.tex.j2:3: claim\(\) needs a literal name"):
        analyse(environment([tmp_path]), path)


def test_jinja_delimiters_do_not_clash_with_latex_or_code(tmp_path):
    out = _render(tmp_path, "\\begin{frame}{A}{{x}} {% y %} kernel<<<1,1>>>() %% c\n\\end{frame}")
    assert out == "\\begin{frame}{A}{{x}} {% y %} kernel<<<1,1>>>() %% c\n\\end{frame}"


@pytest.mark.parametrize("text, token", [
    ("\\begin{tikzpicture}\n\\node[draw, label=8] at (0, 0) {};\n\\end{tikzpicture}", "8"),
    ("\\begin{tikzpicture}\n\\begin{axis}\n\\addplot coordinates {(1, 295) (2, 590)};\n\\end{axis}\n\\end{tikzpicture}",
     "1"),
    ("x\na third of the compute waits", "third"),
    ("x\n\\VAR{8|string} GPUs", "8"),
])
def test_more_escapes(text, token):
    problems = lint_text(text, "t.j2")
    assert problems and f" {token!r} in " in problems[0], problems


# --- with the real build: the messages an author gets -------------------------------------------


def test_the_build_suggests_the_real_claim_for_a_typed_number(tmp_path):
    """In a copy with build/ present: typing the H100's ridge point into Part 1 names the template
    line and the claim that prints exactly that text."""
    from conftest import BUILD, require_build
    from mlsysim_deck.render import render_part

    claims_dir = require_build(BUILD / "claims")
    ridge = json.loads((claims_dir / "ridge.H100.json").read_text())["text"]  # "295 FLOP/B": 989.4 / 3.35
    slides = tmp_path / "slides"
    shutil.copytree(ROOT / "slides", slides)
    template = slides / "01_roofline" / "slides.tex.j2"
    lines = template.read_text().splitlines()
    lines.insert(5, f"  The H100's ridge sits at {ridge}.")
    template.write_text("\n".join(lines) + "\n")
    with pytest.raises(RenderError) as err:
        render_part(slides / "01_roofline", slides, ROOT / "templates", claims_dir, tmp_path / "out.tex",
                    tmp_path / "uses.json")
    message = str(err.value)
    number = ridge.split()[0]
    assert message.startswith(f"{template}:6: hard-coded number '{number}' in \"The H100's ridge sits at {ridge}.\"")
    assert "did you mean \\VAR{claim(\"ridge.H100\")}?" in message
    assert "ridge.A100" not in message  # a different number: not suggested


def test_a_typed_count_word_suggests_the_count_claim():
    from conftest import BUILD, require_build

    known = printed_claims(require_build(BUILD / "claims.json").parent)
    problems = lint_text("\\begin{frame}{Five Accelerators on One Roofline}\n", "slides.tex.j2", known)
    assert problems[0].startswith("slides.tex.j2:1: hard-coded number word 'Five' in")
    assert "a count comes from what it counts" in problems[0]
    assert "\\VAR{count_word(\"lineup\")}" in problems[0]  # the line-up of hardware.toml, counted


def test_the_hierarchical_allreduce_drawing_follows_the_node_size(tmp_path):
    """The drawing loops over count("dist.node_gpus"): with the claim at 4 it draws G0..G3 in each of its
    two nodes; at the real value, 8 (the research cluster's gpus_per_node), G0..G7."""
    from conftest import BUILD, require_build
    from mlsysim_deck.render import render_part

    claims_dir = tmp_path / "claims"
    shutil.copytree(require_build(BUILD / "claims"), claims_dir)
    part = ROOT / "slides" / "04_distributed"

    def gpus_drawn():
        render_part(part, ROOT / "slides", ROOT / "templates", claims_dir, tmp_path / "out.tex", tmp_path / "u.json",
                    equations=require_build(BUILD / "equations.json"))
        tex = (tmp_path / "out.tex").read_text()
        return sorted(set(re.findall(r"\{G(\d+)\}", tex))), tex.count("{G0}")

    assert gpus_drawn() == ([str(i) for i in range(8)], 2)
    record = json.loads((claims_dir / "dist.node_gpus.json").read_text())
    (claims_dir / "dist.node_gpus.json").write_text(json.dumps(record | {"value": 4.0, "text": "4"}))
    assert gpus_drawn() == (["0", "1", "2", "3"], 2)


def test_count_refuses_a_claim_that_is_not_a_whole_number(tmp_path):
    from mlsysim_deck.render import PartRenderer

    (tmp_path / "x.json").write_text(json.dumps({"value": 2.5, "text": "2.5"}))
    with pytest.raises(RenderError, match=r"count\('x'\) needs a claim whose value is a whole number"):
        PartRenderer("p", tmp_path).count("x")


def test_the_command_line_reports_errors_and_fails(tmp_path):
    import subprocess
    import sys

    (tmp_path / "slides").mkdir()
    (tmp_path / "slides" / "s.tex.j2").write_text("x\nMeta trained it on 16384 GPUs.\n")
    proc = subprocess.run([sys.executable, "-m", "mlsysim_deck.lint", "slides"], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT / "engine")})
    assert proc.returncode == 1
    assert proc.stdout.startswith("error: slides/s.tex.j2:2: hard-coded number '16384'")
    clean = subprocess.run([sys.executable, "-m", "mlsysim_deck.lint"], cwd=ROOT, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout


def test_a_templates_numbers_are_remembered_for_its_text(tmp_path, monkeypatch):
    # The numbers a template types are kept in the user's cache under its text (a part re-rendered
    # because a claim moved finds them): the same text, the same problems without reading it again;
    # another text is read afresh.
    from mlsysim_deck import lint

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    read = []
    real = lint._template_findings
    monkeypatch.setattr(lint, "_template_findings", lambda text: read.append(text) or real(text))
    typed = "\\begin{frame}{F}\n  The weights take 4.8 ms to stream.\n\\end{frame}\n"
    first = lint_text(typed, "a.tex.j2")
    assert len(first) == 1 and "hard-coded number '4.8'" in first[0] and read == [typed]
    assert lint_text(typed, "b.tex.j2") == [first[0].replace("a.tex.j2", "b.tex.j2", 1)] and read == [typed]
    other = typed.replace("4.8 ms", "5.1 ms")
    assert "hard-coded number '5.1'" in lint_text(other, "a.tex.j2")[0] and read == [typed, other]
    assert list((tmp_path / "cache" / "lint").glob("*.json"))
