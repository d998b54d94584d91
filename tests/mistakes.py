"""One classic mistake per chapter, a mutant of grading/mutants/, for the autograde round trip.

The student answers every cell with the reference solution, except the answer cell the mutant
changes. Autograding must then fail exactly the test cells in ``failing`` (the rest get full
points), and the feedback must show ``message``, the diagnostic the visible check prints.
"""

from dataclasses import dataclass

from grading.mutants import mutants_of


@dataclass(frozen=True)
class Mistake:
    chapter: str
    cell: str
    mutant: str
    failing: frozenset
    message: str

    def apply(self, answers):
        """``answers`` with this mistake typed into its cell."""
        found = [m for m in mutants_of(self.chapter) if (m.cell, m.name) == (self.cell, self.mutant)]
        assert len(found) == 1, f"grading/mutants/{self.chapter}.py has no mutant {self.cell}/{self.mutant}"
        return found[0].apply(answers)


MISTAKES = {mistake.chapter: mistake for mistake in [
    Mistake("ch01_one_weight", "step", "uphill", frozenset({"step_goes_downhill", "train_history"}),
            "the sign is flipped: you stepped uphill"),
    Mistake("ch02_multiple_inputs", "update_weights", "in_place",
            frozenset({"update_weights_steps_downhill", "train_history"}),
            "update_weights changed its argument `weights`"),
    Mistake("ch03_freezing_one_weight", "frozen_weight_deltas", "not_frozen",
            frozenset({"frozen_weight_gets_no_delta", "step_frozen_keeps_frozen_weight", "train_frozen_history"}),
            "the frozen weight (index 0, weight a) still gets a weight delta"),
    Mistake("ch04_multiple_outputs", "deltas", "true_minus_pred",
            frozenset({"deltas_pred_minus_true", "train_history"}),
            "the sign is flipped: you computed true - pred"),
    Mistake("ch05_multiple_inputs_outputs", "train_step", "swapped_outer", frozenset({"train_step_outer_delta_input"}),
            "did you call outer_prod(input, delta)?"),
    Mistake("ch06_mnist", "batch_update", "sum_not_mean",
            frozenset({"batch_update_is_mean_of_sample_updates", "trained_network_reads_digits"}),
            "sum instead of mean: you added the weight deltas of the batch"),
    Mistake("ch08_backprop_graph", "backward", "overwritten",
            frozenset({"backward_sums_over_consumers", "minimize_descends_a_convex_loss"}),
            "a gradient was overwritten instead of accumulated"),
    Mistake("ch07_datasets", "sigmoid", "naive_overflow", frozenset({"sigmoid_is_stable"}),
            "overflow: 1 / (1 + np.exp(-z)) computes np.exp(1000) for z = -1000"),
]}
