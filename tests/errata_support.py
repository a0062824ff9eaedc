"""The reference deck's numbers, frame by frame, against the claims this deck shows on the same frame.

The reference deck (../shared/seed/tutorial_part1.tex) is the content this deck started from, with
its errors.  Where this deck prints another number on the same frame, the claim must say so: an
`Erratum(reference=..., reason=...)` on its declaration (engine/mlsysim_deck/claims.py).  This module
finds the departures no erratum records:

1. Frames are matched by part and title (tests/reference_frames.toml renames the frames whose
   title changed, and names the reference frames this deck dropped, with the reason).
2. Each reference frame's numbers are read with their units (days, ms, GB, TB/s, %, ×, $, ...),
   its speaker note included; a range ("2--5×") is one number with a low and a high end.
3. A claim shown on the matched frame (on the slide or in its note) whose unit is of the same
   kind as some number there must print one of them, to the reference's own precision ("16 GB"
   holds 15.5 to 16.5 GB), or carry an erratum.  A claim of that kind that states something the
   reference frame does not (another quantity that happens to share the unit) is listed in
   reference_frames.toml under [[other]] with the reason.  A claim of an accelerator the reference
   frame does not name (hw.A100.bw on the ridge-point table) is a row the reference does not have:
   adding an accelerator to hardware.toml adds such rows, and no erratum.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

MAPPING = Path(__file__).with_name("reference_frames.toml")
HARDWARE = Path(__file__).resolve().parents[1] / "engine" / "mlsysim" / "specs" / "hardware.toml"

#: The reference's sections, in order, as this deck's parts.
SECTIONS = {"Welcome \\& Setup": "00_welcome", "Iron Law \\& Roofline": "01_roofline",
            "Memory Walls \\& Serving": "02_serving", "Compression \\& Efficiency": "03_compression",
            "Going Distributed": "04_distributed"}

#: unit as written -> (kind, factor to the kind's base unit).  Both the reference's spelling and the
#: claims' units (build/claims.json "unit"; "%" and "×" are the suffixes of number claims).
UNITS = {
    "µs": ("time", 1e-6), "ms": ("time", 1e-3), "s": ("time", 1.0), "seconds": ("time", 1.0),
    "min": ("time", 60.0), "minutes": ("time", 60.0), "h": ("time", 3600.0), "hour": ("time", 3600.0),
    "hours": ("time", 3600.0), "day": ("time", 86400.0), "days": ("time", 86400.0),
    "years": ("time", 365.25 * 86400.0),
    "kB": ("size", 1e3), "MB": ("size", 1e6), "GB": ("size", 1e9), "TB": ("size", 1e12),
    "GB/s": ("bandwidth", 1e9), "TB/s": ("bandwidth", 1e12), "Gbit/s": ("bandwidth", 1.25e8),
    "TFLOPS": ("flop_rate", 1e12), "TFLOP/s": ("flop_rate", 1e12), "PFLOPS": ("flop_rate", 1e15),
    "FLOP/B": ("intensity", 1.0), "FLOP/byte": ("intensity", 1.0),
    "%": ("percent", 1.0), "×": ("ratio", 1.0),
    "USD": ("usd", 1.0), "MUSD": ("usd", 1e6),
    "GPU-years": ("gpu_time", 1.0),
    "AllReduce ops per layer": ("allreduces_per_layer", 1.0),
}


@dataclass(frozen=True)
class Number:
    """A number the reference prints, with its unit: `low` to `high` (equal unless a range), in the
    kind's base unit, and the half-step of its last printed digit (its precision), in the same."""

    written: str
    kind: str
    low: float
    high: float
    half_step: float

    def holds(self, value: float) -> bool:
        slack = self.half_step * (1 + 1e-9) + 1e-12 * abs(value)
        return self.low - slack <= value <= self.high + slack


@dataclass
class Frame:
    part: str
    title: str
    text: str  # the frame's source, its note included
    line: int

    @property
    def key(self) -> tuple[str, str]:
        return self.part, normalise(self.title)

    def numbers(self) -> list[Number]:
        return numbers_in(self.text)


