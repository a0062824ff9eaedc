"""A listing's lines as XeLaTeX sets them (mlsysim_deck.highlight): which words are keywords, strings
and comments, and how TeX's special characters and the spaces are written.  Each expected line is
written out by hand."""
from mlsysim_deck.highlight import code_tex, escaped, output_tex


def test_keywords_strings_and_comments_are_marked():
    code = 'for hw in ["H100", \'A100\']:  # two\n    print(hw)\n'
    assert code_tex(code) == (
        '\\mlsline{\\mlskw{for}\\ hw\\ \\mlskw{in}\\ [\\mlsstr{"H100"},\\ \\mlsstr{\'A100\'}]:\\ \\ \\mlscom{\\#\\ two}}\n'
        '\\mlsline{\\ \\ \\ \\ \\mlskw{print}(hw)}\n')


def test_a_builtin_is_a_keyword_but_an_attribute_of_that_name_is_not():
    assert code_tex("y = x.max + max(1, 2)") == "\\mlsline{y\\ =\\ x.max\\ +\\ \\mlskw{max}(1,\\ 2)}\n"
    # Python's keywords, True/None among them; exception classes are not marked
    assert code_tex("raise ValueError(None)") == "\\mlsline{\\mlskw{raise}\\ ValueError(\\mlskw{None})}\n"


def test_a_string_over_two_lines_is_marked_on_each():
    assert code_tex('s = """a\nb"""\n') == '\\mlsline{s\\ =\\ \\mlsstr{"""a}}\n\\mlsline{\\mlsstr{b"""}}\n'


def test_a_hash_inside_a_string_starts_no_comment():
    assert code_tex('t = "a#b"') == '\\mlsline{t\\ =\\ \\mlsstr{"a\\#b"}}\n'


def test_tex_specials_print_as_themselves_and_spaces_are_kept():
    assert escaped("a_b {c} $ & % ~ ^ \\ #") == ("a\\_b\\ \\{c\\}\\ \\$\\ \\&\\ \\%\\ \\textasciitilde{}\\ "
                                               "\\textasciicircum{}\\ \\textbackslash{}\\ \\#")
    assert escaped("≤ α →") == "≤\\ α\\ →"  # XeLaTeX sets characters above 255 itself


def test_output_is_set_as_printed_one_line_each_tabs_as_spaces():
    # "TP=1  PP=2" is ten characters: the tab (stops every 8) runs to column 16, six spaces
    assert output_tex("TP=1  PP=2\teff\n\nend\n") == (
        "\\mlsline{TP=1\\ \\ PP=2\\ \\ \\ \\ \\ \\ eff}\n\\mlsline{}\n\\mlsline{end}\n")
    # in code a tab stops every 4 columns
    assert code_tex("if x:\n\tpass") == "\\mlsline{\\mlskw{if}\\ x:}\n\\mlsline{\\ \\ \\ \\ \\mlskw{pass}}\n"
