"""Named registries as the tutorial's listings use them: ``mlsysim.Hardware.Cloud.H100``,
``mlsysim.Models.Language.Llama3_8B``.  Spec files are loaded on first access, not on import."""
from __future__ import annotations

from . import spec as _spec

_objects: dict[tuple[str, str], object] = {}


def reset() -> None:
    _objects.clear()


def get(stem: str, table: str):
    """The engine object for one spec entry, made once per process.

    The spec values read to make it (a model's ``kind``) are recorded again on every later get, so
    what a computation is recorded to depend on does not depend on what ran before it in the process.
    """
    key = (stem, table)
    if key not in _objects:
        with _spec.reading() as keys:
            entry = _spec.entry(stem, table)
            if stem == "hardware":
                from .hardware import Accelerator

                made = Accelerator(entry)
            elif stem == "models":
                from .models import make_model

                made = make_model(entry)
            elif stem == "clusters":
                from .cluster import Cluster

                made = Cluster(entry)
            else:
                made = entry
        _objects[key] = (made, frozenset(keys))
    else:
        _spec.record_all(_objects[key][1])
    return _objects[key][0]


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
