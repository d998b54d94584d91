"""Mutants of chapter 8: each a classic mistake, typed into one reference answer."""

from grading.mutants import Mutant

_PLACE_ALL = "    for name, _ in graph:\n        place(name)\n    return order"

MUTANTS = [
    # topological_order
    Mutant("as_listed", "topological_order", _PLACE_ALL, "    return [name for name, _ in graph]",
           hint="you returned the nodes in the order they were listed: place each node after its inputs "
                "(depth first)."),
    Mutant("breadth_first", "topological_order", _PLACE_ALL,
           "    consumed = {source for _, inputs in graph for source in inputs}\n"
           "    queue = [name for name, _ in graph if name not in consumed]\n"
           "    for name in queue:\n"
           "        queue += [source for source in inputs_of[name] if source not in queue]\n"
           "    return queue[::-1]",
           hint="breadth-first from the output, reversed: x comes after n1, which needs it. A node reached along "
                "paths of different lengths must wait for the longest one: place a node only after all of its "
                "inputs."),
    Mutant("consumers_first", "topological_order",
           "            placed.add(name)\n            for source in inputs_of[name]:\n"
           "                place(source)\n            order.append(name)",
           "            placed.add(name)\n            order.append(name)\n"
           "            for source in inputs_of[name]:\n                place(source)",
           hint="consumers before their inputs: you placed a node before its inputs; place its inputs first, "
                "then append it."),
    # add_gradient
    Mutant("not_summed", "add_gradient", "    return sum_to(tuple(a_shape)), sum_to(tuple(b_shape))",
           "    return grad, grad",
           hint="not summed over the broadcast axes: b was added to every row, so its gradient is the sum of grad "
                "over the rows, an array of b's shape."),
    Mutant("length_one_axes_not_summed", "add_gradient",
           "return summed.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)",
           "return summed",
           hint="the axes of length 1 were not summed: b of shape (2, 1) was added to every column, so sum grad "
                "over axis 1, keeping it (keepdims=True)."),
    Mutant("no_keepdims", "add_gradient", "if n == 1), keepdims=True)", "if n == 1))",
           hint="keepdims is missing: the gradient for b must keep b's shape (2, 1), not (2,)."),
    # matmul_gradient
    Mutant("swapped", "matmul_gradient", "return grad @ B.T, A.T @ grad", "return A.T @ grad, grad @ B.T",
           hint="the two gradients are swapped: the gradient for A is grad @ B.T, the one for B is A.T @ grad."),
    Mutant("missing_transpose", "matmul_gradient", "return grad @ B.T, A.T @ grad", "return grad @ B, A.T @ grad",
           hint="a transpose is missing: the gradient for A is grad @ B.T (entry A[i, l] meets row l of B)."),
    Mutant("transposed_B_gradient", "matmul_gradient", "A.T @ grad", "grad.T @ A"),
    # reduce_sum_gradient
    Mutant("not_repeated", "reduce_sum_gradient", "    return np.broadcast_to(grad, shape).copy()", "    return grad",
           hint="the gradient was not repeated: every entry of x took part in the sum, so the gradient has x's "
                "shape, with grad repeated along the summed axis."),
    Mutant("wrong_axis", "reduce_sum_gradient", "np.expand_dims(grad, axis)", "np.expand_dims(grad, 0)",
           hint="repeated along the wrong axis: put the summed axis back where it was, np.expand_dims(grad, axis), "
                "before broadcasting."),
    # log_gradient and sigmoid_gradient
    Mutant("log_times_x", "log_sigmoid_gradients", "return grad / x", "return grad * x",
           hint="g * x instead of g / x: the derivative of log(x) is 1 / x."),
    Mutant("sigmoid_without_grad", "log_sigmoid_gradients", "return grad * s * (1 - s)", "return s * (1 - s)",
           hint="the incoming gradient is missing: multiply the local derivative s * (1 - s) by grad "
                "(the chain rule)."),
    Mutant("sigmoid_twice", "log_sigmoid_gradients", "return grad * s * (1 - s)",
           "return grad * sigmoid(s) * (1 - sigmoid(s))",
           hint="s is already sigmoid(x): its derivative is s * (1 - s); you applied the sigmoid to s again."),
    # softmax_gradient
    Mutant("no_coupling", "softmax_gradient", "return s * (grad - np.sum(grad * s, axis=1, keepdims=True))",
           "return grad * s * (1 - s)",
           hint="the coupling term is missing: each output of softmax depends on every score of its row, so "
                "subtract sum(grad * s) of the row: s * (grad - sum(grad * s, axis=1, keepdims=True))."),
    Mutant("columns", "softmax_gradient", "axis=1", "axis=0",
           hint="summed over the wrong axis: softmax works row by row, so the coupling term is sum(grad * s) "
                "along axis 1."),
    # backward
    Mutant("overwritten", "backward", "gradients[index_of[source]] = gradients[index_of[source]] + part",
           "gradients[index_of[source]] = part",
           hint="a gradient was overwritten instead of accumulated: y has two consumers (n1 and L), so add up what "
                "each sends back (grads[input] = grads[input] + part)."),
    Mutant("breadth_first", "backward",
           "    for name in reversed(topological_order([(name, inputs) for name, _, inputs in graph])):",
           "    queue = [loss]\n"
           "    for name in queue:\n"
           "        queue += [s for s in graph[index_of[name]][2] if s not in queue]\n"
           "    for name in queue:",
           hint="breadth-first instead of reverse topological order: y sent its gradient to x before n1 had sent "
                "its part to y. Walk reversed(topological_order(...))."),
    Mutant("not_reversed", "backward", "reversed(topological_order(", "(topological_order(",
           hint="the nodes were walked in topological order, not reversed: a node must receive its gradient from "
                "all its consumers before it passes it on, so start from the loss: reversed(topological_order(...))."),
    Mutant("no_seed", "backward", "    gradients[index_of[loss]] = np.ones_like(values[index_of[loss]])\n", ""),
    # minimize (its exercise also owns softmax_regression_reads_92_percent: each must spoil W_mnist)
    Mutant("uphill", "minimize", "value - learning_rate * grad", "value + learning_rate * grad",
           hint="the sign is flipped: the step goes uphill and the loss grows; subtract learning_rate * gradient."),
    Mutant("never_moves", "minimize", "        values = [value - learning_rate",
           "        moved = [value - learning_rate",
           hint="the variables never move: each step must replace the values it works on with the moved ones."),
]