def normalise(title: str) -> str:
    """A frame title as words: LaTeX, claims and punctuation out, lower case (for matching)."""
    text = re.sub(r"\\VAR\{[^}]*\}|\\BLOCK\{[^}]*\}|<[^>]*>", " ", title)
    text = re.sub(r"\\[a-zA-Z]+", " ", text)
    text = text.replace("\\$", " ").replace("\\&", " and ").replace("&", " and ")
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _plain_latex(text: str) -> str:
    """Frame source as the reader sees the numbers: comments out, ~ × – $ % as characters."""
    text = re.sub(r"(?<!\\)%.*", "", text)
    text = re.sub(r"\[\d+ min\]|\b\d+ seconds\b", " ", text)  # a note's timing; seconds to think
    for latex, plain in ((r"$\sim$", "~"), (r"\sim", "~"), (r"$\times$", "×"), (r"\times", "×"),
                         ("{,}", ","), (r"\,", " "), (r"\;", " "), (r"\$", "\u00a4"), (r"\%", "%"),
                         ("---", " "), ("--", "–"), ("$", " ")):
        text = text.replace(latex, plain)
    text = re.sub(r"\\[a-zA-Z]+\*?", " ", text).replace("{", "").replace("}", "")  # \text{ms} -> ms
    return text.replace("\u00a4", "$")


_NUMBER = r"\d[\d,]*(?:\.\d+)?"
#: the units the reference writes after a number (it spells out seconds and hours)
_UNIT_WORDS = sorted((u for u in UNITS if u not in ("%", "×", "USD", "MUSD", "s", "h", "min")), key=len, reverse=True)
_PATTERN = re.compile(
    rf"(?P<bound>(?<!-)[<>]\s*)?(?P<dollar>\$\s*)?(?P<tilde>~\s*)?(?P<low>{_NUMBER})(?:\s*[–-]\s*(?P<high>{_NUMBER}))?"
    rf"(?:\s*(?P<unit>%|(?<=\d)×(?!\s*\d)|(?<=\d)x\b|(?:{'|'.join(re.escape(u) for u in _UNIT_WORDS)})(?![A-Za-z/]))"
    rf"|(?P<scale>[KMB])\b)?")


def _value(text: str) -> tuple[float, float]:
    """(value, half-step of the last printed digit) of '1,307' or '8.6'."""
    bare = text.replace(",", "")
    decimals = len(bare.split(".")[1]) if "." in bare else 0
    return float(bare), 0.5 * 10 ** -decimals


def numbers_in(source: str) -> list[Number]:
    """Every number printed with a unit in a piece of the reference's LaTeX."""
    found = []
    text = _plain_latex(source)
    for m in _PATTERN.finditer(text):
        if text[max(0, m.start() - 1):m.start()].isalnum():  # a digit inside a name: H100, Llama-3, FP16
            continue
        unit = m.group("unit")
        if m.group("dollar"):
            kind, factor = "usd", {"K": 1e3, "M": 1e6, "B": 1e9, None: 1.0}[m.group("scale")]
        elif unit:
            kind, factor = UNITS["×" if unit == "x" else unit]
        else:
            continue
        low, step = _value(m.group("low"))
        high = _value(m.group("high"))[0] if m.group("high") else low
        if m.group("bound"):  # "< 5%": anything below; "> 95%": anything above
            low, high = (0.0, low) if m.group("bound").strip() == "<" else (low, float("inf"))
        found.append(Number(m.group(0).strip(), kind, low * factor, high * factor, step * factor))
    return found


def reference_frames(seed: Path) -> list[Frame]:
    """The reference deck's frames (and \\mlsysfocus slides), each with its part and source."""
    source = seed.read_text(encoding="utf-8")
    sections = [(m.start(), SECTIONS.get(m.group(1), "")) for m in re.finditer(r"\\section\{([^}]*)\}", source)]
    frames = []
    starts = re.compile(r"\\begin\{frame\}(?:<[^>]*>)?(?:\[[^\]]*\])?(?:\{(?P<title>(?:[^{}]|\{[^{}]*\})*)\})?"
                        r"|\\mlsysfocus\{(?P<focus>[^}]*)\}")
    for m in starts.finditer(source):
        end = source.find("\\end{frame}", m.end()) if m.group("focus") is None else source.find("\n}", m.end())
        part = ""
        for at, name in sections:
            if at < m.start():
                part = name
        title = m.group("title") if m.group("focus") is None else m.group("focus")
        frames.append(Frame(part, title or "", source[m.end():end], source.count("\n", 0, m.start()) + 1))
    return frames


