"""The ``.qm`` model language: a small text format for hybrid quantum-classical models.

``parse_model(text)`` returns a verified IR :class:`~qcompile.ir.Program`; the grammar is in
``grammar.lark``, the lowering in ``parser.py``, the gate templates in ``templates.py``.
"""

from .parser import looks_like_model, parse_model, parse_observable
from .templates import TEMPLATES, apply_template

__all__ = ["TEMPLATES", "apply_template", "looks_like_model", "parse_model",
           "parse_observable"]
