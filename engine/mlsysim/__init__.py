"""MLSys·im: first-principles ML-systems modelling.

    import mlsysim
    p = mlsysim.Engine.solve(mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100)
    print(p.bottleneck, p.latency)

Importing is cheap: specs are loaded, and pint is imported, on first use.
"""
__version__ = "0.1.0"

import os as _os

if _os.environ.get("MLSYSIM_RECORD"):
    from .spec import record_to_file as _record_to_file

    _record_to_file(_os.environ["MLSYSIM_RECORD"])

from . import core  # noqa: F401
from .engine import Engine, PerformanceProfile  # noqa: F401
from .serving import ContinuousBatchingModel, ServingModel  # noqa: F401  (Part 2)
from .compression import CompressionModel  # noqa: F401  (Part 3)
from .registry import Hardware, Models  # noqa: F401
from .registry import Systems  # noqa: F401
from .distributed import DistributedModel  # noqa: F401
from .training import Reliability, training_flops, training_time  # noqa: F401
from .spec import SpecError  # noqa: F401
from .units import Q, ureg  # noqa: F401  (pint is imported on first use, not here)
