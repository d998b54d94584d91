"""Hidden tests of chapter 8, backpropagation through a computational graph: one per graded test cell.

Every op gradient is judged against central finite differences computed here (gdlib.gradcheck, in
float64) on fresh random inputs; graphs are random DAGs with nodes reached along paths of different
lengths, nodes used twice and skip connections, judged against this module's own backward pass.
"""

import functools

import numpy as np

from gdlib import gradcheck
from grading.hidden.judge import Failed, again, call, expect, expect_near, show

RTOL, ATOL = 1e-5, 1e-7
_LEAF_OPS = {"placeholder", "variable"}


def _vjp_reference(forward, inputs, grad):
    """Finite-difference gradients of sum(grad * forward(...)) for each input (float64)."""
    found = []
    for i in range(len(inputs)):
        def scalar(x, i=i):
            return np.sum(grad * forward(*inputs[:i], x, *inputs[i + 1:]))
        found.append(gradcheck.numerical_gradient(scalar, inputs[i]))
    return found


def _pair(result, shapes, what):
    """The result as a pair of float64 arrays of ``shapes``; ``Failed`` saying what came otherwise."""
    got = result.value()
    expect(isinstance(got, (tuple, list)) and len(got) == 2,
           f"{result.name} should return a pair ({what}), got {show(got)}.")
    arrays = []
    for part, shape, name in zip(got, shapes, what.split(", ")):
        try:
            array = np.array(part, dtype=np.float64)
        except (TypeError, ValueError):
            raise Failed(f"{result.name}: the {name} should be numbers, got {show(part)}.") from None
        expect(array.shape == tuple(shape), f"{result.name}: the {name} should have shape {tuple(shape)} "
                                            f"(the shape of its input), got shape {array.shape}.")
        arrays.append(array)
    return arrays


def _graph_text(graph):
    return "; ".join(f"{name} = {op}({', '.join(inputs)})" for name, op, inputs in graph if op not in _LEAF_OPS)


# --- topological order -------------------------------------------------------------------------

def _random_dag(rng, size, leaves):
    """(name, inputs) pairs of a random DAG: skip connections, inputs used twice, paths of many lengths."""
    names = [f"v{k}" for k in range(size)]
    graph = [(names[k], []) for k in range(leaves)]
    for k in range(leaves, size):
        count = int(rng.integers(1, 4))
        sources = [names[int(j)] for j in rng.integers(0, k, size=count)]
        sources[0] = names[k - 1]  # a long chain, so that some paths are much longer than others
        graph.append((names[k], sources))
    return graph


def _check_order(result, graph):
    got = result.value()
    names = [name for name, _ in graph]
    expect(isinstance(got, (list, tuple)) and all(isinstance(n, str) for n in got),
           f"{result.name} should return a list of node names, got {show(got)}.")
    expect(sorted(got) == sorted(names), f"{result.name} should list each of the {len(names)} nodes exactly once; "
                                         f"got {len(got)} names ({len(set(got) & set(names))} different nodes).")
    where = {name: k for k, name in enumerate(got)}
    for name, inputs in graph:
        for source in inputs:
            if where[source] > where[name]:
                raise Failed(f"{result.name}: {name} comes before its input {source}. Every node must come after "
                             "all of its inputs, also a node reached along paths of different lengths.")


def topological_order_puts_inputs_first(rng):
    """topological_order lists every node once after its inputs, for shuffled random DAGs."""
    graphs = [[("L", ["n2", "x"]), ("n1", ["x"]), ("x", []), ("n2", ["n1"])],
              [("x", []), ("y", ["x", "x"]), ("z", ["y", "x"]), ("w", ["z", "y", "x"])]]
    for size, leaves in ((6, 1), (12, 2), (25, 3), (40, 4)):
        graphs.append(_random_dag(rng, size, leaves))
    shuffled = []
    for graph in graphs:
        order = rng.permutation(len(graph))
        shuffled.append([(graph[int(k)][0], list(graph[int(k)][1])) for k in order])
    results = yield [call("topological_order", graph, label=f"topological_order(a graph of {len(graph)} nodes, "
                          "listed in random order)") for graph in shuffled]
    for graph, result in zip(shuffled, results):
        _check_order(result, graph)


