"""Specs: every hardware, model and modelling value lives in one TOML file, with a unit and a source.

A spec file is a set of tables; each table is one entry (an accelerator, a model, a group of
assumptions).  A number is written with its unit and where it comes from::

    [H100]
    name = "NVIDIA H100 SXM5"
    memory_bandwidth = { value = 3.35, unit = "TB/s", source = "NVIDIA H100 datasheet" }

Loading checks every value against the field's expected unit (`FIELDS`): a wrong dimension, a
missing field, an unknown field, a value that is not a positive finite number, or a missing source
is a `SpecError` naming the file, the line, the table and the key.

Every read of a value goes through `Spec`, which tells the active `reading()` recorder the value's
key (``"hardware.H100.memory_bandwidth"``).  That is how a claim, a figure or a listing knows which
spec values it depends on, and so what must be rebuilt when one changes.
"""
from __future__ import annotations

import math
import os
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SPEC_DIR = Path(__file__).with_name("specs")


@dataclass(frozen=True)
class Field:
    """What a spec field must hold: a quantity convertible to `unit`, a count, or text."""

    unit: str | None  # canonical unit of the float the engine sees; None for text
    required: bool = True
    integer: bool = False  # counts such as layers or heads
    allow_zero: bool = False


def quantity(unit: str, required: bool = True, allow_zero: bool = False) -> Field:
    return Field(unit, required, allow_zero=allow_zero)


def count(required: bool = True) -> Field:
    return Field("", required, integer=True)


def ratio(required: bool = True) -> Field:
    """A dimensionless number, such as an efficiency (0 < x)."""
    return Field("", required)


def text(required: bool = True) -> Field:
    return Field(None, required)


#: The schema of each spec file: table kind -> field -> expectation.  A file's tables all share
#: one schema unless the table names its ``kind`` (models: "transformer" or "cnn").
FIELDS: dict[str, dict[str, Field]] = {
    "hardware": {
        "name": text(),
        "vendor": text(),  # who makes it: the Predict table's column heads
        "peak_flops": quantity("FLOP/s"),
        "memory_bandwidth": quantity("B/s"),
        "memory_capacity": quantity("B"),
        "scaleup_bandwidth_total": quantity("B/s"),
        # Part 2 (disaggregated serving) and Part 3 (2:4 sparsity); optional, so absent means unknown
        "scaleout_link": text(required=False),  # a table of links.toml: the server's NIC per GPU
        "sparse_peak_flops": quantity("FLOP/s", required=False),  # with 2:4 structured sparsity
        # the deck's comparisons this accelerator appears in (a list of names; absent: the line-up
        # only).  A choice of the tutorial, not a fact of the chip: the engine never reads it.
        "comparisons": text(required=False),
    },
    "transformer": {
        "name": text(),
        "kind": text(),
        "category": text(),
        "layers": count(),
        "hidden_size": count(),
        "num_heads": count(),
        "num_kv_heads": count(),
        "head_dim": count(),
        "ffn_size": count(),
        "ffn_matrices": count(required=False),  # 3 (SwiGLU, the default) or 2 (GPT's GELU MLP)
        "vocab_size": count(),
        "tied_embeddings": Field(None),
        "training_tokens": quantity("token", required=False),
        "training_gpu_hours": quantity("h", required=False),
        "max_context_tokens": quantity("token", required=False),  # the context window (max_position_embeddings)
        "training_context": quantity("token", required=False),
    },
    "cnn": {
        "name": text(),
        "kind": text(),
        "category": text(),
        "parameters": count(),
        "flops_per_sample": quantity("FLOP"),
        "input_elements": count(),
        "activation_elements": count(required=False),  # per image: every layer's input read + output written
    },
    "assumptions": {},  # free-form: every value is a quantity or ratio; see ASSUMPTION_UNITS
    "precisions": {
        "name": text(),
        "bits": ratio(),
        "group_size": ratio(required=False),  # weights sharing one scale and zero point (GPTQ/AWQ: 128)
        "group_bits": ratio(required=False),  # bits of that scale and zero point
    },
}

#: Assumption tables hold named values; each name's expected unit is declared here.
ASSUMPTION_UNITS: dict[str, str] = {
    "compute_efficiency": "",
    "bandwidth_efficiency": "",
    "context_tokens": "token",
    "training_mfu": "",
    # Part 2: serving
    "page_tokens": "token",
    "utilization_existing_low": "", "utilization_existing_high": "", "utilization_paged": "",  # vLLM paper, Fig. 2
    "gpu_memory": "B",  # Part 3: [laptop_gpu], the precision ladder's laptop GPU
    "draft_tokens": "token",
    "draft_acceptance_rate": "",
    "fleet_concurrent_requests": "request",
    "fleet_replicas": "",
    # Part 1: typical efficiencies as published ([typical_<run>])
    "mfu_low": "",
    "mfu_high": "",
}


