"""python -m grading.mutants [chapter ...]: rewrite the mistake tables from the mutants (make mistakes)."""

import sys

from grading.mutants import ROOT, write_tables

for chapter in sys.argv[1:] or sorted(p.name for p in (ROOT / "grading" / "mutants").glob("ch*.py")):
    write_tables(chapter.removesuffix(".py"))
