import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Small recurrent steps run fastest on one thread (and the analysis scripts set one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
