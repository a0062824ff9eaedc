"""The physics: formulas derived in sympy (`derivations`), evaluated as plain Python (`formulas`)."""
from . import formulas  # noqa: F401  (mlsysim.core.formulas.calc_... as the reference listings call it)
