"""Named registries as the tutorial's listings use them: ``mlsysim.Hardware.Cloud.H100``,
``mlsysim.Models.Language.Llama3_8B``.  Spec files are loaded on first access, not on import."""
from __future__ import annotations

from . import spec as _spec
from .cluster import Cluster
from .hardware import Accelerator
from .models import make_model

#: (stem, table) -> (the spec entry it was built from, the object, the spec keys read to build it)
_objects: dict[tuple[str, str], tuple[object, object, frozenset]] = {}


def reset() -> None:
    _objects.clear()


def _build(stem: str, entry):
    """The engine object for one spec entry: an accelerator, a model, a cluster (with its accelerator
    and its scale-out link), or the entry itself."""
    if stem == "hardware":
        return Accelerator(entry)
    if stem == "models":
        return make_model(entry)
    if stem == "clusters":
        return Cluster(entry, get("hardware", entry.si("accelerator")),
                       _spec.entry("links", entry.si("scaleout_link")))
    return entry


def get(stem: str, table: str):
    """The engine object for one spec entry, made once per loaded entry.

    The spec values read to make it (a model's ``kind``, a cluster's accelerator) are recorded again
    on every later get, so what a computation is recorded to depend on does not depend on what ran
    before it in the process.  When the specs are reloaded (`mlsysim.spec.reset`), the entry is a
    new object and the engine object is made again from it.
    """
    entry = _spec.entry(stem, table)
    hit = _objects.get((stem, table))
    if hit is None or hit[0] is not entry:
        with _spec.reading() as keys:
            made = _build(stem, entry)
        hit = _objects[(stem, table)] = (entry, made, frozenset(keys))
    else:
        _spec.record_all(hit[2])
    return hit[1]


class Catalog:
    """Attribute access to the entries of one spec file, optionally filtered by ``category``."""

    def __init__(self, stem: str, category: str | None = None, label: str = ""):
        self._stem, self._category, self._label = stem, category, label or stem

    def names(self) -> list[str]:
        entries = _spec.load(self._stem)
        if self._category is None:
            return list(entries)
        return [t for t, e in entries.items() if e._values.get("category") == self._category]

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.names():
            raise AttributeError(f"{self._label} has no {name!r}; known: {', '.join(self.names())}")
        return get(self._stem, name)

    def __iter__(self):
        """Every entry, in file order.  Iterating reads which entries exist (key "<stem>.tables"), so
        what loops over all accelerators is rebuilt when one is added."""
        _spec.record(f"{self._stem}.tables")
        return iter(get(self._stem, n) for n in self.names())

    def __dir__(self):
        return self.names()


class _Namespace:
    def __init__(self, **kinds):
        self.__dict__.update(kinds)


Hardware = _Namespace(Cloud=Catalog("hardware", label="mlsysim.Hardware.Cloud"))
Models = _Namespace(Language=Catalog("models", "Language", "mlsysim.Models.Language"),
                    Vision=Catalog("models", "Vision", "mlsysim.Models.Vision"))
Systems = _Namespace(Clusters=Catalog("clusters", label="mlsysim.Systems.Clusters"))


def assumption(table: str, field: str):
    """A modelling assumption's value (float, or text) from specs/assumptions.toml; the read is recorded."""
    return _spec.entry("assumptions", table).si(field)


def precision_bytes(precision: str) -> float:
    """Bytes per element of a number format named in specs/precisions.toml ("fp16", "int4", ...)."""
    return _spec.entry("precisions", precision.lower()).si("bits") / 8
