"""Tasks: data (LightningDataModules that describe themselves) and the systems that train on them."""
from __future__ import annotations

import importlib

#: task name -> "module:class", imported on demand (a task's data code loads only when used)
TASKS = {
    "sentiment": "rnnzoo.tasks.sentiment:SentimentTask",
    "char_lm": "rnnzoo.tasks.char_lm:CharLMTask",
    "adding": "rnnzoo.tasks.adding:AddingTask",
    "copy": "rnnzoo.tasks.copy:CopyTask",
    "binary_add": "rnnzoo.tasks.binary_add:BinaryAddTask",
    "sine": "rnnzoo.tasks.sine:SineTask",
    "sine_gen": "rnnzoo.tasks.sine:SineGenerationTask",
    "seq2seq_add": "rnnzoo.tasks.seq2seq_add:Seq2SeqAddTask",
    "digits": "rnnzoo.tasks.digits:DigitsTask",
}


def task_class(name: str):
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    module, cls = TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)
