"""qcompile: a compiler and IR toolkit for hybrid quantum-classical models.

``qcompile.compile(program, level, target)`` is the one call from a program to optimized,
target-lowered circuits (:mod:`qcompile.compiler`); it is imported on first use, so that
``import qcompile`` stays light.
"""

__all__ = ["Compiled", "Target", "compile"]


def __getattr__(name: str):
    if name in __all__:
        from . import compiler
        return getattr(compiler, name)
    raise AttributeError(f"module 'qcompile' has no attribute {name!r}")