# correct answers written differently: each must earn full marks
ALTERNATIVES = [
    Mutant("kahn", "topological_order",
           "    inputs_of = dict(graph)\n    order, placed = [], set()\n\n    def place(name):\n"
           "        if name not in placed:\n            placed.add(name)\n            for source in inputs_of[name]:\n"
           "                place(source)\n            order.append(name)\n\n" + _PLACE_ALL,
           "    waiting = {name: set(inputs) for name, inputs in graph}  # Kahn's algorithm\n"
           "    order = []\n"
           "    while waiting:\n"
           "        ready = [name for name, inputs in waiting.items() if not inputs]\n"
           "        for name in ready:\n"
           "            del waiting[name]\n"
           "            order.append(name)\n"
           "        for inputs in waiting.values():\n"
           "            inputs.difference_update(ready)\n"
           "    return order"),
    Mutant("reshape_then_sum", "add_gradient",
           "    def sum_to(shape):\n"
           "        summed = grad.sum(axis=tuple(range(grad.ndim - len(shape))))"
           "  # leading axes added by broadcasting\n"
           "        return summed.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)"
           "  # length-1 axes\n",
           "    def sum_to(shape):\n"
           "        g = np.asarray(grad, dtype=float)\n"
           "        while g.ndim > len(shape):\n"
           "            g = g.sum(axis=0)\n"
           "        for axis, n in enumerate(shape):\n"
           "            if n == 1 and g.shape[axis] != 1:\n"
           "                g = g.sum(axis=axis, keepdims=True)\n"
           "        return g.reshape(shape)\n"),
    Mutant("einsum", "matmul_gradient", "return grad @ B.T, A.T @ grad",
           'return np.einsum("ik,jk->ij", grad, B), np.einsum("ij,ik->jk", A, grad)'),
    Mutant("repeat", "reduce_sum_gradient",
           "    if axis is not None:\n"
           "        grad = np.expand_dims(grad, axis)  # the summed axis back, with length 1\n"
           "    return np.broadcast_to(grad, shape).copy()",
           "    if axis is None:\n        return np.full(shape, float(grad))\n"
           "    return np.repeat(np.expand_dims(grad, axis), shape[axis], axis=axis)"),
    Mutant("jacobian_per_row", "softmax_gradient", "    return s * (grad - np.sum(grad * s, axis=1, keepdims=True))",
           "    rows = [(np.diag(row) - np.outer(row, row)) @ g for row, g in zip(s, grad)]\n"
           "    return np.array(rows)"),
    Mutant("dict_of_gradients", "backward",
           "    gradients = [np.zeros_like(value) for value in values]\n",
           "    gradients = [0 * np.asarray(value) for value in values]\n"),
    Mutant("in_loop_update", "minimize",
           "        values = [value - learning_rate * grad if op == \"variable\" else value\n"
           "                  for (_, op, _), value, grad in zip(graph, values, grads)]",
           "        values = list(values)\n"
           "        for k, (_, op, _) in enumerate(graph):\n"
           "            if op == \"variable\":\n"
           "                values[k] = values[k] - learning_rate * grads[k]"),
]
