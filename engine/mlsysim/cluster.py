"""Clusters: a thin, read-recording view of one [table] of specs/clusters.toml.

A cluster is many accelerators of one kind, `gpus_per_node` to a node.  Inside a node they talk
over the accelerator's scale-up link (NVLink); between nodes each GPU has its own network port
(InfiniBand or RoCE, a table of specs/links.toml).  Every bandwidth here is per GPU and per direction.
"""
from __future__ import annotations

from .spec import Spec, record


class Cluster:
    """One cluster, or a job on `gpus` of its accelerators (`subset`).

    Built by mlsysim.registry from its [table] of clusters.toml, its accelerator (an `Accelerator`
    of hardware.toml) and its scale-out link (a [table] of links.toml)."""

    def __init__(self, spec: Spec, accelerator, link: Spec, gpus: int | None = None):
        self.spec = spec
        self.key = spec.table
        self._accelerator, self._link = accelerator, link
        self._gpus = gpus

    @property
    def accelerator(self):
        """The accelerator this cluster is built of (its `accelerator` names a table of hardware.toml)."""
        record(self.spec.key("accelerator"))
        return self._accelerator

    @property
    def link(self) -> Spec:
        """The scale-out network (its `scaleout_link` names a table of links.toml): InfiniBand NDR, RoCE."""
        record(self.spec.key("scaleout_link"))
        return self._link

    @property
    def name(self) -> str:
        return self.spec.si("name")

    @property
    def gpus(self) -> int:
        return self._gpus if self._gpus is not None else self.spec.si("gpus")

    @property
    def gpus_per_node(self) -> int:
        return self.spec.si("gpus_per_node")

    @property
    def nodes(self) -> int:
        return -(-self.gpus // self.gpus_per_node)

    def subset(self, gpus: int) -> "Cluster":
        """A job on `gpus` accelerators of this cluster (same nodes, links and failure rate)."""
        if not 1 <= gpus <= self.spec.si("gpus"):
            raise ValueError(f"{self.name} has {self.spec.si('gpus')} GPUs; cannot take {gpus}")
        return Cluster(self.spec, self._accelerator, self._link, gpus)

    # --- links, in plain floats (B/s per direction, s per hop) ---------------------------------
    def si(self, field: str):
        return self.spec.si(field)

    @property
    def scaleup_bw(self) -> float:
        """NVLink bandwidth one GPU sends one way: half the vendor's both-directions figure."""
        return self.accelerator.si("scaleup_bandwidth_total") / 2

    @property
    def scaleout_bw(self) -> float:
        return self.link.si("bandwidth")

    @property
    def scaleup_latency(self) -> float:
        return self.spec.si("scaleup_latency")

    @property
    def scaleout_latency(self) -> float:
        return self.link.si("latency")

    @property
    def scaleout_bandwidth(self):
        """The network bandwidth per GPU per direction, as a quantity."""
        return self.link.quantity("bandwidth")

    def __getattr__(self, field: str):
        if field.startswith("_") or field == "spec":
            raise AttributeError(field)
        return self.spec.quantity(field)

    def __repr__(self):
        extra = f" ({self._gpus} GPUs)" if self._gpus is not None else ""
        return f"<Cluster {self.key}{extra}>"
