"""Sentiment of a sentence: many-to-one classification over words.

Built-in data comes from a seeded grammar in which word order matters (negation, intensifiers,
contrast: "not bad", "good but boring"), so a recurrent model can beat the bag-of-words
baseline (``cell=bow``). ``data.path=FILE`` trains on the user's own TSV, CSV or JSONL file
instead (column names configurable); without a split column it is split 80/10/10, stratified
by label, from the seed.
"""
from __future__ import annotations

from typing import Annotated, Any

import torch

from rnnzoo.data.labelled import LabelledData, read_labelled_file
from rnnzoo.data.sentiment import generate_sentiment
from rnnzoo.data.text import Vocab, tokenize
from rnnzoo.tasks.base import Count, TaskData, pad_tokens
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.utils.rules import Rule

BUILTIN_LABELS = ["negative", "positive"]


class SentimentTask(TaskData):
    name, shape, target = "sentiment", "many_to_one", "classes"

    def __init__(self, *, num_samples: Annotated[int, Rule(ge=10)] = 6000, min_freq: Count = 1,
                 source: dict[str, Any] | None = None, **kw):
        super().__init__(**kw)
        self.num_samples, self.min_freq = num_samples, min_freq
        self.source = dict(source or {})

    def _data(self) -> LabelledData:
        """The built-in sentences, or the user's file (``data.path``)."""
        path = self.source.get("path")
        if not path:
            pairs = generate_sentiment(self.num_samples, seed=self.seed)
            return LabelledData([t for t, _ in pairs], [BUILTIN_LABELS[y] for _, y in pairs],
                                None, 0, list(BUILTIN_LABELS))
        data = read_labelled_file(
            path, format=self.source.get("format", "auto"),
            text_field=self.source.get("text_field", "text"),
            label_field=self.source.get("label_field", "label"),
            split_field=self.source.get("split_field"), labels=self.source.get("labels"),
            on_bad_rows=self.source.get("on_bad_rows", "error"))
        self.skipped = data.skipped
        return data

    def build(self):
        data = self._data()
        texts, label_ids, label_names = data.texts, data.label_ids, list(data.label_names)
        parts = data.split_indices((0.8, 0.1, 0.1), self.seed)
        tokens = [tokenize(t) for t in texts]
        self.vocab = Vocab.build([tokens[i] for i in parts[0]], min_freq=self.min_freq)
        splits = {}
        for name, index in zip(("train", "val", "test"), parts):
            splits[name] = [{"x": torch.tensor(self.vocab.encode(tokens[i]) or [self.vocab.unk_id]),
                             "y": label_ids[i], "text": texts[i]} for i in index]
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=len(self.vocab),
            output_size=len(label_names), tokens=True, pad_id=self.vocab.pad_id,
            metrics=("acc", "f1"), monitor="val/acc", mode="max",
            artifacts={"vocab": self.vocab.to_dict(), "labels": label_names})
        return splits, info

    def collate(self, rows):
        x, lengths = pad_tokens([r["x"] for r in rows], self.vocab.pad_id)
        return {"x": x, "lengths": lengths, "y": torch.tensor([r["y"] for r in rows])}

    @torch.no_grad()
    def examples(self, system):
        rows = self.splits["val"][:6]
        batch = self.collate(rows)
        probs = system(batch["x"].to(system.device), batch["lengths"].to(system.device)).softmax(-1)
        labels = self.info.artifacts["labels"]
        lines = [f"{r['text']!r} -> {labels[int(p.argmax())]} ({float(p.max()):.2f}; true {labels[r['y']]})"
                 for r, p in zip(rows, probs)]
        return {"text": {"sentiment/predictions": "  \n".join(lines)}}
