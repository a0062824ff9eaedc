"""The schedule from the speaker notes: each part's plan against its slot, and the agenda that prints it."""
import json
import shutil

import pytest

from conftest import BUILD, ROOT, require_build


def write_part(root, name, number, title, schedule, frames):
    """A part whose template has one frame per (title, minutes, flex) entry."""
    part = root / "slides" / name
    part.mkdir(parents=True)
    (part / "part.toml").write_text(f'number = {number}\ntitle = "{title}"\n\n[schedule]\n{schedule}\n')
    body = []
    for frame_title, minutes, flex in frames:
        body += [f"\\begin{{frame}}{{{frame_title}}}", "  text"]
        if minutes is not None:
            body += [f"\\BLOCK{{call note(minutes={minutes}, flex={'true' if flex else 'false'})}}",
                     "Prompt and expected answer.", "\\BLOCK{endcall}"]
        body.append("\\end{frame}")
    (part / "slides.tex.j2").write_text("\n".join(body) + "\n")


@pytest.fixture
def toy(tmp_path):
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    write_part(tmp_path, "00_a", 0, "Opening", 'start = "9:00"\nslot = 10\nhands_on = 2',
               [("One", 3, False), ("Two", 2, True)])
    write_part(tmp_path, "01_b", 1, "Afternoon", "slot = 20\nbreak = 5\n"
               'after = { minutes = 15, what = "Coffee" }', [("Three", 4, False), ("Four", None, False)])
    write_part(tmp_path, "02_c", 2, "Last", "slot = 5", [("Five", 6, False)])
    return tmp_path


def test_plan_adds_notes_roadmap_hands_on_and_break(toy):
    from mlsysim_deck.schedule import clock, plan

    a, b, c = plan(toy / "slides", toy / "templates")
    # Part 0: notes 3 + 2, no roadmap before the first part, hands-on 2 -> 7 of 10, 9:00-9:10
    assert (a.notes, a.roadmap, a.planned, a.slot, a.fits) == (5, 0, 7, 10, True)
    assert (clock(a.start), clock(a.end)) == ("9:00", "9:10")
    # Part 1: notes 4, the roadmap's note 1 (deck.tex.j2), break 5 -> 10 of 20, starts when Part 0
    # ends, 9:10-9:30; one of its two frames has no note
    assert (b.notes, b.roadmap, b.pause, b.planned, b.fits) == (4, 1, 5, 10, True)
    assert (clock(b.start), clock(b.end), b.frames, b.noted) == ("9:10", "9:30", 2, 1)
    # Part 2 starts after the coffee break, 9:30 + 15 = 9:45; notes 6 + roadmap 1 = 7 > slot 5
    assert (clock(c.start), c.planned, c.fits) == ("9:45", 7, False)


def test_report_names_the_overrun(toy):
    from mlsysim_deck.schedule import plan, report

    text = report(plan(toy / "slides", toy / "templates"))
    assert "OVER by 2 min" in text and "1 of 2 frames without a note" in text


def test_clock_reads_like_an_agenda():
    from mlsysim_deck.schedule import clock

    # 13:00 is printed 1:00, as the agenda of a one-day tutorial does; 12:05 stays 12:05
    assert [clock(m) for m in (9 * 60, 12 * 60 + 5, 13 * 60, 14 * 60 + 15)] == ["9:00", "12:05", "1:00", "2:15"]


@pytest.mark.parametrize("note, wrong", [("minutes=\"3\"", "minutes"), ("minutes=0", "minutes"),
                                         ("minutes=n", "minutes"), ("minutes=2, flex=1", "flex")])
def test_a_note_the_schedule_cannot_read_is_an_error(tmp_path, note, wrong):
    from mlsysim_deck.render import RenderError, environment, notes

    template = tmp_path / "slides.tex.j2"
    template.write_text("\\begin{frame}{A}\n\\BLOCK{call note(" + note + ")}\nx\n\\BLOCK{endcall}\n\\end{frame}\n")
    with pytest.raises(RenderError, match=r"slides\.tex\.j2:2: .*minutes a literal"):
        notes(environment([tmp_path]), template)


def test_a_part_without_a_schedule_is_an_error(toy):
    from mlsysim_deck.schedule import ScheduleError, plan

    toml = toy / "slides" / "01_b" / "part.toml"
    toml.write_text('number = 1\ntitle = "Afternoon"\n')
    with pytest.raises(ScheduleError, match=r"01_b/part\.toml: no \[schedule\] table"):
        plan(toy / "slides", toy / "templates")


