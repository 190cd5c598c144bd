"""The ``.qm`` model language: a small text format for hybrid quantum-classical models.

``parse_model(text)`` returns a verified IR :class:`~qcompile.ir.Program`; the grammar is in
``grammar.lark``, the lowering in ``parser.py``. The gate templates and the Pauli observable
syntax it shares with the builder live beside it, in ``frontend/templates.py`` and
``frontend/observables.py``.
"""

from .parser import looks_like_model, parse_model

__all__ = ["looks_like_model", "parse_model"]
