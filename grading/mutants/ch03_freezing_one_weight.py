"""Mutants of chapter 3: each a classic mistake, typed into one reference answer."""

from grading.mutants import Mutant

FREEZE = "    deltas[frozen] = 0\n    return deltas"
STEP = "    return [w - alpha * d for w, d in zip(weights, deltas)]"
TRAIN_LOOP = ("    history, errors = [list(weights)], []\n    for _ in range(num_steps):\n"
              "        errors.append((neural_network(input, history[-1]) - goal) ** 2)\n"
              "        history.append(step_frozen(history[-1], input, goal, alpha, frozen))\n"
              "    return history, errors")

MUTANTS = [
    # frozen_weight_deltas
    Mutant("not_frozen", "frozen_weight_deltas", FREEZE, "    return deltas",
           hint="the frozen weight (index 0, weight a) still gets a weight delta: "
                "set the entry at index `frozen` to 0."),
    Mutant("goal_minus_pred", "frozen_weight_deltas", "neural_network(input, weights) - goal",
           "goal - neural_network(input, weights)",
           hint="delta's sign is flipped: use delta = pred - goal, since the update subtracts."),
    Mutant("always_a", "frozen_weight_deltas", "deltas[frozen] = 0", "deltas[0] = 0",
           hint="you always froze weight a (index 0): zero the entry at index `frozen` instead."),
    Mutant("return_in_loop", "frozen_weight_deltas", FREEZE,
           "    for i in range(len(deltas)):\n        if i == frozen:\n            deltas[i] = 0\n"
           "        return deltas",
           hint="the frozen weight (index 2, weight c) still gets a weight delta: "
                "set the entry at index `frozen` to 0."),
    Mutant("removed_entry", "frozen_weight_deltas", "deltas[frozen] = 0", "deltas.pop(frozen)",
           hint="keep one entry per weight: set the frozen weight's entry to 0 instead of removing it."),
    Mutant("zeroed_the_input", "frozen_weight_deltas", "    deltas = ele_mul(delta, input)\n    deltas[frozen] = 0",
           "    input[frozen] = 0\n    deltas = ele_mul(delta, input)"),
    # step_frozen
    Mutant("uphill", "step_frozen", "w - alpha * d", "w + alpha * d",
           hint="the update's sign is flipped: you stepped uphill. Subtract: weight - alpha * weight_delta."),
    Mutant("no_alpha", "step_frozen", "w - alpha * d", "w - d",
           hint="alpha is missing: multiply each weight delta by alpha before subtracting it."),
    Mutant("one_weight_at_a_time", "step_frozen",
           "    deltas = frozen_weight_deltas(input, weights, goal, frozen)\n" + STEP,
           "    new = list(weights)\n    for i in range(len(new)):\n"
           "        new[i] -= alpha * frozen_weight_deltas(input, new, goal, frozen)[i]\n    return new",
           hint="you updated weight b before computing weight c's delta, so c saw a prediction b had already "
                "changed. Compute all the weight deltas first, then update."),
    Mutant("changes_only", "step_frozen", "w - alpha * d", "alpha * d"),
    Mutant("in_place", "step_frozen", STEP,
           "    for i, d in enumerate(deltas):\n        weights[i] -= alpha * d\n    return weights"),
    Mutant("not_frozen", "step_frozen", "frozen_weight_deltas(input, weights, goal, frozen)",
           "ele_mul(neural_network(input, weights) - goal, input)"),
    # train_frozen
    Mutant("error_after_update", "train_frozen",
           "        errors.append((neural_network(input, history[-1]) - goal) ** 2)\n"
           "        history.append(step_frozen(history[-1], input, goal, alpha, frozen))",
           "        history.append(step_frozen(history[-1], input, goal, alpha, frozen))\n"
           "        errors.append((neural_network(input, history[-1]) - goal) ** 2)",
           hint="each error was measured after its step's update; measure it from the weights the step starts with."),
    Mutant("same_list", "train_frozen", TRAIN_LOOP,
           "    current = list(weights)\n    history, errors = [current], []\n    for _ in range(num_steps):\n"
           "        errors.append((neural_network(input, current) - goal) ** 2)\n"
           "        current[:] = step_frozen(current, input, goal, alpha, frozen)\n        history.append(current)\n"
           "    return history, errors",
           hint="every entry is the same list: you changed one list in place and appended it each time. "
                "Append a new list at every step."),
    Mutant("one_step_too_many", "train_frozen", "range(num_steps)", "range(num_steps + 1)",
           hint="the history starts with the initial weights, then one entry per step (num_steps + 1 in all)."),
    Mutant("error_of_every_entry", "train_frozen", "    return history, errors",
           "    errors.append((neural_network(input, history[-1]) - goal) ** 2)\n    return history, errors",
           hint="one error per step: the error of the prediction that step made, before its update."),
    Mutant("never_moves_on", "train_frozen", "step_frozen(history[-1], input, goal, alpha, frozen)",
           "step_frozen(weights, input, goal, alpha, frozen)"),
    # error_slice
    Mutant("unsquared", "error_slice", "(neural_network(input, trial) - goal) ** 2",
           "(neural_network(input, trial) - goal)",
           hint="you returned delta, not the error: square it."),
    Mutant("adds_value", "error_slice", "trial[index] = value", "trial[index] += value",
           hint="you added each value to the weight; the weight should *take* each value."),
    Mutant("always_a", "error_slice", "trial[index] = value", "trial[0] = value",
           hint="you always varied weight a (index 0): vary the weight at `index`."),
    Mutant("return_in_loop", "error_slice", "        errors.append((neural_network(input, trial) - goal) ** 2)\n"
           "    return errors",
           "        errors.append((neural_network(input, trial) - goal) ** 2)\n        return errors",
           hint="return one error per value."),
    Mutant("no_copy", "error_slice", "trial = list(weights)", "trial = weights"),
]

# correct answers written differently: each must earn full marks
ALTERNATIVES = [
    Mutant("comprehension", "frozen_weight_deltas",
           "    deltas = ele_mul(delta, input)\n" + FREEZE,
           "    return [0 if i == frozen else delta * x for i, x in enumerate(input)]"),
    Mutant("numpy_deltas", "frozen_weight_deltas", "    deltas = ele_mul(delta, input)\n" + FREEZE,
           "    deltas = np.array(input, dtype=float) * delta\n    deltas[frozen] = 0.0\n    return deltas.tolist()"),
    Mutant("skip_the_frozen", "step_frozen", STEP,
           "    new = list(weights)\n    for i, d in enumerate(deltas):\n        if i != frozen:\n"
           "            new[i] = weights[i] - alpha * d\n    return new"),
    Mutant("list_pair", "train_frozen", "    return history, errors", "    return [history, errors]"),
    Mutant("while_loop", "train_frozen", TRAIN_LOOP,
           "    history, errors = [weights[:]], []\n    while len(errors) < num_steps:\n"
           "        current = history[-1]\n        errors.append((w_sum(input, current) - goal) ** 2)\n"
           "        history.append(step_frozen(current, input, goal, alpha, frozen))\n    return history, errors"),
    Mutant("numpy_slice", "error_slice",
           "    errors = []\n    for value in values:\n        trial = list(weights)\n        trial[index] = value\n"
           "        errors.append((neural_network(input, trial) - goal) ** 2)\n    return errors",
           "    rest = w_sum(input, weights) - input[index] * weights[index]\n"
           "    return list((rest + input[index] * np.asarray(values, dtype=float) - goal) ** 2)"),
]