def test_no_part_plans_more_than_its_slot():
    from mlsysim_deck.schedule import plan, report

    plans = plan(ROOT / "slides", ROOT / "templates")
    assert len(plans) == 5 and all(p.planned > 0 for p in plans)
    over = [p for p in plans if not p.fits]
    assert not over, "a part plans more than its slot:\n" + report(plans)


def test_slots_follow_each_other_through_the_day():
    from mlsysim_deck.schedule import plan

    plans = plan(ROOT / "slides", ROOT / "templates")
    for before, after in zip(plans, plans[1:]):
        assert after.start == before.end + before.after


def test_agenda_and_roadmaps_print_the_schedule(claims_json):
    """The times and planned minutes on the agenda are build/schedule.json's, on every roadmap too."""
    from test_pdf import normalise, read_pdf

    schedule = json.loads(require_build(BUILD / "schedule.json").read_text(encoding="utf-8"))["parts"]
    pages, _ = read_pdf(require_build(BUILD / "deck.pdf"), dests=False)
    agenda = [p for p in pages if "The Day at a Glance" in p]
    roadmaps = [p for p in pages if "Roadmap: You Are Here" in p]
    assert len(agenda) == 1 and len(roadmaps) == len(schedule) - 1
    for page in agenda + roadmaps:
        for part in schedule:
            row = normalise(f"{part['time']} Part {part['number']}: {part['title']} {part['planned']} min")
            assert row in normalise(page), f"{part['time']} / {part['planned']} min not on:\n{page}"


def test_later_parts_follow_the_last_built_part(toy):
    """slides/afternoon.toml: parts with a slot and no slides, on the clock after the built ones."""
    from mlsysim_deck.schedule import ScheduleError, clock, later_parts, plan

    (toy / "slides" / "02_c" / "part.toml").write_text(
        'number = 2\ntitle = "Last"\n\n[schedule]\nslot = 5\nafter = { minutes = 10, what = "Coffee" }\n')
    (toy / "slides" / "afternoon.toml").write_text(
        '[[part]]\nnumber = 3\ntitle = "Later"\nslot = 30\n\n[[part]]\nnumber = 4\ntitle = "Last of all"\nslot = 15\n')
    plans = plan(toy / "slides", toy / "templates")
    later = later_parts(toy / "slides", plans)
    # Part 2 runs 9:45-9:50 (see above), then 10 minutes of coffee: Part 3 10:00-10:30, Part 4 10:30-10:45
    assert [(p.number, clock(p.start), clock(p.end)) for p in later] == [(3, "10:00", "10:30"), (4, "10:30", "10:45")]
    (toy / "slides" / "afternoon.toml").write_text('[[part]]\nnumber = 2\ntitle = "Twice"\nslot = 30\n')
    with pytest.raises(ScheduleError, match=r"afternoon\.toml: Part 2 is numbered twice"):
        later_parts(toy / "slides", plans)


def test_the_whole_day_is_on_the_schedule():
    """The built parts, then the afternoon's after a break, each after the one before."""
    from mlsysim_deck.schedule import later_parts, plan

    plans = plan(ROOT / "slides", ROOT / "templates")
    later = later_parts(ROOT / "slides", plans)
    assert later and later[0].start == plans[-1].end + plans[-1].after > plans[-1].end  # a break first
    for before, after in zip(later, later[1:]):
        assert after.start == before.end + before.after
    assert [p.number for p in later] == list(range(plans[-1].number + 1, plans[-1].number + 1 + len(later)))


def test_the_masters_read_the_plan_the_schedule_task_wrote(tmp_path):
    # The five masters take the day's plan from build/schedule.json instead of reading every
    # template's notes again: the same master as planning afresh, and the plan read back is the plan.
    from mlsysim_deck.build import render_deck
    from mlsysim_deck.schedule import plan, read_schedule, write_schedule

    write_schedule(ROOT / "slides", ROOT / "templates", tmp_path / "schedule.json")
    assert read_schedule(tmp_path / "schedule.json") == plan(ROOT / "slides", ROOT / "templates")
    render_deck(ROOT / "slides", ROOT / "templates", tmp_path / "fresh" / "deck.tex")
    render_deck(ROOT / "slides", ROOT / "templates", tmp_path / "read" / "deck.tex", "deck", tmp_path / "schedule.json")
    fresh = (tmp_path / "fresh" / "deck.tex").read_text(encoding="utf-8")
    assert "9:25–10:25" in fresh  # Part 1's slot on the agenda (it starts at 9:25, 60 minutes)
    assert (tmp_path / "read" / "deck.tex").read_text(encoding="utf-8") == fresh
