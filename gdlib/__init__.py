"""Shared helpers for the Generalizing Gradient Descent course.

Notebooks import named modules: ``from gdlib import checks, plots``.
"""

__version__ = "0.1.0"
