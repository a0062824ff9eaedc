"""Where each claim landed in the PDF: named destinations -> page numbers.

Every ``\\VAR{claim("id")}`` prints ``\\claim{<part>:<id>:<n>}{...}``, a hypertarget, so the PDF
holds one named destination per use of a claim.  pypdf reads them back as 1-based page numbers.
"""
from __future__ import annotations

import re
from pathlib import Path

_VAR = re.compile(r"\\VAR\{\s*claim\(\s*[\"']([^\"']+)[\"']\s*\)\s*\}")


def frame_title(title: str) -> str:
    """A frame title as written in the template, with \\VAR{claim("x")} shown as <x>."""
    return _VAR.sub(lambda m: f"<{m.group(1)}>", title)


def claim_pages(pdf: Path) -> dict[str, int]:
    """target ("01_roofline:ridge.H100:1") -> page (1-based); empty when there is no PDF."""
    pdf = Path(pdf)
    if not pdf.exists():
        return {}
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    pages = {}
    for name, dest in reader.named_destinations.items():
        try:
            pages[str(name)] = reader.get_destination_page_number(dest) + 1
        except Exception:  # noqa: BLE001 - a destination without a page is simply not reported
            continue
    return pages


def where_used(record: dict, pages: dict[str, int]) -> list[str]:
    """A claim record's slides as readable places: 'Part 01_roofline, "Frame title", page 12'."""
    places = []
    for use in record.get("slides", []):
        frames = ", ".join(f"\u201c{frame_title(f)}\u201d" for f in use.get("frames", [])) or "(no frame title)"
        page = pages.get(use.get("target", ""))
        places.append(f"{use['part']} {frames}" + (f", PDF page {page}" if page else ""))
    return places
