"""Mutants of chapter 2: each a classic mistake, typed into one reference answer."""

from grading.mutants import Mutant

SUM_LOOP = "    total = 0\n    for x, y in zip(a, b):\n        total += x * y\n    return total"
TRAIN_LOOP = ("    history = [list(weights)]\n    for _ in range(num_steps):\n"
              "        deltas = weight_deltas(input, history[-1], goal)\n"
              "        history.append(update_weights(history[-1], deltas, alpha))\n    return history")

MUTANTS = [
    # w_sum
    Mutant("products", "w_sum", SUM_LOOP, "    return [x * y for x, y in zip(a, b)]",
           hint="you returned the products one by one; add them up into one number."),
    Mutant("product_of_sums", "w_sum", SUM_LOOP, "    return sum(a) * sum(b)",
           hint="you multiplied the two sums (1+2+3) * (4+5+6); multiply matching entries first, then add."),
    Mutant("sum_of_everything", "w_sum", SUM_LOOP, "    return sum(a) + sum(b)",
           hint="you added everything up; multiply matching entries, then add the products."),
    Mutant("return_in_loop", "w_sum", "        total += x * y\n    return total",
           "        total += x * y\n        return total",
           hint="you returned inside the loop, after the first product: move `return total` after the loop "
                "(one indentation level less)."),
    Mutant("squares_of_a", "w_sum", "total += x * y", "total += x * x"),
    # neural_network
    Mutant("inputs_only", "neural_network", "return w_sum(input, weights)", "return sum(input)",
           hint="you added the inputs and ignored the weights; multiply each input by its weight."),
    Mutant("products", "neural_network", "return w_sum(input, weights)",
           "return [x * w for x, w in zip(input, weights)]",
           hint="you returned one product per input; add them up into one prediction."),
    Mutant("weights_only", "neural_network", "return w_sum(input, weights)", "return sum(weights)"),
    # ele_mul
    Mutant("adds", "ele_mul", "number * entry", "number + entry",
           hint="you added the number instead of multiplying by it."),
    Mutant("in_place", "ele_mul", "    return [number * entry for entry in vector]",
           "    for i in range(len(vector)):\n        vector[i] *= number\n    return vector"),
    Mutant("list_times_number", "ele_mul", "return [number * entry for entry in vector]", "return vector * number",
           hint="`vector * number` does not scale a list: a list times a whole number repeats the list, and "
                "times any other number is an error. Multiply entry by entry: [number * entry for entry in vector]."),
    Mutant("sums", "ele_mul", "return [number * entry for entry in vector]",
           "return sum(number * entry for entry in vector)"),
    Mutant("sum_in_a_list", "ele_mul", "return [number * entry for entry in vector]",
           "return [sum(number * entry for entry in vector)]",
           hint="return one entry per entry of the vector, not their sum."),
    # weight_deltas
    Mutant("goal_minus_pred", "weight_deltas", "neural_network(input, weights) - goal",
           "goal - neural_network(input, weights)",
           hint="delta's sign is flipped: use delta = pred - goal (the update subtracts, so a prediction "
                "that is too low must give a negative delta)."),
    Mutant("error_times_input", "weight_deltas", "return ele_mul(delta, input)", "return ele_mul(delta ** 2, input)",
           hint="you multiplied the error (delta squared) by the inputs; multiply delta itself."),
    Mutant("delta_times_weights", "weight_deltas", "return ele_mul(delta, input)", "return ele_mul(delta, weights)",
           hint="you multiplied delta by the weights; a weight delta is delta times the weight's *input*."),
    Mutant("kept_the_two", "weight_deltas", "return ele_mul(delta, input)", "return ele_mul(2 * delta, input)",
           hint="you kept the 2 of the derivative; this course folds it into alpha: weight delta = delta * input."),
    # update_weights
    Mutant("uphill", "update_weights", "w - alpha * d", "w + alpha * d",
           hint="the update's sign is flipped: you stepped uphill. Subtract: weight - alpha * weight_delta."),
    Mutant("no_alpha", "update_weights", "w - alpha * d", "w - d",
           hint="alpha is missing: multiply each weight delta by alpha before subtracting it."),
    Mutant("no_alpha_uphill", "update_weights", "w - alpha * d", "w + d",
           hint="alpha is missing and the sign is flipped: use weight - alpha * weight_delta."),
    Mutant("changes_only", "update_weights", "w - alpha * d", "alpha * d",
           hint="you returned the changes (alpha * weight_delta), not the new weights."),
    Mutant("in_place", "update_weights", "    return [w - alpha * d for w, d in zip(weights, weight_deltas)]",
           "    for i, d in enumerate(weight_deltas):\n        weights[i] -= alpha * d\n    return weights"),
    # train
    Mutant("same_list", "train", TRAIN_LOOP,
           "    current = list(weights)\n    history = [current]\n    for _ in range(num_steps):\n"
           "        deltas = weight_deltas(input, current, goal)\n"
           "        current[:] = update_weights(current, deltas, alpha)\n        history.append(current)\n"
           "    return history",
           hint="every entry is the same list: one list was changed in place and appended at every step. "
                "Append a new list at every step (and if update_weights changes the list it was given, "
                "fix update_weights first)."),
    Mutant("never_moves_on", "train", "weight_deltas(input, history[-1], goal)\n"
           "        history.append(update_weights(history[-1], deltas, alpha))",
           "weight_deltas(input, weights, goal)\n        history.append(update_weights(weights, deltas, alpha))",
           hint="the weights never change after the first step: give the new weights to the next step."),
    Mutant("one_weight_at_a_time", "train", TRAIN_LOOP,
           "    history = [list(weights)]\n    for _ in range(num_steps):\n        new = list(history[-1])\n"
           "        for i in range(len(new)):\n            delta = neural_network(input, new) - goal\n"
           "            new[i] -= alpha * delta * input[i]\n        history.append(new)\n    return history",
           hint="you updated a weight before computing every weight delta, so each weight saw a prediction "
                "the previous one had already changed. Compute all the weight deltas first, then update."),
    Mutant("global_goal", "train", "weight_deltas(input, history[-1], goal)", "weight_deltas(input, history[-1], 1)"),
    Mutant("uphill", "train", "update_weights(history[-1], deltas, alpha)",
           "update_weights(history[-1], deltas, -alpha)",
           hint="every step went uphill: either delta's sign is flipped (use delta = pred - goal) or the update's "
                "(subtract: weight - alpha * weight_delta)."),
    Mutant("no_alpha", "train", "history.append(update_weights(history[-1], deltas, alpha))",
           "history.append([w - d for w, d in zip(history[-1], deltas)])",
           hint="alpha is missing: without it the steps are far too big and the weights blow up."),
    Mutant("one_step_short", "train", "range(num_steps)", "range(num_steps - 1)",
           hint="the history starts with the initial weights, then one entry per step (num_steps + 1 in all)."),
    Mutant("no_start", "train", TRAIN_LOOP,
           "    history, current = [], list(weights)\n    for _ in range(num_steps):\n"
           "        current = update_weights(current, weight_deltas(input, current, goal), alpha)\n"
           "        history.append(current)\n    return history",
           hint="the history starts with the initial weights, then one entry per step (num_steps + 1 in all)."),
]

