"""Diagnostics: how gradients flow back through time (:mod:`rnnzoo.analysis.gradient_flow`),
and the plots, JSON and TensorBoard events that report it (:mod:`rnnzoo.analysis.reporting`)."""
