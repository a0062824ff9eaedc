"""The hard-coded-number lint, and the template rules that force numbers through claims."""
import shutil

import pytest

from conftest import ROOT
from mlsysim_deck.lint import lint_text, lint_tree
from mlsysim_deck.render import RenderError, Rendered, analyse, environment, render_template


def test_templates_are_clean():
    assert lint_tree(ROOT / "slides", ROOT / "templates") == []


@pytest.mark.parametrize("text", ["takes 4.8 ms", "3.35~TB/s of bandwidth", "at 50\\% MFU", "a 1.6$\\times$ speedup",
                                  "16,384 GPUs", "MFU of 0.003", "16\\,GB of weights", "$2.05 \\times 10^{12}$"])
def test_physics_numbers_are_caught(text):
    problems = lint_text(f"\\begin{{frame}}{{X}}\n{text}\n\\end{{frame}}\n", "slide.tex.j2")
    assert problems and problems[0].startswith("slide.tex.j2:2: hard-coded")


@pytest.mark.parametrize("text", ["Llama-3 8B on an H100", "Llama-3.1 405B", "FP16 and INT4", "2:4 sparsity",
                                  "Wall 13", "Part 2", "\\VAR{claim(\"x.y\")} ms", "\\begin{column}{0.48\\textwidth}",
                                  "Gaudi\\,3 vs MI300X vs B200", "3D parallelism"])
def test_names_with_digits_are_not_numbers(text):
    assert lint_text(text, "f") == []


def test_hand_typed_number_in_a_slide_template_fails_the_build(tmp_path):
    """Adding "4.8 ms" to a real template: the render step refuses it, naming file and line."""
    slides = tmp_path / "slides"
    shutil.copytree(ROOT / "slides", slides)
    template = slides / "01_roofline" / "slides.tex.j2"
    lines = template.read_text().splitlines()
    lines.insert(3, "  Loading the weights takes 4.8 ms.")
    template.write_text("\n".join(lines) + "\n")
    problems = lint_tree(slides)
    assert problems == [f"{template}:4: hard-coded number with a unit '4.8 ms': state it as a claim, "
                        f"\\VAR{{claim(\"...\")}}"]
    from mlsysim_deck.render import render_part

    with pytest.raises(RenderError, match=r"slides.tex.j2:4: hard-coded number with a unit '4.8 ms'"):
        render_part(slides / "01_roofline", slides, ROOT / "templates", tmp_path / "claims",
                    tmp_path / "out.tex", tmp_path / "uses.json")
    assert not (tmp_path / "out.tex").exists()


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
