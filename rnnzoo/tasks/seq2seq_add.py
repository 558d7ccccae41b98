"""Addition as translation: "535+61" -> "596", characters in and out, encoder-decoder.

The answer is written only after the whole question has been read, so the decoder must get
both operands through the encoder's final state; exact-match accuracy of greedy decoding is
the score.
"""
from __future__ import annotations

import torch

from rnnzoo.data.synthetic import addition_strings
from rnnzoo.data.text import Vocab
from rnnzoo.tasks.base import Count, GeneratedTask, pad_tokens
from rnnzoo.tasks.info import TaskInfo

SPECIALS = ("<bos>", "<eos>")


class Seq2SeqAddTask(GeneratedTask):
    name, shape, target = "seq2seq_add", "seq2seq", "classes"

    def __init__(self, *, max_digits: Count = 3, num_train: Count = 20000, **kw):
        super().__init__(num_train=num_train, **kw)
        self.max_digits = max_digits

    def build(self):
        self.vocab = Vocab.build([list("0123456789+")], specials=SPECIALS)
        splits = self.generate(lambda split, n, seed: [
            self._encode(src, tgt) for src, tgt in addition_strings(n, self.max_digits, seed=seed)])
        art = {"vocab": self.vocab.to_dict(), "bos_id": self.vocab.encode(["<bos>"])[0],
               "eos_id": self.vocab.encode(["<eos>"])[0]}
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=len(self.vocab),
            output_size=len(self.vocab), tokens=True, pad_id=self.vocab.pad_id,
            metrics=("acc", "exact"), monitor="val/exact", mode="max",
            steps=self.max_digits + 2, artifacts=art)
        return splits, info

    def _encode(self, source: str, target: str) -> dict[str, torch.Tensor]:
        return {"src": torch.tensor(self.vocab.encode(list(source))),
                "tgt": torch.tensor(self.vocab.encode(["<bos>", *target, "<eos>"]))}

    def collate(self, rows):
        src, src_lengths = pad_tokens([r["src"] for r in rows], self.vocab.pad_id)
        tgt, _ = pad_tokens([r["tgt"] for r in rows], self.vocab.pad_id)
        return {"src": src, "src_lengths": src_lengths, "tgt": tgt}

    def examples(self, system):
        batch = self.collate(self.splits["val"][:5])
        decoded = system.decode(batch["src"].to(system.device), batch["src_lengths"].to(system.device))
        eos = self.vocab.encode(["<eos>"])[0]
        lines = []
        for src, tgt, out in zip(batch["src"], batch["tgt"], decoded.tolist()):
            out = out[: out.index(eos)] if eos in out else out
            question = "".join(self.vocab.decode([t for t in src.tolist() if t != self.vocab.pad_id]))
            truth = "".join(self.vocab.decode([t for t in tgt.tolist()[1:] if t not in (eos, self.vocab.pad_id)]))
            lines.append(f"{question} = {''.join(self.vocab.decode(out))} (true {truth})")
        return {"text": {"seq2seq_add/decoded": "  \n".join(lines)}}
