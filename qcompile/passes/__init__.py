"""Passes: named, registered rewrites and analyses of a Program, run by a PassManager.

Importing this package registers the built-in passes; ``available_passes()`` lists them.
"""

from .base import (AnalysisPass, BlockPass, CircuitPass, Pass, PropertySet, available_passes,
                   pass_class, register_pass)
from .cancel_inverses import CancelInverses
from .canonicalize import Canonicalize
from .commute_cancel import CommuteCancel
from .defer_measurements import DeferMeasurements
from .elide_permutations import ElidePermutations
from .fusion import Fuse
from .kernel_circuits import KernelCircuits
from .lift_measurements import LiftMeasurements
from .manager import (FixedPoint, PassManager, PassRecord, PassReport, parse_pipeline,
                      preset)
from .merge_1q import Merge1Q
from .quantize import QuantizeAngles, QuantizeWeights
from .resynthesize_2q import Resynthesize2Q
from .resynthesize_clifford import ResynthesizeClifford
from .route import FixDirection, Route
from .reuse_qubits import ReuseQubits, WidthChange
from .split_independent import SplitIndependent
from .translate_basis import TranslateBasis
from .stats import CircuitStats, CollectStats, circuit_stats, program_stats

__all__ = [
    "AnalysisPass", "BlockPass", "CancelInverses", "Canonicalize", "CircuitPass",
    "CircuitStats", "CollectStats", "CommuteCancel", "DeferMeasurements", "ElidePermutations",
    "FixDirection", "FixedPoint", "Fuse", "KernelCircuits", "LiftMeasurements", "Merge1Q", "Pass",
    "PassManager", "PassRecord", "PassReport", "PropertySet", "QuantizeAngles",
    "QuantizeWeights", "Resynthesize2Q",
    "ResynthesizeClifford", "ReuseQubits", "Route", "SplitIndependent", "TranslateBasis",
    "WidthChange",
    "available_passes", "circuit_stats", "parse_pipeline", "pass_class", "preset",
    "program_stats", "register_pass",
]
