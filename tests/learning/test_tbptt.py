"""BPTT(k1, k2): full BPTT, chunked training and overlapping windows against references."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import rnnzoo
from rnnzoo.learning.tbptt import Window, optimizer_update, tbptt, tbptt_windows

F64 = torch.float64
T, B, I, H, C = 12, 3, 2, 5, 3


def sum_ce(logits, targets):  # a sum over steps, so window losses add up to the full loss
    return F.cross_entropy(logits.reshape(-1, C), targets.reshape(-1), reduction="sum")


def problem(cell="lstm", seed=0, batch_first=False):
    torch.manual_seed(seed)
    model = rnnzoo.build_rnn(cell, I, H, dtype=F64, batch_first=batch_first)
    head = nn.Linear(H, C, dtype=F64)
    shape = (B, T) if batch_first else (T, B)
    return model, head, torch.randn(*shape, I, dtype=F64), torch.randint(0, C, shape)


def parameters(model, head):
    return list(model.parameters()) + list(head.parameters())


def grads_per_update(model, head, x, y, k1, k2, **kw):
    """Run tbptt without updating, recording (and clearing) the gradient of every window."""
    recorded = []

    def record(index, loss):
        recorded.append([p.grad.clone() for p in parameters(model, head)])
        for p in parameters(model, head):
            p.grad = None

    result = tbptt(model, x, y, sum_ce, k1, k2, head=head, on_update=record, **kw)
    return recorded, result


def assert_same_grads(got, expected):
    assert len(got) == len(expected)
    for window, (g_list, e_list) in enumerate(zip(got, expected)):
        for g, e in zip(g_list, e_list, strict=True):
            torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12, msg=f"window {window}")


def test_windows_follow_the_definition():
    # T=7, k1=2, k2=3: updates at t = 2, 4, 6 and (cut short) 7, each reaching back 3 steps
    # from n k1 and injecting the errors since the last update
    assert tbptt_windows(7, 2, 3) == [Window(0, 1, 0, 2), Window(1, 3, 2, 4),
                                      Window(3, 5, 4, 6), Window(5, 7, 6, 7)]
    assert tbptt_windows(12, 5) == [Window(0, 5, 0, 5), Window(5, 10, 5, 10), Window(10, 12, 10, 12)]
    assert tbptt_windows(6, 3) == [Window(0, 3, 0, 3), Window(3, 6, 3, 6)]
    assert tbptt_windows(5, 8, 8) == [Window(0, 5, 0, 5)]
    with pytest.raises(ValueError):
        tbptt_windows(5, 3, 2)


@pytest.mark.parametrize("k1,k2", [(T, T), (T, 2 * T), (20, 30)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_one_window_over_everything_is_full_bptt(k1, k2, batch_first):
    model, head, x, y = problem(batch_first=batch_first)
    out, _ = model(x)
    full = torch.autograd.grad(sum_ce(head(out), y), parameters(model, head))
    (got,), result = grads_per_update(model, head, x, y, k1, k2)
    assert_same_grads([got], [full])
    assert result.error_steps == [T]


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("k", [1, 4, 5])
def test_equal_k1_k2_is_chunked_training_with_detached_state(cell, k):
    """With SGD updates between windows: the same losses and final parameters as chunking."""
    model, head, x, y = problem(cell)
    reference, ref_head = problem(cell)[:2]
    opt = torch.optim.SGD(parameters(model, head), lr=0.05)
    ref_opt = torch.optim.SGD(parameters(reference, ref_head), lr=0.05)

    result = tbptt(model, x, y, sum_ce, k, k, head=head, on_update=optimizer_update(opt))
    state, ref_losses = None, []
    for begin in range(0, T, k):
        out, state = reference(x[begin:begin + k], state)
        loss = sum_ce(ref_head(out), y[begin:begin + k])
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
        ref_losses.append(loss.detach())
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    torch.testing.assert_close(torch.stack(result.losses), torch.stack(ref_losses))
    for p, r in zip(parameters(model, head), parameters(reference, ref_head)):
        torch.testing.assert_close(p, r)
    assert sum(result.error_steps) == T


@pytest.mark.parametrize("k1,k2", [(2, 3), (3, 7), (1, 4), (5, 7)])
def test_overlapping_windows_match_a_hand_built_loss(k1, k2):
    """k2 > k1: window n's gradient is d/dtheta of sum_{t in [t_{n-1}, t_n)} L_t, where the
    states are the plain forward run's and only h_{s_n} is cut from the graph."""
    torch.manual_seed(0)
    cell = rnnzoo.cells.ElmanCell(I, H, dtype=F64, fast=False)
    head = nn.Linear(H, C, dtype=F64)
    x, y = torch.randn(T, B, I, dtype=F64), torch.randint(0, C, (T, B))
    with torch.no_grad():  # the forward trajectory: h_0 = 0, then h_1 .. h_T
        trajectory = [torch.zeros(B, H, dtype=F64)]
        for x_t in x:
            trajectory.append(cell(x_t, trajectory[-1]))

    expected = []
    for n, stop in enumerate(list(range(k1, T, k1)) + [T], start=1):
        start, errors = max(0, n * k1 - k2), (n - 1) * k1
        h = trajectory[start].detach()  # the cut: no gradient flows into h_start
        loss = 0
        for t in range(start, stop):
            h = cell(x[t], h)
            if t >= errors:
                loss = loss + F.cross_entropy(head(h), y[t], reduction="sum")
        expected.append(torch.autograd.grad(loss, parameters(cell, head)))

    class Layer(nn.Module):  # the cell as a torch.nn.RNN-style layer, stepping with autograd
        def forward(self, inputs, state):
            outputs = []
            for x_t in inputs:
                state = cell(x_t, state)
                outputs.append(state)
            return torch.stack(outputs), state

    layer = Layer()
    layer.cell = cell  # registers the parameters
    got, _ = grads_per_update(layer, head, x, y, k1, k2)
    assert_same_grads(got, expected)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_overlapping_windows_with_a_layer_and_its_state(cell):
    """The same definition through an rnnzoo layer (the LSTM's state is a tuple): each
    window's reference replays the sequence up to s_n without gradient, then runs
    [s_n, t_n) in one call."""
    k1, k2 = 2, 5
    model, head, x, y = problem(cell)
    expected = []
    for n, stop in enumerate(list(range(k1, T, k1)) + [T], start=1):
        start, errors = max(0, n * k1 - k2), (n - 1) * k1
        state = None
        if start:
            with torch.no_grad():
                _, state = model(x[:start])
        out, _ = model(x[start:stop], state)
        loss = sum_ce(head(out[errors - start:]), y[errors:stop])
        expected.append(torch.autograd.grad(loss, parameters(model, head)))
    got, _ = grads_per_update(model, head, x, y, k1, k2)
    assert_same_grads(got, expected)


