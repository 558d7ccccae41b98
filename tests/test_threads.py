"""Thread defaults that do not oversubscribe: DDP on the CPU shares the cores out."""
import torch

from rnnzoo.utils import threads


def test_one_process_keeps_torch_default_and_a_request_wins():
    assert threads.threads_for(None, {"strategy": "auto", "devices": 1}) is None
    assert threads.threads_for(3, {"strategy": "ddp", "devices": 2, "accelerator": "cpu"}) == 3


def test_ddp_on_the_cpu_shares_the_cores(monkeypatch):
    monkeypatch.setattr(threads, "cpu_cores", lambda: 8)
    cpu_ddp = {"strategy": "ddp", "devices": 4, "accelerator": "cpu"}
    assert threads.local_processes(cpu_ddp) == 4 and threads.threads_for(None, cpu_ddp) == 2
    assert threads.threads_for(None, {**cpu_ddp, "devices": 16}) == 1  # never below one
    assert threads.local_processes({**cpu_ddp, "accelerator": "gpu"}) == 1  # the work is on GPUs


def test_apply_sets_torch_threads_and_reports_them():
    before = torch.get_num_threads()
    try:
        assert threads.apply_threads(1, {}) == 1 == torch.get_num_threads()
        assert threads.apply_threads(None, {}) == 1  # no request, one process: left as it is
    finally:
        torch.set_num_threads(before)