class SpecError(ValueError):
    """A spec file holds something the engine cannot use; the message names file, line and key."""


# --- recording which spec values were read ---------------------------------------------------

_recorders: list[set[str]] = []


def record(key: str) -> None:
    if _recorders:
        _recorders[-1].add(key)


def record_all(keys) -> None:
    if _recorders:
        _recorders[-1].update(keys)


@contextmanager
def reading():
    """Collect the keys of every spec value read inside the block (nested blocks add to outer)."""
    keys: set[str] = set()
    _recorders.append(keys)
    try:
        yield keys
    finally:
        _recorders.pop()
        record_all(keys)


# --- one entry of a spec file ----------------------------------------------------------------


class Spec:
    """One table of a spec file.  `si(field)` gives the float the engine computes with."""

    def __init__(self, file: str, table: str, values: dict, units: dict, display: dict, sources: dict):
        self.file, self.table = file, table
        self._values, self._units, self._display = values, units, display
        self._sources = sources
        self._cache: dict = {}
        self._prefix = f"{Path(file).stem}.{table}."  # every read is recorded by key: build it once

    def key(self, field: str) -> str:
        return self._prefix + field

    def si(self, field: str):
        """The value in its canonical unit (a float), or the text; the read is recorded."""
        try:
            value = self._values[field]
        except KeyError:
            raise AttributeError(f"{self.file}: [{self.table}] has no field {field!r}") from None
        if _recorders:
            record(self.key(field))
        return value

    def get(self, field: str, default=None):
        return self.si(field) if field in self._values else default

    def quantity(self, field: str):
        """The value as a pint Quantity, in the unit the spec file wrote it in."""
        from .units import Q

        value = self.si(field)
        unit = self._units[field]
        if unit is None:
            return value
        return Q(value, unit).to(self._display[field]) if self._display[field] else Q(value, unit)

    def source(self, field: str) -> str:
        return self._sources.get(field, "")

    def fields(self):
        return list(self._values)

    def __repr__(self):
        return f"<Spec {self.file}:[{self.table}]>"


# --- loading ---------------------------------------------------------------------------------


def spec_dir() -> Path:
    """Where spec files are read from: $MLSYSIM_SPECS if set (tests, what-if runs), else the package."""
    return Path(os.environ.get("MLSYSIM_SPECS") or SPEC_DIR)


