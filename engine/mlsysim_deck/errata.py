"""Errata: where this deck departs from the reference deck, and why.

A claim that prints another value than the reference deck prints on the same frame carries an
`Erratum(reference="54 days", reason="...")` on its declaration (claims.py).  The claims task writes
them all to build/claims/errata.json; the errata appendix (slides/91_errata) loops over them, a fixed
number of rows per frame, each row with the frame that shows the claim, the reference's value, the
claim itself (checked in the PDF like any other) and the reason; the ledger lists the same.

A reason is one line in words.  A number it needs is a claim, written `{claim.id}`: the appendix
prints it through the claim mechanism, so the reason never holds a number of its own.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ERRATA_FILE = "errata.json"  # in build/claims/, beside the claim records
ROWS_PER_FRAME = 5  # rows of the appendix table on one frame (each row may wrap to two lines)
PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_.\-]*)\}")


def reason_claims(reason: str) -> list[str]:
    """The claim ids a reason quotes as `{id}`."""
    return PLACEHOLDER.findall(reason)


def reason_as_template(reason: str) -> str:
    """A reason as template text (`{id}` -> \\VAR{claim("id")}), for the lint."""
    return PLACEHOLDER.sub(lambda m: f'\\VAR{{claim("{m.group(1)}")}}', reason)


def write_errata(records: dict, claims_dir: Path, parts_order: dict[str, int]) -> list[dict]:
    """build/claims/errata.json: every erratum, in part order then claim id (the appendix sorts
    them by frame once it knows where each claim is shown)."""
    from .atomic import write_text_atomic

    rows = [{"claim": cid, "part": r["part"], **r["erratum"]} for cid, r in records.items() if r.get("erratum")]
    rows.sort(key=lambda row: (parts_order.get(row["part"], 99), row["claim"]))
    write_text_atomic(Path(claims_dir) / ERRATA_FILE, json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    return rows


def read_errata(claims_dir: Path) -> list[dict]:
    path = Path(claims_dir) / ERRATA_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def errata_ids(claims_dir: Path) -> list[str]:
    """The claims an errata table prints: each erratum's claim and the claims its reason quotes."""
    ids = []
    for row in read_errata(claims_dir):
        ids += [row["claim"], *reason_claims(row["reason"])]
    return list(dict.fromkeys(ids))


@dataclass
class Row:
    """One row of the errata table: `claim` (the id, printed with claim("*", e.claim)), the frame
    that shows it, the reference's value as it prints it, and the reason (claims already rendered)."""

    claim: str
    frame: str
    reference: str
    reason: str
    part: str
    order: tuple


def slide_uses(slides_root: Path, templates_dir: Path) -> dict[str, list[tuple[int, str, int, str]]]:
    """claim id -> (part number, part dir, template line, frame title) of each use in the day's parts
    (appendices left out), in deck order, uses on a slide before uses in a note (a claim a listing
    prints is stated in its frame's note): where an erratum's claim is shown."""
    from jinja2 import nodes

    from .build import parts
    from .render import environment, frame_at, frame_titles, parsed

    env = environment([Path(slides_root), Path(templates_dir)])
    found: dict[str, list] = {}
    for meta in parts(slides_root):
        template = Path(slides_root) / meta["dir"] / "slides.tex.j2"
        if meta.get("appendix") or not template.exists():
            continue
        source = template.read_text(encoding="utf-8")
        tree = parsed(env, template, source)  # a syntax error is that part's own, as its task reports it
        in_notes = set()
        for block in tree.find_all(nodes.CallBlock):
            if isinstance(block.call.node, nodes.Name) and block.call.node.name == "note":
                in_notes |= {id(c) for c in block.find_all(nodes.Call)}
        titles = frame_titles(source)
        for call in tree.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == "claim"):
                continue
            if call.args and isinstance(call.args[0], nodes.Const) and len(call.args) == 1:
                found.setdefault(call.args[0].value, []).append(
                    (id(call) in in_notes, meta["number"], meta["dir"], call.lineno, frame_at(titles, call.lineno)))
    for cid, uses in found.items():
        uses.sort()
        found[cid] = [use[1:] for use in uses]
    return found
