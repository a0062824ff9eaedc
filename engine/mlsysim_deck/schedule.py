"""The day's schedule, from the speaker notes: what each part plans against the slot it holds.

A part's plan is the sum of its notes' minutes (read from the templates without rendering them,
`render.notes`), the roadmap frame's note that opens it, and the hands-on and break minutes its
part.toml states.  Its slot comes from part.toml too (an appendix, ``appendix = true``, holds none); the parts follow one another from the day's
start (Part 0's ``start``), each after the previous slot and the pause that follows it::

    [schedule]
    start = "9:00"          # only the first part: when the day begins
    slot = 30               # minutes this part holds on the agenda
    hands_on = 5            # attendees at their laptops (exercises, setup), beyond the notes
    break = 0               # a pause inside the slot
    after = { minutes = 15, what = "Coffee break" }   # between this part and the next

    python -m mlsysim_deck.schedule      prints planned against slot for every part
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .atomic import write_text_atomic


from .render import RenderError


class ScheduleError(RenderError):
    """A part.toml's schedule is missing or malformed (file: what is wrong, and the fix)."""


@dataclass(frozen=True)
class PartPlan:
    number: int
    title: str
    dir: str
    start: int          # minutes after midnight
    slot: int           # minutes on the agenda
    notes: int          # the sum of its frames' note minutes
    roadmap: int        # the note of the roadmap frame that opens it (none before the first part)
    hands_on: int
    pause: int          # the break inside the slot
    frames: int         # frames in its template
    noted: int          # of which carry a note
    flex: int = 0       # minutes of notes tagged FLEX: what can be won back when running late
    after: int = 0      # minutes between this part and the next
    after_what: str = ""

    @property
    def planned(self) -> int:
        return self.notes + self.roadmap + self.hands_on + self.pause

    @property
    def end(self) -> int:
        return self.start + self.slot

    @property
    def fits(self) -> bool:
        return self.planned <= self.slot


def clock(minutes: int) -> str:
    """Minutes after midnight as the agenda prints them: 570 -> "9:30", 780 -> "1:00"."""
    hours, mins = divmod(minutes, 60)
    return f"{(hours - 1) % 12 + 1}:{mins:02d}"


def parse_clock(text: str, where: str) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(text).strip())
    if not m or int(m.group(2)) >= 60:
        raise ScheduleError(f"{where}: start = {text!r}: write the time of day as \"9:00\" (24-hour)")
    return int(m.group(1)) * 60 + int(m.group(2))


def _minutes(table: dict, key: str, where: str, default: int | None = None) -> int:
    value = table.get(key, default)
    if value is None:
        raise ScheduleError(f"{where}: [schedule] has no {key}: add `{key} = <minutes>`")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ScheduleError(f"{where}: [schedule] {key} = {value!r}: a whole number of minutes")
    return value


def master_note_minutes(templates_dir: Path) -> int:
    """The roadmap frame's note minutes, read from the master template (deck.tex.j2)."""
    from .build import template_notes

    found = template_notes(Path(templates_dir) / "deck.tex.j2", [Path(templates_dir)])
    return sum(n.minutes for n in found if n.frame.startswith("Roadmap"))


def plan(slides_root: Path, templates_dir: Path) -> list[PartPlan]:
    """Every part's plan and slot, in order."""
    import tomllib

    from .build import template_notes
    from .render import frame_titles

    roadmap = master_note_minutes(templates_dir)
    plans: list[PartPlan] = []
    clock_now = None
    for toml in sorted(Path(slides_root).glob("*/part.toml"), key=_number):
        meta = tomllib.loads(toml.read_text(encoding="utf-8"))
        if meta.get("appendix"):
            continue  # reference material after the day's parts: no slot on the agenda
        where = str(toml)
        table = meta.get("schedule")
        if not isinstance(table, dict):
            raise ScheduleError(f"{where}: no [schedule] table: add one with slot, hands_on, break "
                                f"(see mlsysim_deck.schedule)")
        if clock_now is None:
            if "start" not in table:
                raise ScheduleError(f"{where}: the first part states when the day starts: start = \"9:00\"")
            clock_now = parse_clock(table["start"], where)
        elif "start" in table:
            raise ScheduleError(f"{where}: only the first part states a start; the others follow its "
                                f"slot and the pause after it")
        after = table.get("after", {})
        template = toml.parent / "slides.tex.j2"
        found = template_notes(template, [Path(slides_root), Path(templates_dir)])
        titles = frame_titles(template.read_text(encoding="utf-8"))
        noted = {n.line for n in found}
        part = PartPlan(number=meta["number"], title=meta["title"], dir=toml.parent.name, start=clock_now,
                        slot=_minutes(table, "slot", where), notes=sum(n.minutes for n in found),
                        roadmap=roadmap if plans else 0, hands_on=_minutes(table, "hands_on", where, 0),
                        pause=_minutes(table, "break", where, 0), frames=len(titles),
                        noted=len({_frame_of(titles, line) for line in noted}),
                        flex=sum(n.minutes for n in found if n.flex),
                        after=_minutes(after, "minutes", where, 0), after_what=str(after.get("what", "")))
        plans.append(part)
        clock_now = part.end + part.after
    return plans


