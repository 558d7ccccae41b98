"""The data layer: plain Python, NumPy and PyTorch, no Lightning.

- :mod:`~rnnzoo.data.text`: tokenizer and :class:`Vocab`;
- :mod:`~rnnzoo.data.labelled`: a user's labelled TSV/CSV/JSONL file, stratified splits;
- :mod:`~rnnzoo.data.sentiment`: generated sentences where word order decides the label;
- :mod:`~rnnzoo.data.corpus`: character corpora, built-in and cached user files, Hangul jamo;
- :mod:`~rnnzoo.data.synthetic`: adding, copy, binary addition, sines, addition strings, digits.

A problem with a user's file is always a :class:`DataError`, one line long.
"""
from rnnzoo.data.corpus import (EncodedText, builtin_corpus, compose_hangul, decompose_hangul,
                                encode_text, open_text_file)
from rnnzoo.data.errors import DataError
from rnnzoo.data.labelled import LabelledData, read_labelled_file
from rnnzoo.data.sentiment import generate_sentiment
from rnnzoo.data.splits import contiguous_split, stratified_split
from rnnzoo.data.synthetic import (SINE_FREQ_RANGES, adding_problem, addition_strings,
                                   binary_addition, copy_memoryless_loss, copy_task,
                                   digits_sequences, noisy_sine, sine_from_params)
from rnnzoo.data.text import Vocab, tokenize

__all__ = [
    "DataError", "tokenize", "Vocab", "LabelledData", "read_labelled_file", "stratified_split",
    "contiguous_split", "generate_sentiment", "builtin_corpus", "decompose_hangul",
    "compose_hangul", "EncodedText", "open_text_file", "encode_text", "adding_problem",
    "copy_task", "copy_memoryless_loss", "binary_addition", "noisy_sine", "sine_from_params",
    "SINE_FREQ_RANGES", "addition_strings", "digits_sequences",
]
