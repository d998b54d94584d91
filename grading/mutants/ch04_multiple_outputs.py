"""Mutants of chapter 4: each a classic mistake, typed into one reference answer."""

from grading.mutants import Mutant

_TRAIN_LOOP = ("    for _ in range(num_steps):\n"
               "        step_delta = deltas(predict(input, weights), true)\n"
               "        weights = update_weights(weights, weight_deltas(input, step_delta), alpha)\n"
               "        history.append(weights)")

MUTANTS = [
    Mutant("summed", "predict", "return [input * w for w in weights]", "return sum(input * w for w in weights)",
           hint="you added up input * weight into one number: that is chapter 2's one-output network. "
                "Here every weight makes its own prediction: return a list."),
    Mutant("adds", "predict", "input * w", "input + w",
           hint="you added the input to each weight; multiply them instead."),
    Mutant("in_place", "predict", "    return [input * w for w in weights]",
           "    for k in range(len(weights)):\n        weights[k] *= input\n    return weights"),
    Mutant("first_only", "predict", "for w in weights]", "for w in weights[:1]]"),

    Mutant("true_minus_pred", "deltas", "p - t", "t - p",
           hint="the sign is flipped: you computed true - pred. Use delta = pred - true: the update "
                "subtracts alpha * weight_delta, and only with this sign does it go downhill."),
    Mutant("squared", "deltas", "p - t", "(p - t) ** 2",
           hint="you squared the misses: those are the errors. delta is the raw miss, pred - true."),
    Mutant("absolute", "deltas", "p - t", "abs(p - t)"),
    Mutant("in_place", "deltas", "    return [p - t for p, t in zip(pred, true)]",
           "    for k, t in enumerate(true):\n        pred[k] -= t\n    return pred"),

    Mutant("doubled", "weight_deltas", "d * input", "2 * d * input",
           hint="you kept the factor 2 from the slope: this course folds it into alpha, "
                "so weight_delta = delta * input."),
    Mutant("no_input", "weight_deltas", "d * input", "d",
           hint="you returned the deltas unchanged: multiply each one by the input."),
    Mutant("divided", "weight_deltas", "d * input", "d / input",
           hint="you divided by the input; multiply by it instead."),
    Mutant("added", "weight_deltas", "d * input", "d + input"),

    Mutant("uphill", "update_weights", "w - alpha * wd", "w + alpha * wd",
           hint="the sign is flipped: you added alpha * weight_delta. Subtract it: weight - alpha * weight_delta."),
    Mutant("no_alpha", "update_weights", "w - alpha * wd", "w - wd",
           hint="alpha is missing: scale each weight delta by alpha before subtracting it."),
    Mutant("change_only", "update_weights", "w - alpha * wd", "alpha * wd",
           hint="you returned the changes (alpha * weight_delta), not the new weights."),
    Mutant("in_place", "update_weights", "    return [w - alpha * wd for w, wd in zip(weights, weight_delta)]",
           "    for k, wd in enumerate(weight_delta):\n        weights[k] -= alpha * wd\n    return weights"),
    Mutant("alpha_divides", "update_weights", "w - alpha * wd", "w - wd / alpha"),
    # the notebook's own alpha, input or targets where the parameters belong: right only for the example
    Mutant("example_alpha", "update_weights", "w - alpha * wd", "w - 0.1 * wd"),

    Mutant("uphill", "train", "deltas(predict(input, weights), true)", "deltas(true, predict(input, weights))",
           hint="the weights walk away from their targets: the sign of delta and the sign of the update disagree. "
                "Check that deltas returns pred - true and that update_weights subtracts."),
    Mutant("never_assigned", "train",
           "        weights = update_weights(weights, weight_deltas(input, step_delta), alpha)\n"
           "        history.append(weights)",
           "        history.append(update_weights(weights, weight_deltas(input, step_delta), alpha))",
           hint="the weights stop after one step: assign the new weights back to `weights` inside the loop."),
    Mutant("deltas_once", "train",
           "    for _ in range(num_steps):\n        step_delta = deltas(predict(input, weights), true)\n",
           "    step_delta = deltas(predict(input, weights), true)\n    for _ in range(num_steps):\n",
           hint="the deltas never change: compute them again from the current weights at every step, not once "
                "before the loop."),
    Mutant("caller_list_in_place", "train", "    history = [list(weights)]\n" + _TRAIN_LOOP,
           "    history = [weights]\n" + _TRAIN_LOOP.replace("weights = update_weights", "weights[:] = update_weights"),
           hint="every entry of the history is the same list, changed in place: append a new list at every step "
                "(update_weights must return a new list, not change the one it was given)."),
    Mutant("own_list_in_place", "train", "    history = [list(weights)]\n" + _TRAIN_LOOP,
           "    history = [list(weights)]\n    weights = list(weights)\n"
           + _TRAIN_LOOP.replace("weights = update_weights", "weights[:] = update_weights"),
           hint="the history after the start is the same list, changed in place at every step: append a new list "
                "at every step (update_weights must return a new list, not change the one it was given)."),
    Mutant("example_input", "train", "predict(input, weights), true)", "predict(0.65, weights), true)"),
    Mutant("example_targets", "train", "predict(input, weights), true)", "predict(input, weights), [0.1, 1, 0.1])"),
    Mutant("no_start", "train", "history = [list(weights)]", "history = []"),
    Mutant("one_step_short", "train", "range(num_steps)", "range(num_steps - 1)"),
]

# correct answers written differently: each must earn full marks
ALTERNATIVES = [
    Mutant("numpy_predict", "predict", "return [input * w for w in weights]",
           "return list(np.multiply(input, weights))"),
    Mutant("loop_predict", "predict", "    return [input * w for w in weights]",
           "    out = []\n    for w in weights:\n        out.append(input * w)\n    return out"),
    Mutant("indexed_deltas", "deltas", "return [p - t for p, t in zip(pred, true)]",
           "return [pred[k] - true[k] for k in range(len(pred))]"),
    Mutant("numpy_deltas", "deltas", "return [p - t for p, t in zip(pred, true)]",
           "return (np.asarray(pred, dtype=float) - np.asarray(true, dtype=float)).tolist()"),
    Mutant("mapped_weight_deltas", "weight_deltas", "return [d * input for d in delta]",
           "return list(map(lambda d: input * d, delta))"),
    Mutant("copy_then_update", "update_weights", "    return [w - alpha * wd for w, wd in zip(weights, weight_delta)]",
           "    new = list(weights)\n    for k in range(len(new)):\n        new[k] -= alpha * weight_delta[k]\n"
           "    return new"),
    Mutant("numpy_update", "update_weights", "return [w - alpha * wd for w, wd in zip(weights, weight_delta)]",
           "return (np.asarray(weights, dtype=float) - alpha * np.asarray(weight_delta, dtype=float)).tolist()"),
    Mutant("while_loop", "train", "    for _ in range(num_steps):\n",
           "    while len(history) <= num_steps:\n"),
    Mutant("numpy_train", "train",
           "    history = [list(weights)]\n" + _TRAIN_LOOP + "\n    return history",
           "    w, t = np.array(weights, dtype=float), np.array(true, dtype=float)\n    history = [w.tolist()]\n"
           "    for _ in range(num_steps):\n        w = w - alpha * (input * w - t) * input\n"
           "        history.append(w.tolist())\n    return history"),
]
