"""Circuit cutting: split a circuit into fragments that fit a smaller device, run each
fragment's sub-experiments, and rebuild the uncut read-out from them.

- :mod:`.decompositions`: gate and wire cuts as quasi-probability decompositions;
- :mod:`.plan`: :func:`find_cuts`, the cheapest cuts under a qubit budget;
- :mod:`.experiments`: the sub-experiments as ordinary circuits, deduplicated;
- :mod:`.reconstruct`: expectation values and probabilities from their exact results;
- :mod:`.sampling`: the same estimated from shots, with standard errors.
"""

from .decompositions import Decomposition, Term, gate_cut, wire_cut
from .experiments import Experiments, Readout, exact
from .plan import Cut, CutPlan, find_cuts
from .reconstruct import reconstruct
from .sampling import Estimate, estimate

__all__ = ["Cut", "CutPlan", "Decomposition", "Estimate", "Experiments", "Readout", "Term",
           "estimate", "exact", "find_cuts", "gate_cut", "reconstruct", "wire_cut"]
