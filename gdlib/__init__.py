"""Shared helpers for the Generalizing Gradient Descent course.

Notebooks import named modules: ``from gdlib import checks, plots``.
"""

import os

__version__ = "0.1.0"

# set in a grading run's kernel (grading/sandbox/kernel.sh, grading/run.py)
GRADING_VARIABLES = ("GD_SANDBOXED", "GD_GRADING_RUN")


def in_grading_run():
    """Whether this kernel was started by the course's grader: the test cells' scores are what counts
    there, so the progress summary and the explorers leave themselves out."""
    return any(os.environ.get(name) == "1" for name in GRADING_VARIABLES)
