"""Hidden-state probes: the text features, the ranking, the clamp, and the script end to end."""
import json

import numpy as np
import pytest
import torch

from rnnzoo.analysis.probes import (Clamp, clamp_effect, parse_unit, pearson, rank_units,
                                    run_stepwise, sample_with_clamp, text_features)
from rnnzoo.data.text import Vocab
from rnnzoo.models.factory import build_network
from rnnzoo.tasks.char_lm import sample_text
from rnnzoo.tasks.info import TaskInfo
from tests.helpers import load_script

TEXT = "def f(x):\n    return g(x, 'a(b', [1])  # it's\n\nclass C:\n    pass\n"


def values_at(text, feature, marker):
    """The feature's value right after reading each character of the first ``marker``."""
    start = text.index(marker)
    return text_features(text)[feature][start:start + len(marker)].tolist()


def test_quotes_open_on_the_opening_quote_and_close_on_the_closing_one():
    text = "x = 'ab' + \"c\\\"d\" + y"
    inside = text_features(text)["in_quote"]
    assert "".join(c for c, v in zip(text, inside) if v) == "'ab" + '"c\\"d'
    assert values_at('a = """q "x" (\n"""', "in_docstring", '"""q') == [1, 1, 1, 1]
    doc = text_features('a = """q "x" (\n""" + b')
    assert doc["in_docstring"][-5] == 0 and doc["in_docstring"][-6] == 1  # closed on the third "
    assert doc["bracket_depth"].max() == 0  # a bracket inside a string does not count


