"""One classic mistake per chapter, typed into the reference answers for the autograde round trip.

The student answers every cell with the reference solution, except that in the answer cell
``cell`` the text ``old`` is replaced by ``new``. Autograding must then fail exactly the test
cells in ``failing`` (the rest get full points), and the feedback must show ``message``,
the diagnostic the visible check prints for that mistake.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    cell: str
    old: str
    new: str
    failing: frozenset
    message: str


MISTAKES = {
    "ch01_one_weight": Mistake(
        cell="step",
        old="weight - alpha * slope",
        new="weight + alpha * slope",
        failing=frozenset({"step_goes_downhill", "train_history"}),
        message="the sign is flipped: you stepped uphill",
    ),
}
