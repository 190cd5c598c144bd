"""Adapters that put compiled programs inside other ML frameworks.

Each lives in its own module (``qcompile.adapters.torch``) so that the framework is imported
only by those who use it; qcompile itself never depends on one.
"""
