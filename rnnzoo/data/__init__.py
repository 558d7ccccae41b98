"""The data layer: plain Python, NumPy and PyTorch, no Lightning.

- :mod:`~rnnzoo.data.text`: tokenizer and :class:`Vocab`;
- :mod:`~rnnzoo.data.labelled`: a user's labelled TSV/CSV/JSONL file, stratified splits;
- :mod:`~rnnzoo.data.classdir`: a directory with one text file per class (labels from names);
- :mod:`~rnnzoo.data.splits`: stratified (once or k-fold) and contiguous splits;
- :mod:`~rnnzoo.data.vectors`: pretrained word vectors (GloVe / word2vec text), coverage;
- :mod:`~rnnzoo.data.series`, :mod:`~rnnzoo.data.windows`: a user's time series, forecasting
  windows split in time order, scaling fitted on the train part;
- :mod:`~rnnzoo.data.real_series`: real series bundled in statsmodels and vega_datasets;
- :mod:`~rnnzoo.data.sentiment`: generated sentences where word order decides the label;
- :mod:`~rnnzoo.data.corpus`: character corpora, built-in and cached user files, Hangul jamo;
- :mod:`~rnnzoo.data.synthetic`: adding, copy, binary addition, sines, addition strings, digits.

A problem with a user's file is always a :class:`DataError`, one line long.
"""
from rnnzoo.data.classdir import class_label, read_class_dir, read_labelled
from rnnzoo.data.corpus import (EncodedText, builtin_corpus, compose_hangul, decompose_hangul,
                                encode_text, open_text_file)
from rnnzoo.data.errors import DataError
from rnnzoo.data.labelled import LabelledData, read_labelled_file
from rnnzoo.data.sentiment import generate_sentiment
from rnnzoo.data.real_series import REAL_SERIES, load_real_series, real_series_path
from rnnzoo.data.series import MISSING_CHOICES, Series, read_series, series_from_arrays
from rnnzoo.data.splits import contiguous_split, stratified_kfold, stratified_split
from rnnzoo.data.synthetic import (SINE_FREQ_RANGES, adding_problem, addition_strings,
                                   binary_addition, copy_memoryless_loss, copy_task,
                                   digits_sequences, noisy_sine, sine_from_params)
from rnnzoo.data.text import Vocab, tokenize
from rnnzoo.data.vectors import (Coverage, PretrainedEmbedding, WordVectors, embedding_matrix,
                                 load_pretrained_embedding, read_word_vectors)
from rnnzoo.data.windows import ForecastSplits, Standardizer, forecast_splits

__all__ = [
    "DataError", "tokenize", "Vocab", "LabelledData", "read_labelled_file", "stratified_split",
    "contiguous_split", "generate_sentiment", "builtin_corpus", "decompose_hangul",
    "compose_hangul", "EncodedText", "open_text_file", "encode_text", "adding_problem",
    "copy_task", "copy_memoryless_loss", "binary_addition", "noisy_sine", "sine_from_params",
    "SINE_FREQ_RANGES", "addition_strings", "digits_sequences", "read_class_dir", "read_labelled",
    "class_label", "stratified_kfold", "WordVectors", "Coverage", "PretrainedEmbedding",
    "read_word_vectors", "embedding_matrix", "load_pretrained_embedding", "Series",
    "read_series", "series_from_arrays", "MISSING_CHOICES", "Standardizer", "ForecastSplits",
    "forecast_splits", "REAL_SERIES", "real_series_path", "load_real_series",
]