# correct answers written differently: each must earn full marks
ALTERNATIVES = [
    Mutant("generator_sum", "w_sum", SUM_LOOP, "    return sum(x * y for x, y in zip(a, b))"),
    Mutant("numpy_dot", "w_sum", SUM_LOOP, "    return np.dot(a, b)"),
    Mutant("index_loop", "w_sum", SUM_LOOP,
           "    total = 0.0\n    for i in range(len(a)):\n        total = total + a[i] * b[i]\n    return total"),
    Mutant("append_loop", "ele_mul", "    return [number * entry for entry in vector]",
           "    out = []\n    for entry in vector:\n        out.append(entry * number)\n    return out"),
    Mutant("numpy_scale", "ele_mul", "    return [number * entry for entry in vector]",
           "    return list(np.asarray(vector, dtype=float) * number)"),
    Mutant("inline_deltas", "weight_deltas", "    delta = neural_network(input, weights) - goal\n"
           "    return ele_mul(delta, input)",
           "    delta = w_sum(input, weights) - goal\n    return [delta * x for x in input]"),
    Mutant("copy_then_update", "update_weights", "    return [w - alpha * d for w, d in zip(weights, weight_deltas)]",
           "    new = list(weights)\n    for i in range(len(new)):\n        new[i] -= alpha * weight_deltas[i]\n"
           "    return new"),
    Mutant("numpy_update", "update_weights", "    return [w - alpha * d for w, d in zip(weights, weight_deltas)]",
           "    return (np.array(weights) - alpha * np.array(weight_deltas)).tolist()"),
    Mutant("while_loop", "train", TRAIN_LOOP,
           "    history = [weights[:]]\n    while len(history) <= num_steps:\n"
           "        current = history[-1]\n"
           "        history.append(update_weights(current, weight_deltas(input, current, goal), alpha))\n"
           "    return history"),
    Mutant("tuple_history", "train", "    return history", "    return tuple(history)"),
]