def test_bracket_depth_column_indent_comment_and_line_start():
    f = text_features(TEXT)
    depth = dict(zip(range(len(TEXT)), f["bracket_depth"]))
    assert [depth[TEXT.index(c)] for c in "(x)"] == [1, 1, 0]
    assert values_at(TEXT, "bracket_depth", "g(x, 'a(b', [1])") == \
        [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 0]
    assert values_at(TEXT, "column", "def f") == [1, 2, 3, 4, 5]
    assert values_at(TEXT, "column", ":\n    r") == [9, 0, 1, 2, 3, 4, 5]
    assert values_at(TEXT, "indent", ":\n    re") == [0, 0, 1, 2, 3, 4, 4, 4]
    assert values_at(TEXT, "line_start", ":\n    re") == [0, 1, 1, 1, 1, 1, 0, 0]
    assert values_at(TEXT, "in_comment", "  # it's\n\nc") == [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    assert values_at(TEXT, "in_quote", "# it's\n") == [0] * 7  # a quote inside a comment


def test_ranking_finds_a_planted_unit():
    rng = np.random.default_rng(0)
    text = (TEXT * 20)
    features = text_features(text)
    tracks = rng.normal(size=(len(text), 40))
    tracks[:, 7] = features["bracket_depth"] + 0.3 * rng.normal(size=len(text))
    tracks[:, 23] = -features["in_quote"] + 0.1 * rng.normal(size=len(text))
    names = [f"h{j}" for j in range(40)]
    ranking = rank_units(features, tracks, names, top=3)
    assert ranking["bracket_depth"][0]["unit"] == "h7" and ranking["bracket_depth"][0]["r"] > 0.8
    assert ranking["in_quote"][0]["unit"] == "h23" and ranking["in_quote"][0]["r"] < -0.8
    assert ranking["in_docstring"] == []  # no triple quotes in the text: constant, no ranking
    assert np.isnan(pearson(features["column"], np.ones((len(text), 1)))).all()


def tiny_lm(cell="lstm", hidden=8, vocab_size=12, seed=0):
    torch.manual_seed(seed)
    info = TaskInfo(name="char_lm", shape="many_to_many", target="classes", input_size=vocab_size,
                    output_size=vocab_size, tokens=True)
    return build_network(info, {"name": cell, "hidden_size": hidden}, embedding_dim=6).eval()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_stepwise_run_matches_the_whole_sequence_forward(cell):
    network = tiny_lm(cell)
    ids = torch.randint(2, 12, (40,)).tolist()
    recording = run_stepwise(network, ids)
    with torch.no_grad():
        logits, _ = network(torch.tensor([ids]))
    torch.testing.assert_close(recording.logits, logits[0], atol=1e-5, rtol=1e-5)
    assert recording.states["h"].shape == (40, 1, 8)
    assert set(recording.states) == ({"h", "c"} if cell == "lstm" else {"h"})


def test_clamping_fixes_the_unit_and_changes_the_output():
    network = tiny_lm("lstm")
    ids = torch.randint(2, 12, (30,)).tolist()
    free = run_stepwise(network, ids)
    clamped_h = run_stepwise(network, ids, clamp=Clamp(unit=3, value=0.9))
    assert (clamped_h.states["h"][:, 0, 3] == np.float32(0.9)).all()
    assert not (free.states["h"][:, 0, 3] == np.float32(0.9)).any()
    assert (clamped_h.logits - free.logits).abs().max() > 1e-3
    clamped_c = run_stepwise(network, ids, clamp=parse_unit("c5", 4.0))
    assert (clamped_c.states["c"][:, 0, 5] == 4.0).all()
    assert not np.allclose(clamped_c.states["h"][1:, 0, 5], free.states["h"][1:, 0, 5])
    with pytest.raises(ValueError, match="no 'c'"):
        run_stepwise(tiny_lm("gru"), ids, clamp=Clamp(unit=0, value=1.0, state="c"))
    with pytest.raises(ValueError, match="named like"):
        parse_unit("x3", 1.0)


def test_clamp_effect_and_samples():
    network = tiny_lm("lstm")
    vocab = Vocab([chr(ord("a") + k) for k in range(10)])
    ids = vocab.encode(list("abcabcabdjjabc" * 3))
    free = run_stepwise(network, ids)
    same = clamp_effect(free, free, vocab)
    assert same["delta_bits"] == 0 and same["kl_bits"] == pytest.approx(0, abs=1e-12)
    with torch.no_grad():  # a unit the head listens to hard, so its clamp must show
        network.head.weight[:, 2] = torch.linspace(-8, 8, len(vocab))
    clamp = Clamp(unit=2, value=1.0)
    effect = clamp_effect(run_stepwise(network, ids), run_stepwise(network, ids, clamp=clamp), vocab)
    assert effect["kl_bits"] > 0.01 and len(effect["delta_bits_per_char"]) == len(ids) - 1
    assert effect["rose"][0]["char"] == "j"  # the head's largest weight on unit 2
    kw = dict(prime="ab", length=40, temperature=1.0, seed=3)
    free_sample = sample_with_clamp(network, vocab, **kw)
    assert free_sample == sample_text(network, vocab, **kw)  # the same sampler without a clamp
    assert sample_with_clamp(network, vocab, clamp=clamp, **kw) != free_sample


def test_script_trains_probes_and_writes_files(tmp_path):
    cli = load_script("probe_hidden")
    out = tmp_path / "probes"
    result = cli.main([f"out_dir={out}", "hidden_size=16", "max_chars=20000", "train_steps=4",
                       "task.seq_len=40", "task.batch_size=8", "logger=none", "chars=500",
                       "heatmap_chars=150", "overview_steps=60", "sample_length=30", "top=3"])
    for name in ("units.png", "overview.png", "clamp.png", "clamp_shift.png", "probes.json", "probes.md"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads((out / "probes.json").read_text())
    assert data["chars"] == 500 and len(data["ranking"]["column"]) == 3
    assert data["untrained_twin_best"]["column"][0]["r"] is not None
    assert len(data["clamp"]["sample_free"]) == len(data["clamp"]["sample_clamped"]) == 30
    assert "| column |" in (out / "probes.md").read_text()
    assert result["checkpoint"].is_file() and result["checkpoint"].is_relative_to(out / "train")

    # with a checkpoint and no out_dir, the files go inside that run's folder
    again = cli.main([f"ckpt={result['checkpoint']}", "text=x = (1, 'a')\n# c\n", "baseline=false",
                      "clamp_unit=c2", "clamp_value=-3"])
    assert again["out_dir"] == out / "train" / "probes"
    assert again["summary"]["clamp"]["value"] == -3.0 and again["summary"]["untrained_twin_best"] is None
    assert (again["out_dir"] / "units.png").is_file()
    with pytest.raises(SystemExit, match="every feature is constant"):
        cli.main([f"ckpt={result['checkpoint']}", "text=\n\n\n", f"out_dir={tmp_path / 'none'}"])


def test_script_rejects_unknown_keys():
    cli = load_script("probe_hidden")
    with pytest.raises(SystemExit, match="unknown key"):
        cli.parse(["hidden=3"])
    options, overrides = cli.parse(["chars=100", "baseline=false", "optimizer.lr=0.01"])
    assert options["chars"] == 100 and options["baseline"] is False and overrides == ["optimizer.lr=0.01"]
