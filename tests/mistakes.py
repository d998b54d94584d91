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
    "ch02_multiple_inputs": Mistake(
        cell="update_weights",
        old="    return [w - alpha * d for w, d in zip(weights, weight_deltas)]",
        new="    for i, d in enumerate(weight_deltas):\n        weights[i] -= alpha * d\n    return weights",
        failing=frozenset({"update_weights_steps_downhill", "train_history"}),
        message="update_weights changed the list it was given",
    ),
    "ch03_freezing_one_weight": Mistake(
        cell="frozen_weight_deltas",
        old="    deltas[frozen] = 0\n",
        new="",
        failing=frozenset({"frozen_weight_gets_no_delta", "step_frozen_keeps_frozen_weight", "train_frozen_history"}),
        message="the frozen weight (index 0, weight a) still gets a weight delta",
    ),
    "ch04_multiple_outputs": Mistake(
        cell="deltas",
        old="return [p - t for p, t in zip(pred, true)]",
        new="return [t - p for p, t in zip(pred, true)]",
        failing=frozenset({"deltas_pred_minus_true", "train_history"}),
        message="the sign is flipped: you computed true - pred",
    ),
    "ch05_multiple_inputs_outputs": Mistake(
        cell="train_step",
        old="outer_prod(delta, input)",
        new="outer_prod(input, delta)",
        failing=frozenset({"train_step_outer_delta_input"}),
        message="did you call outer_prod(input, delta)?",
    ),
    "ch06_mnist": Mistake(
        cell="batch_update",
        old="    return W - alpha * (delta.T @ X) / len(X)",
        new="    return W - alpha * (delta.T @ X)",
        failing=frozenset({"batch_update_is_mean_of_sample_updates", "trained_network_reads_digits"}),
        message="sum instead of mean: you added the weight deltas of the batch",
    ),
}