@dataclass(frozen=True)
class LaterPart:
    """A part of the day this deck does not build (slides/afternoon.toml): a slot on the agenda only."""

    number: int
    title: str
    start: int          # minutes after midnight
    slot: int
    after: int = 0
    after_what: str = ""

    @property
    def end(self) -> int:
        return self.start + self.slot


#: The day's parts that no slides/*/part.toml builds (the afternoon after the last built part).
LATER_PARTS = "afternoon.toml"


def later_parts(slides_root: Path, plans: list[PartPlan]) -> list[LaterPart]:
    """The parts of slides/afternoon.toml, each after the last built part's slot and pause (none if
    the file is absent)."""
    import tomllib

    path = Path(slides_root) / LATER_PARTS
    if not path.exists():
        return []
    where = str(path)
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("part", [])
    built = {p.number for p in plans}
    clock_now = plans[-1].end + plans[-1].after if plans else None
    if clock_now is None:
        raise ScheduleError(f"{where}: the later parts follow the built ones, but slides/ builds none")
    later: list[LaterPart] = []
    for entry in entries:
        missing = [key for key in ("number", "title") if key not in entry]
        if missing:
            raise ScheduleError(f"{where}: a [[part]] has no {', '.join(missing)}: give each part its number and title")
        if entry["number"] in built or any(p.number == entry["number"] for p in later):
            raise ScheduleError(f"{where}: Part {entry['number']} is numbered twice: a later part takes "
                                f"a number no other part has")
        after = entry.get("after", {})
        part = LaterPart(number=entry["number"], title=entry["title"], start=clock_now,
                         slot=_minutes(entry, "slot", f"{where}: Part {entry['number']}"),
                         after=_minutes(after, "minutes", where, 0), after_what=str(after.get("what", "")))
        later.append(part)
        clock_now = part.end + part.after
    return later


def _number(toml: Path) -> int:
    import tomllib

    return tomllib.loads(toml.read_text(encoding="utf-8")).get("number", 0)


def _frame_of(titles: list[tuple[int, str]], line: int) -> int:
    index = -1
    for i, (start, _) in enumerate(titles):
        if start <= line:
            index = i
    return index


def report(plans: list[PartPlan]) -> str:
    """Planned against slot, one line per part."""
    lines = ["part                               slot         planned = notes + roadmap + hands-on + break"]
    for p in plans:
        verdict = "ok" if p.fits else f"OVER by {p.planned - p.slot} min"
        lines.append(f"Part {p.number} {p.title:<28} {clock(p.start):>5}–{clock(p.end):<5} {p.slot:>3} min  "
                     f"{p.planned:>3} min = {p.notes} + {p.roadmap} + {p.hands_on} + {p.pause}   {verdict}"
                     + (f" (FLEX {p.flex} min)" if p.flex else "")
                     + ("" if p.noted == p.frames else f"   ({p.frames - p.noted} of {p.frames} frames without a note)"))
    return "\n".join(lines)


def write_schedule(slides_root: Path, templates_dir: Path, out: Path) -> None:
    """build/schedule.json, and the report on stdout (a doit action)."""
    plans = plan(slides_root, templates_dir)
    print(report(plans))
    records = [asdict(p) | {"planned": p.planned, "end": p.end, "fits": p.fits,
                            "time": f"{clock(p.start)}–{clock(p.end)}"} for p in plans]
    later = [asdict(p) | {"end": p.end, "time": f"{clock(p.start)}–{clock(p.end)}"}
             for p in later_parts(slides_root, plans)]
    write_text_atomic(Path(out), json.dumps({"parts": records, "later": later}, indent=1, ensure_ascii=False)
                      + "\n")


def read_schedule(path: Path) -> list[PartPlan]:
    """The plans write_schedule wrote (build/schedule.json), without reading the templates again."""
    from dataclasses import fields

    names = [f.name for f in fields(PartPlan)]
    return [PartPlan(**{n: record[n] for n in names})
            for record in json.loads(Path(path).read_text(encoding="utf-8"))["parts"]]


def main(argv=None) -> int:
    root = Path.cwd()
    plans = plan(root / "slides", root / "templates")
    print(report(plans))
    return 0 if all(p.fits for p in plans) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
