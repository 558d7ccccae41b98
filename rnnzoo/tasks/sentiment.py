"""Sentiment of a sentence: many-to-one classification over words.

Built-in data comes from a seeded grammar in which word order matters (negation, intensifiers,
contrast: "not bad", "good but boring"), so a recurrent model can beat the bag-of-words
baseline (``cell=bow``). ``data.path`` trains on the user's own data instead: a TSV, CSV or
JSONL file (column names configurable) or a directory with one text file per class
(``data.encoding`` for a file that is not UTF-8). Without a split column it is split 80/10/10,
stratified by label, from the seed; with ``data.fold`` (set by the fold loop of
``data.folds``, rnnzoo.tasks.crossval) it is that fold of a stratified k-fold split.

A run on a file also fits the linear baseline (tf-idf + logistic regression) on the same
train/val/test rows and prints it as the number to beat; ``data.embeddings`` starts the
embedding from pretrained word vectors and prints their coverage.
"""
from __future__ import annotations

from typing import Annotated, Any, Optional

import sys

import torch

from rnnzoo.baselines.linear import linear_baseline, linear_baseline_name
from rnnzoo.data.classdir import read_labelled
from rnnzoo.data.labelled import LabelledData
from rnnzoo.data.splits import stratified_kfold
from rnnzoo.data.vectors import load_pretrained_embedding
from rnnzoo.data.sentiment import generate_sentiment
from rnnzoo.data.errors import DataError
from rnnzoo.data.text import Vocab, tokenize
from rnnzoo.tasks.base import Count, TaskData, pad_tokens
from rnnzoo.tasks.info import TaskInfo
from rnnzoo.utils.rules import Rule

BUILTIN_LABELS = ["negative", "positive"]


class SentimentTask(TaskData):
    name, shape, target = "sentiment", "many_to_one", "classes"

    def __init__(self, *, num_samples: Annotated[int, Rule(ge=10)] = 6000,
                 min_freq: Optional[Count] = None,
                 source: dict[str, Any] | None = None, **kw):
        super().__init__(**kw)
        # words seen fewer times in the training part become <unk> (None: keep every word; the
        # config's recipes set it, 2 on a file)
        self.num_samples, self.min_freq = num_samples, min_freq or 1
        self.source = dict(source or {})
        self.linear: dict[str, float] | None = None  # the linear baseline's metrics
        self.pretrained = None  # a PretrainedEmbedding, copied into the network at setup
        self._copied = False

    def _data(self) -> LabelledData:
        """The built-in sentences, or the user's file (``data.path``)."""
        path = self.source.get("path")
        if not path:
            pairs = generate_sentiment(self.num_samples, seed=self.seed)
            return LabelledData([t for t, _ in pairs], [BUILTIN_LABELS[y] for _, y in pairs],
                                None, 0, list(BUILTIN_LABELS))
        data = read_labelled(
            path, encoding=self.source.get("encoding") or "utf-8",
            format=self.source.get("format", "auto"),
            text_field=self.source.get("text_field", "text"),
            label_field=self.source.get("label_field", "label"),
            split_field=self.source.get("split_field"), labels=self.source.get("labels"),
            on_bad_rows=self.source.get("on_bad_rows", "error"))
        self.skipped = data.skipped
        return data

    def _parts(self, data: LabelledData):
        """(train, val, test) rows: fold ``data.fold`` of ``data.folds``, or the 80/10/10 split."""
        folds, fold = self.source.get("folds"), self.source.get("fold")
        if fold is None:
            return data.split_indices((0.8, 0.1, 0.1), self.seed)
        if data.splits is not None:
            raise DataError(f"has a split column ({self.source.get('split_field')}); "
                            "data.folds makes its own splits: drop one of the two", data.path)
        return stratified_kfold(data.labels, folds, self.seed, val_fraction=0.1)[fold]

    def build(self):
        data = self._data()
        texts, label_ids, label_names = data.texts, data.label_ids, list(data.label_names)
        parts = self._parts(data)
        tokens = [tokenize(t) for t in texts]
        self.vocab = Vocab.build([tokens[i] for i in parts[0]], min_freq=self.min_freq)
        splits = {}
        for name, index in zip(("train", "val", "test"), parts):
            splits[name] = [{"x": torch.tensor(self.vocab.encode(tokens[i]) or [self.vocab.unk_id]),
                             "y": label_ids[i], "text": texts[i]} for i in index]
        baselines = {}
        if self.source.get("path"):  # every run on a file: the linear baseline on the same rows
            baselines = self.linear_baseline(texts, label_ids, parts)
        if self.source.get("embeddings"):
            self._load_vectors(tokens, parts[0])
        info = TaskInfo(
            name=self.name, shape=self.shape, target=self.target, input_size=len(self.vocab),
            output_size=len(label_names), tokens=True, pad_id=self.vocab.pad_id,
            metrics=("acc", "f1"), monitor="val/acc", mode="max", baselines=baselines,
            artifacts={"vocab": self.vocab.to_dict(), "labels": label_names})
        return splits, info

    def linear_baseline(self, texts, label_ids, parts) -> dict[str, float]:
        """tf-idf + logistic regression on the model's rows (C chosen on val): printed as the
        number to beat; returned as ``linear/test/acc``, ... for the results."""
        self.linear = linear_baseline(texts, label_ids, *parts)
        print(f"rnnzoo: the number to beat: test/acc {self.linear['test/acc']:.4f} "
              f"(val/acc {self.linear['val/acc']:.4f}), {linear_baseline_name()} "
              f"(C={self.linear['C']:g})", file=sys.stderr, flush=True)
        return {f"linear/{k}": v for k, v in self.linear.items() if "/" in k}

    def _load_vectors(self, tokens, train) -> None:
        """The pretrained vectors of the vocabulary's words (``data.embeddings``)."""
        counts: dict[str, int] = {}
        for i in train:
            for word in tokens[i]:
                counts[word] = counts.get(word, 0) + 1
        self.pretrained = load_pretrained_embedding(
            self.source["embeddings"], self.vocab, token_counts=counts, seed=self.seed,
            expected_dim=self.source.get("embedding_dim"))
        print(f"rnnzoo: {self.pretrained.coverage.line()} (training split, "
              f"{self.source['embeddings']})", file=sys.stderr, flush=True)

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        # the network exists once a trainer runs us: copy the vectors in, once (a resumed or
        # tested checkpoint is restored after setup, so its weights win)
        trainer = getattr(self, "trainer", None)
        if self.pretrained is not None and not self._copied and trainer is not None:
            trainer.lightning_module.network.encoder.load_pretrained(self.pretrained.weight)
            self._copied = True

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