# --- op gradients --------------------------------------------------------------------------------

def add_gradient_sums_broadcast_axes(rng):
    """add_gradient matches finite differences of a + b for broadcasting both ways, and of equal shapes."""
    shapes = [((3, 4), (4,)), ((3, 4), (3, 1)), ((3, 4), (3, 4)), ((4,), (3, 4)), ((3, 1), (1, 4)),
              ((2, 3, 4), (3, 1)), ((), (2, 3)), ((5, 2), (1,))]
    cases = []
    for a_shape, b_shape in shapes:
        a, b = rng.normal(size=a_shape), rng.normal(size=b_shape)
        cases.append((a, b, rng.normal(size=np.broadcast_shapes(a_shape, b_shape))))
    results = yield [call("add_gradient", grad, a.shape, b.shape, label=f"add_gradient(grad, {a.shape}, {b.shape})")
                     for a, b, grad in cases]
    for (a, b, grad), result in zip(cases, results):
        got = _pair(result, (a.shape, b.shape), "gradient for a, gradient for b")
        for name, part, want in zip("ab", got, _vjp_reference(np.add, [a, b], grad)):
            expect_near(part, want, f"{result.name}, the gradient for {name}", RTOL, ATOL,
                        hint="Sum grad over the leading axes broadcasting added and over the axes of length 1 "
                             "(keepdims=True).")


def matmul_gradient_matches_differences(rng):
    """matmul_gradient matches finite differences of A @ B for square and rectangular matrices."""
    cases = []
    for n, m, k in ((2, 3, 4), (1, 5, 1), (4, 4, 4), (3, 1, 2), (6, 2, 3)):
        A, B = rng.normal(size=(n, m)), rng.normal(size=(m, k))
        cases.append((rng.normal(size=(n, k)), A, B))
    results = yield [call("matmul_gradient", grad, A, B, label=f"matmul_gradient(grad, A, B) with A of shape {A.shape} "
                          f"and B of shape {B.shape}") for grad, A, B in cases]
    for (grad, A, B), result in zip(cases, results):
        got = _pair(result, (A.shape, B.shape), "gradient for A, gradient for B")
        want = _vjp_reference(np.matmul, [A, B], grad)
        expect_near(got[0], want[0], f"{result.name}, the gradient for A", RTOL, ATOL, hint="It is grad @ B.T.",
                    mistakes=[("a transpose is missing (grad @ B).", grad @ B if B.shape[0] == B.shape[1] else None)])
        expect_near(got[1], want[1], f"{result.name}, the gradient for B", RTOL, ATOL, hint="It is A.T @ grad.")


def reduce_sum_gradient_repeats_grad(rng):
    """reduce_sum_gradient matches finite differences of x.sum(axis), for every axis and for everything."""
    cases = []
    for shape, axis in (((3, 4), None), ((3, 4), 0), ((3, 4), 1), ((4, 4), 1), ((2, 3, 4), 1), ((5,), 0),
                        ((3, 4), -1), ((2, 3, 2), None)):
        x = rng.normal(size=shape)
        grad = rng.normal(size=np.shape(np.sum(x, axis=axis)))
        cases.append((grad if axis is not None else float(grad), x, axis))
    results = yield [call("reduce_sum_gradient", grad, x.shape, axis,
                          label=f"reduce_sum_gradient(grad, {x.shape}, axis={axis})") for grad, x, axis in cases]
    for (grad, x, axis), result in zip(cases, results):
        got = result.array()
        want = gradcheck.numerical_gradient(lambda v, grad=grad, axis=axis: np.sum(grad * np.sum(v, axis=axis)), x)
        expect_near(got, want, result.name, RTOL, ATOL, hint="Repeat grad along the summed axis: "
                    "np.expand_dims(grad, axis), broadcast to x's shape.")


