"""Character-level language modelling (equations.md section 8): many-to-many aligned.

The text is cut into ``batch_size`` parallel streams; batch k holds the k-th ``seq_len``-long
chunk of every stream, so consecutive batches continue each other and the system carries the
(detached) hidden state across them: truncated BPTT over a long text. The built-in corpus is
Python's standard-library source (it ships on every machine); ``data.path=FILE`` reads any
UTF-8 text, encoded once into a memory-mapped cache. ``jamo=true`` decomposes Hangul
syllables into jamo for training and recomposes them when sampling.
"""
from __future__ import annotations

from typing import Annotated, Any, Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from rnnzoo.data.corpus import builtin_corpus, encode_text, open_text_file
from rnnzoo.data.hangul import compose_hangul, decompose_hangul
from rnnzoo.data.text import Vocab
from rnnzoo.errors import ConfigError, DataError
from rnnzoo.models.heads import zero_state
from rnnzoo.tasks.base import Count, TaskData
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.tasks.loading import EpochSampler
from rnnzoo.utils.rules import Rule


class StreamChunks(Dataset):
    """Item k: the k-th (B, T) chunk of B parallel streams of ``ids``, and its next characters.

    In a run of ``world`` processes the text is cut into ``streams`` streams in all and process
    ``rank`` takes every ``world``-th of them, so step k of the run covers the same characters
    as one process with all the streams.
    """

    def __init__(self, ids, streams: int, seq_len: int, rank: int = 0, world: int = 1):
        usable = len(ids) - 1
        streams = max(1, min(streams, usable // seq_len))
        if world > 1:  # every process needs as many streams as the others
            streams = max(world, streams - streams % world)
        self.ids, self.streams, self.seq_len = ids, streams, seq_len
        self.stream_len = usable // streams
        self.chunks = self.stream_len // seq_len
        self.mine = range(rank, streams, world)

    def __len__(self) -> int:
        return self.chunks

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        start = k * self.seq_len
        rows = np.stack([np.asarray(self.ids[s * self.stream_len + start:
                                             s * self.stream_len + start + self.seq_len + 1])
                         for s in self.mine]).astype(np.int64)
        block = torch.from_numpy(rows)
        return {"x": block[:, :-1], "y": block[:, 1:]}


@torch.no_grad()
def sample_text(network, vocab: Vocab, *, prime: str = "\n", length: int = 200,
                temperature: float = 1.0, seed: int = 0, jamo: bool = False,
                state_hook: Callable | None = None) -> str:
    """Feed ``prime`` one character at a time, then each sampled character back in
    (equations.md section 8), from h_0 = 0.

    ``state_hook(state) -> state`` is applied to h_0 and after every step, and the head reads
    the state it returns: analyses use it to edit the state (fix one hidden unit, say).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    rnn, hook = network.rnn, state_hook or (lambda s: s)
    device = next(network.parameters()).device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    ids = vocab.encode(list(decompose_hangul(prime) if jamo else prime)) or [vocab.unk_id]
    state = None
    if state_hook is not None:
        state = hook(zero_state(rnn))
    out = []
    for step in range(len(ids) + length - 1):
        token = ids[step] if step < len(ids) else out[-1]
        _, state = rnn(network.encoder(torch.tensor([[token]], device=device)), state)
        state = hook(state)
        if step >= len(ids) - 1:  # the prime is read: sample from the top layer's h
            h = state[0] if isinstance(state, tuple) else state
            probs = torch.softmax(network.head(h[-1])[0].float().cpu() / temperature, dim=-1)
            probs[vocab.pad_id] = 0  # never emit padding
            out.append(int(torch.multinomial(probs, 1, generator=generator)))
    sampled = "".join(vocab.decode(out))
    return compose_hangul(sampled) if jamo else sampled


class CharLMTask(TaskData):
    name, shape, target = "char_lm", "many_to_many", "classes"

    def __init__(self, *, seq_len: Count = 100, max_chars: Count = 1_000_000, jamo: bool = False,
                 sample_length: Annotated[int, Rule(ge=0)] = 300,
                 temperature: Annotated[float, Rule(gt=0.0)] = 0.8,
                 source: dict[str, Any] | None = None, batch_size: Count = 32, **kw):
        super().__init__(batch_size=batch_size, **kw)
        self.seq_len, self.max_chars, self.jamo = seq_len, max_chars, jamo
        self.sample_length, self.temperature = sample_length, temperature
        self.source = dict(source or {})

    def _encoded(self):
        path = self.source.get("path")
        if path:  # any size: encoded once into a memory-mapped cache
            return open_text_file(path, jamo=self.jamo, min_length=self.seq_len + 1,
                                  cache_dir=self.source.get("cache_dir"))
        return encode_text(builtin_corpus(self.max_chars), jamo=self.jamo)

    def build(self):
        encoded = self._encoded()
        self.vocab = encoded.vocab
        # the splits are the id arrays: each loader cuts its own streams from them
        splits = dict(zip(("train", "val", "test"), encoded.split((0.9, 0.05, 0.05))))
        for name, ids in splits.items():
            if len(ids) - 1 < self.seq_len:  # not one chunk of (seq_len inputs, next characters)
                self._too_short(name, len(ids))
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=len(self.vocab),
            output_size=len(self.vocab), tokens=True, pad_id=self.vocab.pad_id,
            metrics=("acc", "bpc", "ppl"), monitor="val/bpc", mode="min", carry_state=True,
            artifacts={"vocab": self.vocab.to_dict(), "jamo": self.jamo})
        return splits, info

    def _loader(self, split, shuffle):
        # chunks stay in order for the carried state to make sense; each process reads its
        # own streams, all chunks of them
        self.setup()
        rank, world = self.world()
        chunks = StreamChunks(self.splits[split], self.batch_size * world, self.seq_len, rank, world)
        return self._resumable(split, chunks, EpochSampler(len(chunks), shuffle=False),
                               batch_size=None)

    def _too_short(self, split: str, length: int):
        share = {"train": "90%", "val": "5%", "test": "5%"}[split]
        path = self.source.get("path")
        if path:
            raise DataError(f"the {split} split ({share} of the text, {length} characters) is "
                            f"shorter than one sequence of task.seq_len={self.seq_len} + 1; use "
                            "a longer text or a smaller task.seq_len", path)
        raise ConfigError(f"task.seq_len={self.seq_len}: the built-in corpus' {split} split "
                          f"({share} of task.max_chars={self.max_chars}: {length} characters) is "
                          "shorter than one sequence; use a smaller task.seq_len or a larger "
                          "task.max_chars")

    def examples(self, system):
        text = sample_text(system.network, self.vocab, length=self.sample_length,
                           temperature=self.temperature, seed=self.seed, jamo=self.jamo)
        return {"text": {"char_lm/sample": "```\n" + text + "\n```"}}
