"""The deck build: claims, rendering, listings, figures and checks (build tooling, not the engine).

Nothing here is imported by `import mlsysim`; the engine never imports slides, templates or figures.
"""
from .claims import Claim, ClaimError, Claims, Erratum  # noqa: F401