def log_and_sigmoid_gradients_match_differences(rng):
    """log_gradient and sigmoid_gradient match finite differences of log(x) and sigmoid(x)."""
    logs = [(rng.normal(size=shape), rng.uniform(0.2, 3.0, size=shape)) for shape in ((5,), (3, 4))]

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    sigmoids = [(rng.normal(size=shape), rng.normal(0, 2, size=shape)) for shape in ((6,), (2, 5))]
    results = yield ([call("log_gradient", grad, x, label=f"log_gradient(grad, x) with x of shape {x.shape}")
                      for grad, x in logs]
                     + [call("sigmoid_gradient", grad, sigmoid(x), label=f"sigmoid_gradient(grad, s) with s = "
                             f"sigmoid(x) of shape {x.shape}") for grad, x in sigmoids])
    for (grad, x), result in zip(logs, results):
        expect_near(result.array(x.shape), _vjp_reference(np.log, [x], grad)[0], result.name, RTOL, ATOL,
                    hint="The derivative of log(x) is 1 / x.", mistakes=[("g * x instead of g / x.", grad * x)])
    for (grad, x), result in zip(sigmoids, results[len(logs):]):
        s = sigmoid(x)
        expect_near(result.array(x.shape), _vjp_reference(sigmoid, [x], grad)[0], result.name, RTOL, ATOL,
                    hint="With s = sigmoid(x), the derivative is s * (1 - s), times grad.",
                    mistakes=[("the incoming gradient is missing.", s * (1 - s)),
                              ("the sigmoid was applied to s again.", grad * sigmoid(s) * (1 - sigmoid(s)))])


def softmax_gradient_couples_each_row(rng):
    """softmax_gradient matches finite differences of the row softmax, for square and rectangular inputs."""
    def softmax(z):
        shifted = np.exp(z - np.max(z, axis=1, keepdims=True))
        return shifted / np.sum(shifted, axis=1, keepdims=True)

    cases = [(rng.normal(size=shape), rng.normal(0, 2, size=shape)) for shape in ((1, 5), (4, 3), (3, 3), (6, 10))]
    results = yield [call("softmax_gradient", grad, softmax(z), label=f"softmax_gradient(grad, s) with s = softmax(z) "
                          f"of shape {z.shape}") for grad, z in cases]
    for (grad, z), result in zip(cases, results):
        s = softmax(z)
        expect_near(result.array(z.shape), _vjp_reference(softmax, [z], grad)[0], result.name, RTOL, ATOL,
                    hint="Row by row: s * (grad - sum(grad * s, axis=1, keepdims=True)).",
                    mistakes=[("the coupling term is missing (grad * s * (1 - s)).", grad * s * (1 - s)),
                              ("the coupling term was summed along axis 0.",
                               s * (grad - np.sum(grad * s, axis=0, keepdims=True)))])


# --- backward ------------------------------------------------------------------------------------

def _forward(graph, values):
    ops = {"neg": np.negative, "mul": np.multiply}
    where = {node[0]: k for k, node in enumerate(graph)}
    values = list(values)
    done = set()

    def compute(name):
        if name in done:
            return
        done.add(name)
        _, op, inputs = graph[where[name]]
        for source in inputs:
            compute(source)
        if op not in _LEAF_OPS:
            values[where[name]] = ops[op](*[values[where[s]] for s in inputs])

    for name, _, _ in graph:
        compute(name)
    return values


def _backward(graph, values, loss):
    """The judge's own backward pass for neg and mul: the total derivative by dynamic programming over paths."""
    where = {node[0]: k for k, node in enumerate(graph)}
    consumers = {name: [] for name, _, _ in graph}
    for name, _, inputs in graph:
        for slot, source in enumerate(inputs):
            consumers[source].append((name, slot))

    @functools.cache
    def grad(name):
        if name == loss:
            return np.ones_like(values[where[loss]])
        total = np.zeros_like(values[where[name]])
        for consumer, slot in consumers[name]:
            _, op, inputs = graph[where[consumer]]
            upstream = grad(consumer)
            if op == "neg":
                total = total - upstream
            else:
                other = values[where[inputs[1 - slot]]]
                total = total + upstream * other
        return total

    return [grad(name) for name, _, _ in graph]