def load_mapping(path: Path = MAPPING) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def claim_kind(record: dict, mapping: dict | None = None) -> tuple[str, float] | None:
    """(kind, factor to its base unit) of a claim's printed value, or None if it has no unit kind.
    A number whose unit the slide writes after it ("508 GPU-years") is named in [[unit]]."""
    for row in (mapping or {}).get("unit", []):
        if row["claim"] == record["id"]:
            return UNITS[row["unit"]]
    if record["kind"] == "quantity":
        return UNITS.get(record.get("unit") or "")
    if record["kind"] == "number":
        text = record["text"]
        if text.endswith("%"):
            return UNITS["%"]
        if text.endswith("×"):
            return UNITS["×"]
    return None


def displayed(record: dict) -> float:
    """The number the claim prints (its text, as rounded on the slide), in its own unit."""
    m = re.search(r"[−-]?\d[\d,]*(?:\.\d+)?", record["text"])
    return float(m.group(0).replace(",", "").replace("−", "-"))


@dataclass(frozen=True)
class Departure:
    """A claim on a matched frame that prints none of the reference's numbers of its kind."""

    claim: str
    text: str
    part: str
    frame: str
    reference_frame: str
    reference_line: int
    reference_numbers: tuple[str, ...]
    erratum: dict | None

    def __str__(self) -> str:
        return (f"{self.part} \u201c{self.frame}\u201d: claim {self.claim} prints {self.text}, where the reference "
                f"(tutorial_part1.tex:{self.reference_line}, \u201c{self.reference_frame}\u201d) prints "
                f"{', '.join(self.reference_numbers)}")


def matched_frames(records: list[dict], frames: list[Frame], mapping: dict) -> dict[tuple[str, str], Frame]:
    """(part, our normalised title) -> the reference frame it continues."""
    by_key = {}
    for f in frames:
        by_key.setdefault(f.key, f)  # a repeated title (Key Question) is one per part
    renamed = {(r["part"], normalise(r["ours"])): (r["part"], normalise(r["reference"]))
               for r in mapping.get("renamed", [])}
    ours = {(use["part"], normalise(title)) for r in records for use in r.get("slides", [])
            for title in use.get("frames", [])}
    matched = {}
    for key in ours:
        ref = by_key.get(renamed.get(key, key))
        if ref is not None:
            matched[key] = ref
    return matched


def accelerators() -> list[str]:
    """The accelerators of specs/hardware.toml (its table names: H100, A100, Gaudi3, ...)."""
    return [name for name, body in tomllib.loads(HARDWARE.read_text(encoding="utf-8")).items() if isinstance(body, dict)]


def other_accelerator(claim_id: str, frame: Frame, names: list[str]) -> bool:
    """Whether a claim belongs to an accelerator the reference frame does not name: a row or column a
    table of this deck has for every accelerator of hardware.toml (hw.A100.bw on the ridge-point
    table, which the reference prints for four others), not a value the reference printed."""
    text = re.sub(r"[^a-z0-9]", "", (frame.title + frame.text).lower())
    return any(name in claim_id.split(".") and name.lower() not in text for name in names)


def departures(records: list[dict], frames: list[Frame], mapping: dict) -> list[Departure]:
    """Every (claim, frame) where the claim prints a value of a kind the reference frame prints,
    and none of the reference's values of that kind (with or without an erratum)."""
    matched = matched_frames(records, frames, mapping)
    names = accelerators()
    other = {(o["claim"], normalise(o["frame"])) for o in mapping.get("other", [])}
    found = []
    seen = set()
    for record in records:
        kind = claim_kind(record, mapping)
        if kind is None:
            continue
        value = displayed(record) * kind[1]
        for use in record.get("slides", []):
            for title in use.get("frames", []):
                key = (use["part"], normalise(title))
                ref = matched.get(key)
                if ref is None or (record["id"], key[1]) in other or (record["id"], key) in seen \
                        or other_accelerator(record["id"], ref, names):
                    continue
                same_kind = [n for n in ref.numbers() if n.kind == kind[0]]
                if same_kind and not any(n.holds(value) for n in same_kind):
                    seen.add((record["id"], key))
                    found.append(Departure(record["id"], record["text"], use["part"], title, ref.title, ref.line,
                                           tuple(dict.fromkeys(n.written for n in same_kind)),
                                           record.get("erratum")))
    return found


def unrecorded(records: list[dict], frames: list[Frame], mapping: dict) -> list[Departure]:
    """The departures no erratum records: what the test fails on."""
    return [d for d in departures(records, frames, mapping) if not d.erratum]