def _line_numbers(text: str) -> dict[tuple[str, str | None], int]:
    """(table, key) -> line number; (table, None) is the table header's line."""
    found: dict[tuple[str, str | None], int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            table = line.strip("[]").strip()
            found[(table, None)] = number
        elif "=" in line and not line.startswith("#"):
            key = line.split("=", 1)[0].strip().strip('"')
            found.setdefault((table, key), number)
    return found


def _schema(kind_file: str, table: str, body: dict, where) -> dict[str, Field]:
    if kind_file == "models":
        kind = body.get("kind")
        if kind not in ("transformer", "cnn"):
            raise SpecError(f"{where(None)}: [{table}] kind must be \"transformer\" or \"cnn\", got {kind!r}")
        return FIELDS[kind]
    if kind_file == "assumptions":
        return {name: ratio() if unit == "" else quantity(unit) for name, unit in ASSUMPTION_UNITS.items()
                if name in body} | {k: text() for k, v in body.items() if isinstance(v, str)}
    if kind_file in FIELDS:
        return FIELDS[kind_file]
    return EXTRA_FIELDS[kind_file]


#: Spec files added by later parts register their schema here (file stem -> fields).
EXTRA_FIELDS: dict[str, dict[str, Field]] = {
    # Part 3: what each compression method costs in accuracy, as published (a cited input, not a formula)
    "compression": {
        "method": text(),  # "quantization" or "pruning"
        "bits": quantity("", required=False),
        "sparsity": quantity("", required=False),
        "sparsity_type": text(required=False),
        "accuracy_drop": quantity("", allow_zero=True),  # points of mean zero-shot accuracy, as a fraction
        "evaluated_on": text(),
    },
    # Part 3: what an accelerator-hour costs
    "costs": {
        "price_per_hour": quantity("USD/h"),
    },
}

#: Part 4: clusters.  Bandwidths are per GPU, per direction; latencies per hop.
EXTRA_FIELDS["clusters"] = {
    "name": text(),
    "accelerator": text(),  # a table of hardware.toml
    "gpus": count(),
    "gpus_per_node": count(),
    "scaleup_latency": quantity("s"),
    "scaleout_link": text(),  # a table of links.toml
    "gpu_mtbf": quantity("s"),
}
EXTRA_FIELDS["links"] = {
    "name": text(),
    "bandwidth": quantity("B/s"),  # per GPU, per direction
    "latency": quantity("s"),  # per hop
}
ASSUMPTION_UNITS.update({  # Part 4: training memory, parallelism, stragglers and checkpointing
    "tp_allreduces_forward": "",
    "tp_allreduces_backward": "",
    "straggler_factor": "",
    "optimizer_copies": "",
    "layer_activation_bytes": "",
    "storage_write_bandwidth": "B/s",
    "restart_time": "s",
})
ASSUMPTION_UNITS.update({  # Reality check: measured kernel rates ([measured_<accelerator>])
    "matmul_bf16": "FLOP/s",
    "matmul_fp8": "FLOP/s",
    "stream_bandwidth": "B/s",
    "attention_bf16": "FLOP/s",
})


# --- the checked values, cached on the file's content -----------------------------------------
#
# Checking a spec file needs pint (about 0.25 s to import and build its registry), yet the file
# rarely changes.  The checked values are cached in the user's cache folder (never the source
# tree), keyed on the file's bytes and on the schema above: an edited file, or an edited schema,
# misses the cache and is checked again, so an error is always found and explained by pint.

def _cache_path(text: str) -> Path | None:
    import hashlib

    from .units import cache_root

    root = cache_root()
    if root is None:
        return None
    schema = repr((sorted((k, sorted(v.items())) for k, v in (FIELDS | EXTRA_FIELDS).items()),
                   sorted(ASSUMPTION_UNITS.items())))
    digest = hashlib.sha256(f"{_CACHE_VERSION}\0{schema}\0{text}".encode()).hexdigest()[:32]
    return Path(root) / f"spec-{digest}.json"


_CACHE_VERSION = 1  # bump when what a Spec holds changes shape


def _from_cache(path: Path, text: str) -> dict[str, Spec] | None:
    import json

    cached = _cache_path(text)
    try:
        tables = json.loads(cached.read_text(encoding="utf-8")) if cached else None
    except (OSError, ValueError):
        return None
    if not isinstance(tables, dict):
        return None
    try:
        os.utime(cached)  # used now: the checked files kept are the ones used last
    except OSError:
        pass
    return {table: Spec(str(path), table, *(t[k] for k in ("values", "units", "display", "sources")))
            for table, t in tables.items()}


def _to_cache(text: str, entries: dict[str, Spec]) -> None:
    import json
    import tempfile

    from .units import keep_newest

    cached = _cache_path(text)
    if cached is None:
        return
    tables = {table: {"values": e._values, "units": e._units, "display": e._display, "sources": e._sources}
              for table, e in entries.items()}
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cached.parent, delete=False, suffix=".tmp",
                                         encoding="utf-8") as out:
            json.dump(tables, out)
        os.replace(out.name, cached)  # whole or not at all: a reader never sees half a file
        keep_newest(cached.parent.glob("spec-*.json"), SPECS_KEPT)  # each edit of a spec file leaves one
    except OSError:
        pass  # a read-only home: every load checks with pint, which is only slower


#: Checked spec files kept in the user's cache: the eight spec files, a few versions of each.
SPECS_KEPT = 64


def load_file(path: Path) -> dict[str, Spec]:
    """Load and check one spec file; returns table name -> Spec (from the cache when the file and
    the schema are unchanged since it was last checked)."""
    text = path.read_text(encoding="utf-8")
    entries = _from_cache(path, text)
    if entries is None:
        entries = check_file(path, text)
        _to_cache(text, entries)
    return entries


