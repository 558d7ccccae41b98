"""Networks for every sequence shape, built from any cell."""
import pytest
import torch

from rnnzoo.models.factory import build_network
from rnnzoo.tasks.info import TaskInfo

CELL = dict(name="lstm", impl="custom", hidden_size=12, num_layers=2, bidirectional=True)


def info(shape, target="classes", tokens=True, **kw):
    defaults = dict(name="t", shape=shape, target=target, input_size=20, output_size=3, tokens=tokens)
    return TaskInfo(**{**defaults, **kw})


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru", "min_gru", "indrnn", "bow"])
def test_many_to_one_uses_each_sequence_own_length(cell):
    net = build_network(info("many_to_one"), {**CELL, "name": cell})
    x = torch.randint(1, 20, (4, 7))
    lengths = torch.tensor([7, 3, 5, 1])
    out = net(x, lengths)
    assert out.shape == (4, 3)
    # padding beyond a sequence's length must not change its output
    x2 = x.clone()
    x2[1, 3:] = 0
    torch.testing.assert_close(net(x2, lengths)[1], out[1])
    # and a sequence alone gives the same output as in the batch
    torch.testing.assert_close(net(x[2:3, :5], lengths[2:3])[0], out[2])


def test_many_to_many_carries_state():
    net = build_network(info("many_to_many"), {**CELL, "bidirectional": False})
    x = torch.randint(1, 20, (2, 10))
    whole, _ = net(x)
    first, state = net(x[:, :6])
    second, _ = net(x[:, 6:], None, state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole)


def test_bow_per_step_ignores_context():
    net = build_network(info("many_to_many"), {"name": "bow", "hidden_size": 8})
    x = torch.randint(1, 20, (2, 5))
    out, _ = net(x)
    x2 = x.clone()
    x2[:, 0] = (x[:, 0] % 19) + 1
    torch.testing.assert_close(net(x2)[0][:, 1:], out[:, 1:])


@pytest.mark.parametrize("feed", ["zeros", "previous"])
def test_one_to_many(feed):
    net = build_network(info("one_to_many", target="values", tokens=False, input_size=3, output_size=1),
                        {**CELL, "bidirectional": False}, feed=feed)
    v, y = torch.randn(4, 3), torch.randn(4, 9, 1)
    net.train()
    assert net(v, 9, y).shape == (4, 9, 1)
    net.eval()
    free = net(v, 9)
    assert free.shape == (4, 9, 1)
    if feed == "previous":  # free running feeds predictions, not targets
        assert not torch.allclose(net.train()(v, 9, y), free)


def test_seq2seq_teacher_forcing_and_greedy():
    net = build_network(info("seq2seq", output_size=20), CELL)
    src, lengths = torch.randint(3, 20, (3, 6)), torch.tensor([6, 2, 4])
    tgt = torch.randint(3, 20, (3, 5))
    assert net(src, lengths, tgt).shape == (3, 5, 20)
    decoded = net.greedy(src, lengths, bos=1, eos=2, max_len=7)
    assert decoded.shape[0] == 3 and decoded.shape[1] <= 7
    # greedy's first step equals the teacher-forced first step's argmax
    first = net(src, lengths, torch.ones(3, 1, dtype=torch.long)).argmax(-1)
    torch.testing.assert_close(decoded[:, :1], first)


def test_bow_refused_where_it_cannot_stand_in():
    with pytest.raises(ValueError, match="baseline for many-to-one"):
        build_network(info("seq2seq"), {"name": "bow", "hidden_size": 8})
