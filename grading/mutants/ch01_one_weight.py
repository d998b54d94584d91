"""Mutants of chapter 1: each a classic mistake, typed into one reference answer."""

from grading.mutants import Mutant

MUTANTS = [
    Mutant("adds", "predict", "input * weight", "input + weight",
           hint="you added the input and the weight; multiply them instead."),
    Mutant("unsquared", "error", "(pred - goal) ** 2", "(pred - goal)",
           hint="you returned delta (pred - goal) without squaring it."),
    Mutant("absolute", "error", "(pred - goal) ** 2", "abs(pred - goal)",
           hint="you returned the size of the miss |pred - goal|; square it instead."),
    Mutant("doubled", "error", "(pred - goal) ** 2", "2 * (pred - goal)",
           hint="you doubled delta instead of squaring it."),
    Mutant("no_two", "slope", "2 * delta * input", "delta * input",
           hint="you dropped the 2 that comes from differentiating delta ** 2: the slope is 2 * delta * input."),
    Mutant("no_input", "slope", "2 * delta * input", "2 * delta",
           hint="you forgot the input, the second factor of the chain rule: the slope is 2 * delta * input."),
    Mutant("delta_only", "slope", "return 2 * delta * input", "return delta",
           hint="you returned delta (pred - goal), not the slope: multiply it by 2 and by the input, "
                "2 * delta * input."),
    Mutant("input_three", "slope", "2 * delta * input", "2 * delta * 3"),
    Mutant("goal_minus_pred", "slope", "predict(input, weight) - goal", "goal - predict(input, weight)",
           hint="delta points the wrong way: use delta = pred - goal, not goal - pred."),
    Mutant("uphill", "step", "weight - alpha", "weight + alpha",
           hint="the sign is flipped: you stepped uphill. Subtract: weight - alpha * slope."),
    Mutant("no_alpha", "step", "weight - alpha * slope(input, weight, goal)", "weight - slope(input, weight, goal)",
           hint="alpha is missing: multiply the slope by alpha before subtracting it."),
    Mutant("half_slope", "step", "alpha * slope(input, weight, goal)",
           "alpha * (predict(input, weight) - goal) * input",
           hint="you used delta * input without the factor 2; call your slope function."),
    Mutant("change_only", "step", "weight - alpha * slope(input, weight, goal)", "alpha * slope(input, weight, goal)",
           hint="you returned the change (alpha * slope), not the new weight."),
    Mutant("never_assigned", "train", "weight = step(weight, input, goal, alpha)\n        history.append(weight)",
           "history.append(step(weight, input, goal, alpha))",
           hint="the weight never changes: assign the result of step back to weight inside the loop."),
    Mutant("running_example_only", "step", "slope(input, weight, goal)", "slope(3, weight, 10)"),
    Mutant("no_start", "train", "history = [weight]", "history = []"),
    Mutant("one_step_short", "train", "range(num_steps)", "range(num_steps - 1)"),
]

# correct answers written differently: each must earn full marks
ALTERNATIVES = [
    Mutant("numpy_scalars", "predict", "return input * weight", "return np.multiply(input, weight)"),
    Mutant("expanded_square", "error", "return (pred - goal) ** 2",
           "return pred * pred - 2 * pred * goal + goal * goal"),
    Mutant("inline_slope", "slope", "delta = predict(input, weight) - goal\n    return 2 * delta * input",
           "return 2 * input * (input * weight - goal)"),
    Mutant("tuple_history", "train", "    return history", "    return tuple(history)"),
    Mutant("while_loop", "train",
           "    for _ in range(num_steps):\n        weight = step(weight, input, goal, alpha)\n"
           "        history.append(weight)",
           "    while len(history) <= num_steps:\n        history.append(step(history[-1], input, goal, alpha))"),
]