def echo_task(length, batch, delay, seed):
    """Random bits in, the bit from ``delay`` steps earlier out: needs memory of ``delay``."""
    g = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (length + delay, batch), generator=g)
    return bits[delay:].unsqueeze(-1).float(), bits[:-delay]


@pytest.mark.parametrize("k2,learns", [(4, True), (3, False)])
def test_learning_needs_k2_to_span_the_dependency(k2, learns, one_thread):
    """Echo with delay 3 (y_t = x_{t-3}) under BPTT(2, k2). With k2 = 4 the newest error of
    each window reaches x_{t-3}, and the GRU learns the task; with k2 = 3 no error's graph
    ever contains the input it needs, and what it picks up comes only from whatever the
    untrained dynamics happen to carry (~50-65% on this seed; chance is 50%)."""
    torch.manual_seed(0)
    model, head = rnnzoo.build_rnn("gru", 1, 16), nn.Linear(16, 2)
    opt = torch.optim.Adam(parameters(model, head), lr=0.01)
    x, y = echo_task(length=400, batch=16, delay=3, seed=0)

    def mean_ce(logits, targets):
        return F.cross_entropy(logits.reshape(-1, 2), targets.reshape(-1))

    for _ in range(3):
        tbptt(model, x, y, mean_ce, 2, k2, head=head, on_update=optimizer_update(opt, 1.0))
    x_test, y_test = echo_task(length=200, batch=16, delay=3, seed=1)
    with torch.no_grad():
        accuracy = (head(model(x_test)[0]).argmax(-1) == y_test).float().mean().item()
    if learns:
        assert accuracy > 0.95
    else:
        assert accuracy < 0.75