def _random_graph(rng, leaves, operations, shape):
    """A random graph of neg and mul over fresh leaves, its values, and its loss (the last node), shuffled."""
    graph, values = [], []
    for k in range(leaves):
        graph.append((f"x{k}", "placeholder" if k % 2 else "variable", []))
        values.append(rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1, 1], size=shape))
    for k in range(operations):
        names = [name for name, _, _ in graph]
        last = names[-1]
        if rng.random() < 0.35:
            graph.append((f"n{k}", "neg", [last]))
        else:  # the previous node and any earlier one (possibly itself: a node used twice)
            graph.append((f"n{k}", "mul", [last, names[int(rng.integers(0, len(names)))]]))
        values.append(None)
    values = _forward(graph, values)
    loss = graph[-1][0]
    order = rng.permutation(len(graph))
    return [graph[int(k)] for k in order], [values[int(k)] for k in order], loss


def backward_sums_over_consumers(rng):
    """backward equals the total derivative on random graphs (paths of different lengths, nodes used twice,
    skip connections, unused leaves), leaves its values unchanged and gives the same gradients when run twice."""
    cases = []
    # the breadth-first counterexample of the chapter, on a vector: L = neg(neg(y)) * y with y = neg(x)
    x = rng.normal(size=3)
    chapter = [("x", "variable", []), ("y", "neg", ["x"]), ("n1", "neg", ["y"]), ("n2", "neg", ["n1"]),
               ("L", "mul", ["n2", "y"])]
    cases.append((chapter, _forward(chapter, [x, None, None, None, None]), "L"))
    # a long chain with a skip connection from its start to its end, and an unused leaf
    chain, previous = [("x", "variable", []), ("u", "placeholder", [])], "x"
    for k in range(6):
        chain.append((f"c{k}", "neg", [previous]) if k % 2 else (f"c{k}", "mul", [previous, previous]))
        previous = f"c{k}"
    chain.append(("L", "mul", ["c5", "x"]))
    cases.append((chain, _forward(chain, [rng.uniform(0.5, 1, size=2), rng.normal(size=2)] + [None] * 7), "L"))
    for leaves, operations in ((1, 4), (2, 7), (3, 10), (3, 14)):
        cases.append(_random_graph(rng, leaves, operations, (int(rng.integers(1, 4)),)))
    requests = []
    for graph, values, loss in cases:
        label = f"backward(graph, values, {loss!r}) for {_graph_text(graph)}"
        requests.append(call("backward", graph, values, loss, label=label))
    graph, values, loss = cases[-1]
    requests.append(call("backward", graph, values, loss, label="the same backward run a second time"))
    results = yield requests
    for (graph, values, loss), result in zip(cases, results):
        got = result.value()
        expect(isinstance(got, (list, tuple)) and len(got) == len(graph),
               f"{result.name} should return a list of {len(graph)} gradients, one per node, got {show(got)}.")
        want = _backward(graph, values, loss)
        for (name, _, _), part, expected in zip(graph, got, want):
            expect_near(np.array(part, dtype=np.float64) if part is not None else np.nan, expected,
                        f"{result.name}: the gradient for {name}", 1e-9, 1e-12,
                        hint="Each node's gradient is the sum of what every consumer sends back, and a node may "
                             "pass its gradient on only after all its consumers have: "
                             "walk reversed(topological_order(...)).")
        for k, before in enumerate(values):
            expect(np.array_equal(np.asarray(result.argument_after(1)[k], dtype=np.float64), before),
                   f"{result.name} changed the value of {graph[k][0]} it was given: build new arrays instead.")
    twice, once = results[-1], results[-2]
    for k, (a, b) in enumerate(zip(twice.value(), once.value())):
        expect(np.array_equal(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)),
               f"backward gave other gradients the second time it ran on one graph (node {graph[k][0]}): "
               "no gradient may be left over from an earlier call; start every gradient at zero in each call.")


# --- minimize ------------------------------------------------------------------------------------

