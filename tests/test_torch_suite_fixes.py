"""Behaviours PyTorch's own RNN tests (test_nn.py, test_modules.py) check, asserted here against
torch.nn directly: run scripts/run_torch_rnn_tests.py for the tests themselves."""
import pytest
import torch
from torch import nn

import rnnzoo

LAYERS = {"RNN": (rnnzoo.RNN, nn.RNN), "LSTM": (rnnzoo.LSTM, nn.LSTM), "GRU": (rnnzoo.GRU, nn.GRU)}


def raised(make):
    with pytest.raises(Exception) as info:
        make()
    return info.value


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
@pytest.mark.parametrize("options", [dict(proj_size=10), dict(proj_size=0), dict(not_an_option=1)])
def test_rnn_and_gru_refuse_options_as_torch_does(kind, options):
    """proj_size is the LSTM's alone: torch.nn raises ValueError for it (even 0), TypeError
    for a keyword it does not know."""
    ours_cls, ref_cls = LAYERS[kind]
    theirs = raised(lambda: ref_cls(30, 20, 2, **options))
    mine = raised(lambda: ours_cls(30, 20, 2, **options))
    assert type(mine) is type(theirs)
    if "proj_size" in options:
        assert str(mine) == str(theirs)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("weights,given", [(torch.float32, torch.float64),
                                           (torch.float64, torch.float32)])
def test_wrong_float_dtype_gives_torchs_message(kind, weights, given):
    """Word for word torch.nn's ValueError, "RNN input dtype ..." for every layer, so code
    (and module_db's error inputs) matching that message works with rnnzoo's layers too."""
    ours_cls, ref_cls = LAYERS[kind]
    x = torch.randn(4, 3, 5, dtype=given)
    theirs = raised(lambda: ref_cls(5, 7, dtype=weights)(x))
    mine = raised(lambda: ours_cls(5, 7, dtype=weights)(x))
    assert type(mine) is type(theirs) is ValueError
    assert str(mine) == str(theirs)