def check_file(path: Path, text: str) -> dict[str, Spec]:
    """Check every value of one spec file against its schema, converting units with pint."""
    from .units import ureg

    import pint

    shown = shown_path(path)
    lines = _line_numbers(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{shown}: not valid TOML: {err}") from None
    kind_file = path.stem
    reg = ureg()
    entries: dict[str, Spec] = {}
    for table, body in data.items():
        def where(key, table=table):
            return f"{shown}:{lines.get((table, key), lines.get((table, None), 1))}"

        if not isinstance(body, dict):
            raise SpecError(f"{where(table)}: {table} must be a table ([{table}])")
        if kind_file == "assumptions":
            unknown = [k for k, v in body.items() if not isinstance(v, str) and k not in ASSUMPTION_UNITS]
            if unknown:
                raise SpecError(f"{where(unknown[0])}: [{table}] {unknown[0]}: unknown assumption "
                                f"(declare its unit in mlsysim.spec.ASSUMPTION_UNITS)")
        schema = _schema(kind_file, table, body, where)
        values, units, display, sources = {}, {}, {}, {}
        for field, expect in schema.items():
            if field not in body:
                if expect.required:
                    want = f" (expected {expect.unit or 'a number'})" if expect.unit is not None else ""
                    raise SpecError(f"{where(None)}: [{table}] is missing {field}{want}")
                continue
            raw = body[field]
            if expect.unit is None:
                values[field], units[field], display[field] = raw, None, None
                continue
            if not isinstance(raw, dict) or "value" not in raw:
                raise SpecError(f"{where(field)}: [{table}] {field} must be "
                                f"{{ value = ..., unit = \"{expect.unit}\", source = \"...\" }}")
            unknown = set(raw) - {"value", "unit", "source", "note"}
            if unknown:
                raise SpecError(f"{where(field)}: [{table}] {field}: unknown key(s) {sorted(unknown)}")
            value, unit = raw["value"], raw.get("unit", "")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
                    or math.isinf(value):
                raise SpecError(f"{where(field)}: [{table}] {field} = {value!r}: expected a finite number "
                                f"in {expect.unit or 'dimensionless units'}")
            if value < 0 or (value == 0 and not expect.allow_zero):
                raise SpecError(f"{where(field)}: [{table}] {field} = {value!r}: must be positive "
                                f"(expected {expect.unit or 'a count'})")
            if expect.integer and int(value) != value:
                raise SpecError(f"{where(field)}: [{table}] {field} = {value!r}: must be a whole number")
            if not raw.get("source"):
                raise SpecError(f"{where(field)}: [{table}] {field}: every value needs a source")
            try:
                given = reg.Quantity(value, unit)
                canonical = given.to(expect.unit).magnitude
            except pint.errors.DimensionalityError:
                raise SpecError(f"{where(field)}: [{table}] {field} = {f'{value} {unit}'.strip()}: expected a value in "
                                f"{expect.unit or 'dimensionless units'}: "
                                f"{wrong_unit(reg, value, unit, expect.unit, text)}") from None
            except (pint.errors.UndefinedUnitError, AttributeError, TypeError, ValueError):
                what, needs = UNIT_WORDS.get(expect.unit, ("it", f"a unit convertible to {expect.unit}"))
                raise SpecError(f"{where(field)}: [{table}] {field}: unknown unit {unit!r}"
                                f"{suggest_unit(unit, expect.unit, text, reg=reg) or f'; {what} needs {needs}'}"
                                ) from None
            values[field] = int(canonical) if expect.integer else float(canonical)
            units[field], display[field] = expect.unit, unit
            sources[field] = raw["source"]
        extra = set(body) - set(schema)
        if extra:
            field = sorted(extra)[0]
            raise SpecError(f"{where(field)}: [{table}] {field}: unknown field (known: {', '.join(schema)})")
        entries[table] = Spec(str(path), table, values, units, display, sources)
    return entries


# --- saying what a unit is, in words ---------------------------------------------------------

def shown_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it (messages read shorter)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


#: What each expected unit is called, and how one is usually written.
UNIT_WORDS: dict[str, tuple[str, str]] = {
    "B/s": ("a bandwidth", "a rate such as TB/s or GB/s"),
    "B": ("a size", "a size such as GB"),
    "FLOP/s": ("a FLOP rate", "a rate such as TFLOP/s"),
    "FLOP": ("an amount of compute", "a FLOP count such as GFLOP"),
    "s": ("a time", "a time such as us, ms or h"),
    "h": ("a time", "a time such as h"),
    "W": ("a power", "a power such as W"),
    "USD/h": ("a price", "a price per hour such as USD/h"),
    "token": ("a number of tokens", "a count such as token or Ttoken"),
    "request": ("a number of requests", "a count such as request"),
    "": ("a plain number", "no unit (or unit = \"\")"),
}


def unit_kind(reg, unit: str) -> str:
    """What a unit measures, in words: "a size", "a rate", "a time", "a FLOP rate"..."""
    q = reg.Quantity(1, unit)
    dims = dict(q.dimensionality)
    names = " ".join(str(u) for u in q.units._units) if hasattr(q.units, "_units") else str(q.units)
    data = "byte" in names or "bit" in names
    if dims == {}:
        if data:
            return "a size"
        if "token" in names or "request" in names or "sample" in names:
            return "a count"
        return "a plain number"
    table = {
        (("[time]", -1),): "a rate" if data else "a frequency",
        (("[time]", 1),): "a time",
        (("[computation]", 1),): "an amount of compute (FLOP)",
        (("[computation]", 1), ("[time]", -1)): "a FLOP rate",
        (("[length]", 2), ("[mass]", 1), ("[time]", -3)): "a power",
        (("[length]", 2), ("[mass]", 1), ("[time]", -2)): "an energy",
        (("[currency]", 1),): "an amount of money",
        (("[currency]", 1), ("[time]", -1)): "a price per time",
        (("[length]", 1),): "a length",
    }
    found = table.get(tuple(sorted(dims.items())))
    return found or f"a quantity of dimension {q.dimensionality}"


def wrong_unit(reg, value, unit: str, expected: str, file_text: str = "") -> str:
    """Why `value unit` cannot be what the field expects, in words, and what it needs instead."""
    what, needs = UNIT_WORDS.get(expected, (f"a value in {expected}", f"a unit convertible to {expected}"))
    if not unit:
        return f"{value} is a plain number; {what} needs a unit: {needs}"
    kind = unit_kind(reg, unit)
    typo = suggest_unit(unit, expected, file_text, prefix="", reg=reg)
    if typo and (kind.startswith("a quantity of dimension") or typo_by_case(unit, expected, file_text)):
        return f"{typo} (as written, {unit!r} is not {what}: {what} needs {needs})"
    return f"{value} {unit} is {kind}; {what} needs {needs}"


def _converts(reg, unit: str, expected: str) -> bool:
    try:
        reg.Quantity(1, unit).to(expected)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not this kind"
        return False


def typo_by_case(unit: str, expected: str, file_text: str = "") -> bool:
    return any(u.lower() == unit.lower() for u in _usual_units(expected, file_text) if u != unit)


_PREFIXES = ("", "k", "K", "M", "G", "T", "P", "m", "u", "n")


def _usual_units(expected: str, file_text: str = "") -> set[str]:
    """How units of this kind are usually written: prefixed forms, and those the file already uses."""
    import re

    usual = {p + expected for p in _PREFIXES} if expected else set()
    if expected == "s":
        usual |= {"ms", "us", "ns", "min", "h", "day"}
    return usual | set(re.findall(r'unit\s*=\s*"([^"]+)"', file_text))


def suggest_unit(unit: str, expected: str, file_text: str = "", prefix: str = ": ", reg=None) -> str:
    """"'TB/S' looks misspelt: did you mean 'TB/s'?" when a usual spelling is a case or typo away."""
    import difflib

    usual = _usual_units(expected, file_text) - {unit}
    if reg is not None:
        usual = {u for u in usual if _converts(reg, u, expected)}
    same_case = sorted(u for u in usual if u.lower() == (unit or "").lower())
    close = same_case or difflib.get_close_matches(unit or "", sorted(usual), n=3, cutoff=0.6)
    if not close:
        return ""
    return f"{prefix}{unit!r} looks misspelt: did you mean {' or '.join(repr(c) for c in close)}?"


_loaded: dict[str, dict[str, Spec]] = {}


def load(stem: str) -> dict[str, Spec]:
    """All entries of the spec file `<stem>.toml`, loaded once per process."""
    if stem not in _loaded:
        path = spec_dir() / f"{stem}.toml"
        if not path.exists():
            raise SpecError(f"{shown_path(path)}: spec file not found")
        _loaded[stem] = load_file(path)
    return _loaded[stem]


def entry(stem: str, table: str) -> Spec:
    entries = load(stem)
    try:
        return entries[table]
    except KeyError:
        raise LookupError(f"no [{table}] in {stem}.toml; known: {', '.join(entries)}") from None


def reset() -> None:
    """Forget loaded specs (tests that point MLSYSIM_SPECS elsewhere call this).  Objects built from
    the old entries (mlsysim.registry) are rebuilt on their next use: their entry is no longer loaded."""
    _loaded.clear()


def record_to_file(path: str) -> None:
    """Record every spec value this process reads into `path` (JSON list) when it exits.

    `import mlsysim` calls this when $MLSYSIM_RECORD is set: that is how the build learns which
    spec values an executed listing depends on.
    """
    import atexit
    import json

    keys: set[str] = set()
    _recorders.insert(0, keys)

    def dump():
        Path(path).write_text(json.dumps(sorted(keys)))

    atexit.register(dump)