def minimize_descends_a_convex_loss(rng):
    """minimize follows gradient descent exactly on least squares with a broadcast bias, moving only variables."""
    cases = []
    for m, n, steps in ((6, 2, 5), (10, 3, 20), (4, 1, 1)):
        A, y = rng.normal(size=(m, n)), rng.normal(size=(m, 1))
        w, bias = rng.normal(size=(n, 1)), rng.normal(size=(1,))
        lr = 0.25 / (np.linalg.norm(A, 2) ** 2 + m)
        graph = [("A", "placeholder", []), ("w", "variable", []), ("b", "variable", []), ("negy", "placeholder", []),
                 ("Aw", "matmul", ["A", "w"]), ("z", "add", ["Aw", "b"]), ("r", "add", ["z", "negy"]),
                 ("rr", "mul", ["r", "r"]), ("L", "sum", ["rr"])]
        order = rng.permutation(len(graph))
        values = {"A": A, "w": w, "b": bias, "negy": -y}
        cases.append(([graph[int(k)] for k in order], [values.get(graph[int(k)][0]) for k in order], float(lr), steps,
                      (A, y, w, bias)))
    results = yield [call("minimize", graph, values, "L", lr, steps,
                          label=f"minimize(least squares with A of shape {problem[0].shape}, lr={lr:.4g}, "
                                f"{steps} steps)")
                     for graph, values, lr, steps, problem in cases]
    for (graph, values, lr, steps, (A, y, w, bias)), result in zip(cases, results):
        got = result.value()
        expect(isinstance(got, (list, tuple)) and len(got) == 2,
               f"{result.name} should return a pair (losses, new values), got {show(got)}.")
        losses, new = got
        expect(isinstance(losses, (list, tuple)) and len(losses) == steps,
               f"{result.name} should return {steps} losses, one per step, got {show(losses)}.")
        expect(isinstance(new, (list, tuple)) and len(new) == len(graph),
               f"{result.name} should return {len(graph)} new values, one per node, got {show(new)}.")
        want_losses = []
        for _ in range(steps):  # gradient descent by the closed form: dL/dw = 2 A.T r, dL/db = 2 sum(r)
            r = A @ w + bias - y
            want_losses.append(float(np.sum(r * r)))
            w, bias = w - lr * 2 * A.T @ r, bias - lr * 2 * np.sum(r, axis=0)
        expect_near(np.array(losses, dtype=np.float64), np.array(want_losses), f"{result.name}: the losses",
                    1e-7, 1e-10, hint="Record the loss of each step before moving the variables, and subtract "
                                      "learning_rate * gradient.")
        expect(all(b < a for a, b in zip(losses, losses[1:])), f"{result.name}: the loss did not decrease at every "
                                                                 f"step on a convex problem: {show(list(losses))}.")
        where = {node[0]: k for k, node in enumerate(graph)}
        expect_near(np.array(new[where["w"]], dtype=np.float64), w, f"{result.name}: the new w", 1e-7, 1e-10)
        expect_near(np.array(new[where["b"]], dtype=np.float64), bias, f"{result.name}: the new b", 1e-7, 1e-10)
        for name in ("A", "negy"):
            expect(np.array_equal(np.asarray(new[where[name]], dtype=np.float64), values[where[name]]),
                   f"{result.name} changed the placeholder {name}: only variables move.")
        for k, before in enumerate(values):
            if before is not None:
                expect(np.array_equal(np.asarray(result.argument_after(1)[k], dtype=np.float64), before),
                       f"{result.name} changed the value of {graph[k][0]} it was given: build new arrays instead.")


def softmax_regression_reads_92_percent(rng):
    """The graph code the training cell runs (order, gradients, backward, minimize) passes its tests again.

    W_mnist and b_mnist are names in the kernel, which a submission can set to anything, so the
    grade never reads them: the visible check shows the learner its accuracy, and these points say
    that the code which trained the network is right, on fresh inputs.
    """
    yield from again(rng, topological_order_puts_inputs_first, add_gradient_sums_broadcast_axes,
                     matmul_gradient_matches_differences, reduce_sum_gradient_repeats_grad,
                     log_and_sigmoid_gradients_match_differences, softmax_gradient_couples_each_row,
                     backward_sums_over_consumers, minimize_descends_a_convex_loss)
