"""Recall tasks from the modern sequence-model literature, each a pure function of its seed.

- :func:`mqar`: multi-query associative recall (Arora et al. 2023, "Zoology").
- :func:`selective_copy`: selective copying (Gu & Dao 2023, "Mamba", section 3.1).
- :func:`induction_heads`: the induction-heads task (Olsson et al. 2022; as set by Gu & Dao 2023).

Every generator returns ``x`` and ``y`` of shape (n, T), dtype long. ``y`` holds
:data:`IGNORE` everywhere but the answer positions, so the loss and the accuracy count only the
answers (the classification losses and metrics skip it: rnnzoo.tasks.losses). Each draws from
its own ``torch.Generator`` seeded by ``seed``, never from global random state.
"""
from __future__ import annotations

import torch

#: the target of a step that does not count: PyTorch's default ignore_index, the value
#: rnnzoo.tasks.losses.IGNORE skips (data sits below tasks, so it is restated, and tested equal)
IGNORE = -100


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def power_law_weights(space: int, power_a: float) -> torch.Tensor:
    """Zoology's gap distribution over slots 0..space-1: p(g) proportional to a (g + 1)^(a - 1).

    In text the distance between two mentions of a bigram follows a power law; small ``a``
    (Zoology's default 0.01) puts most queries close to the key-value pairs, ``a = 1`` is
    uniform."""
    slots = torch.arange(1, space + 1, dtype=torch.float64)
    weights = power_a * slots ** (power_a - 1)
    return weights / weights.sum()


def mqar(n: int, seq_len: int = 64, vocab_size: int = 128, num_kv_pairs: int = 8,
         power_a: float = 0.01, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-query associative recall (Arora, Eyuboglu et al. 2023, "Zoology", section 3).

    Each row opens with ``num_kv_pairs`` key-value pairs ``k1 v1 k2 v2 ...`` (keys distinct, from
    1..vocab_size/2 - 1; values distinct, from vocab_size/2..vocab_size - 1). The rest of the
    row is split into ``(seq_len - 2 * num_kv_pairs) // 2`` two-step slots; every key is asked
    once, at the first step of a slot whose index (its gap from the context) is drawn from
    :func:`power_law_weights`. At a query the target is the key's value; every other step is
    IGNORE. Steps that are not queries hold random tokens (Zoology's ``random_non_queries``);
    the answers stay determined, since each key occurs once among the pairs.

    Chance on the answers: 1 / (vocab_size - vocab_size // 2). Returns ``x``, ``y`` (n, T).
    """
    context = 2 * num_kv_pairs
    space = (seq_len - context) // 2
    keys_pool, first_value = vocab_size // 2 - 1, vocab_size // 2
    if num_kv_pairs > min(space, keys_pool):
        raise ValueError(f"{num_kv_pairs} pairs need seq_len >= {4 * num_kv_pairs} and "
                         f"vocab_size >= {2 * num_kv_pairs + 2}; got {seq_len}, {vocab_size}")
    g = _generator(seed)
    # distinct keys and values per row: the first num_kv_pairs of a random permutation
    keys = 1 + torch.rand(n, keys_pool, generator=g).argsort(1)[:, :num_kv_pairs]  # (n, P)
    values = first_value + torch.rand(n, vocab_size - first_value, generator=g).argsort(1)[:, :num_kv_pairs]
    gaps = torch.multinomial(power_law_weights(space, power_a).expand(n, space), num_kv_pairs,
                             replacement=False, generator=g)  # (n, P), slot indices
    x = torch.randint(0, vocab_size, (n, seq_len), generator=g)
    x[:, 0:context:2], x[:, 1:context:2] = keys, values
    queries = context + 2 * gaps  # (n, P)
    x.scatter_(1, queries, keys)
    y = torch.full((n, seq_len), IGNORE, dtype=torch.long)
    y.scatter_(1, queries, values)
    return x, y


def selective_copy(n: int, seq_len: int = 64, n_symbols: int = 8, copy_len: int = 8,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Selective copying (Gu & Dao 2023, section 3.1 and Figure 2): ``copy_len`` symbols at
    random positions among ``seq_len`` steps of noise, then ``copy_len`` marker steps during
    which the symbols must be reproduced in order.

    Tokens: noise 0, symbols 1..n_symbols, marker n_symbols + 1 (``n_symbols + 2`` in all). Unlike
    the copy task the positions vary, so a model must decide from the content what to keep
    (time-invariant models such as S4 fail it). Targets are IGNORE except at the ``copy_len``
    final steps. Chance on the answers: 1 / n_symbols. Returns ``x``, ``y`` (n, seq_len + copy_len).
    """
    if copy_len > seq_len:
        raise ValueError(f"copy_len ({copy_len}) cannot exceed seq_len ({seq_len})")
    g = _generator(seed)
    symbols = torch.randint(1, n_symbols + 1, (n, copy_len), generator=g)
    # copy_len distinct positions per row, kept in order so the recall order is the reading order
    positions = torch.rand(n, seq_len, generator=g).argsort(1)[:, :copy_len].sort(1).values
    x = torch.zeros(n, seq_len + copy_len, dtype=torch.long)
    x.scatter_(1, positions, symbols)
    x[:, seq_len:] = n_symbols + 1
    y = torch.full_like(x, IGNORE)
    y[:, seq_len:] = symbols
    return x, y


def induction_heads(n: int, seq_len: int = 64, n_symbols: int = 16,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Induction heads (Olsson et al. 2022; the synthetic form of Gu & Dao 2023, section 4.1.2).

    Random symbols 1..n_symbols; a special token (n_symbols + 1) once at a random position
    before the last two steps, followed by the answer symbol; the special token again at the
    last step, where the target is the answer: the token that followed its previous occurrence.
    Every other target is IGNORE. A model that has learned the rule, not the length, answers
    at any ``seq_len`` (evaluate beyond the training length). Chance: 1 / n_symbols.
    Returns ``x``, ``y`` (n, seq_len).
    """
    if seq_len < 3:
        raise ValueError(f"seq_len must be at least 3 (special, answer, special), got {seq_len}")
    g = _generator(seed)
    special = n_symbols + 1
    x = torch.randint(1, n_symbols + 1, (n, seq_len), generator=g)
    where = torch.randint(0, seq_len - 2, (n, 1), generator=g)
    x.scatter_(1, where, special)
    x[:, -1] = special
    y = torch.full_like(x, IGNORE)
    y[:, -1] = x.gather(1, where + 1).squeeze(1)
    return x, y
