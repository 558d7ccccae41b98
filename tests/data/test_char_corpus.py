"""Character corpora: the built-in text, Hangul jamo, and the cached encoding of a user's file."""
import json
import subprocess
import sys
import sysconfig
import textwrap
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from rnnzoo.data import corpus
from rnnzoo.data.corpus import (builtin_corpus, compose_hangul, decompose_hangul, encode_text,
                                open_text_file)
from rnnzoo.data.errors import DataError

KOREAN = ("대한민국의 수도는 서울이며, 한강이 도시를 가로질러 흐른다. 봄이 되면 벚꽃이 피고 "
          "사람들은 공원에서 산책을 즐긴다. 여름에는 비가 많이 내리고 날씨가 무척 덥다. 가을 "
          "하늘은 높고 푸르며 단풍이 산을 붉게 물들인다. 겨울에는 눈이 내리고 아이들은 "
          "눈사람을 만들며 논다. 순환 신경망은 이전 상태를 기억하면서 문자를 하나씩 읽는다.")


def test_builtin_corpus_is_the_sorted_stdlib_source():
    text = builtin_corpus(50_000)
    assert len(text) == 50_000 and builtin_corpus(1_000) == text[:1_000]
    # "__future__.py" sorts first among the standard library's files
    first = (Path(sysconfig.get_paths()["stdlib"]) / "__future__.py").read_text("utf-8")
    assert text.startswith(first)
    assert len(builtin_corpus()) == 2_000_000


def test_builtin_corpus_leaves_out_site_packages_and_tests(tmp_path, monkeypatch):
    files = {"b.py": "B", "a/z.py": "AZ", "a/y.txt": "no", "site-packages/pkg.py": "no",
             "test/test_x.py": "no", "c/tests/t.py": "no", "a/__init__.py": "A"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "latin.py").write_bytes(b"\xe9")  # not UTF-8: skipped
    monkeypatch.setattr(corpus.sysconfig, "get_paths", lambda: {"stdlib": str(tmp_path)})
    assert builtin_corpus.__wrapped__(100) == "AAZB"  # a/__init__.py, a/z.py, b.py
    assert builtin_corpus.__wrapped__(3) == "AAZ"


def test_hangul_round_trip_and_a_smaller_alphabet():
    jamo = decompose_hangul(KOREAN)
    assert jamo == unicodedata.normalize("NFD", KOREAN)  # Hangul is all this text has to split
    assert compose_hangul(jamo) == KOREAN
    assert len(set(jamo)) < len(set(KOREAN)) * 0.6
    assert decompose_hangul("café 한") == "café \u1112\u1161\u11ab"  # Latin left alone
    every_syllable = "".join(map(chr, range(0xAC00, 0xD7A4)))
    assert decompose_hangul(every_syllable) == unicodedata.normalize("NFD", every_syllable)
    assert compose_hangul(decompose_hangul(every_syllable)) == every_syllable


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An isolated cache directory, chosen through the environment variable."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("RNNZOO_CACHE", str(folder))
    return folder


def write_text(tmp_path, text, name="book.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_encode_then_reuse_the_cache(tmp_path, cache, monkeypatch):
    text = "abracadabra\n" * 300 + "한국어"
    path = write_text(tmp_path, text)
    first = open_text_file(path)
    assert not first.from_cache and first.decode(first.ids) == text
    assert first.vocab.itos[:4] == ["<pad>", "<unk>", "a", "b"]  # most frequent first
    assert first.ids.dtype == np.uint8 and len(first) == len(text)
    assert sorted(p.suffix for p in (cache / "text").iterdir()) == [".json", ".npy"]

    def must_not_run(*args):
        raise AssertionError("the cached file was encoded again")

    monkeypatch.setattr(corpus, "_encode_into_cache", must_not_run)
    again = open_text_file(path)
    assert again.from_cache and isinstance(again.ids, np.memmap) and again.ids.mode == "r"
    assert np.array_equal(again.ids, first.ids) and again.vocab == first.vocab


def test_a_changed_file_or_other_options_get_their_own_entry(tmp_path, cache):
    path = write_text(tmp_path, KOREAN * 5)
    plain = open_text_file(path)
    jamo = open_text_file(path, jamo=True)
    assert not jamo.from_cache and len(jamo.vocab) < len(plain.vocab)
    assert jamo.decode(jamo.ids) == plain.decode(plain.ids)
    assert open_text_file(path).from_cache and open_text_file(path, jamo=True).from_cache
    path.write_text("changed text, same name " * 10, encoding="utf-8")
    changed = open_text_file(path)
    assert not changed.from_cache and changed.decode(changed.ids).startswith("changed")
    assert len(list((cache / "text").glob("*.npy"))) == 2  # the stale plain entry was dropped


def test_argument_beats_environment_variable(tmp_path, cache):
    path = write_text(tmp_path, "some text " * 10)
    open_text_file(path, cache=tmp_path / "elsewhere")
    assert list((tmp_path / "elsewhere" / "text").glob("*.npy")) and not cache.exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage json", "delete npy", "bad shape"])
def test_a_damaged_cache_entry_is_rebuilt(tmp_path, cache, damage):
    text = "the quick brown fox " * 100
    path = write_text(tmp_path, text)
    open_text_file(path)
    npy, = (cache / "text").glob("*.npy")
    meta = npy.with_suffix(".json")
    if damage == "truncate":
        npy.write_bytes(npy.read_bytes()[:-7])
    elif damage == "garbage json":
        meta.write_text("{not json")
    elif damage == "delete npy":
        npy.unlink()
    else:
        fields = json.loads(meta.read_text())
        fields["length"] += 1
        meta.write_text(json.dumps(fields))
    rebuilt = open_text_file(path)
    assert not rebuilt.from_cache and rebuilt.decode(rebuilt.ids) == text
    assert open_text_file(path).from_cache


def test_a_failed_encoding_leaves_no_file_behind(tmp_path, cache, monkeypatch):
    path = write_text(tmp_path, "text " * 100)
    real_table = corpus._lookup_table

    def broken_table(vocab):
        table = real_table(vocab)
        return table[:3]  # indexing with real code points fails half-way through writing

    monkeypatch.setattr(corpus, "_lookup_table", broken_table)
    with pytest.raises(IndexError):
        open_text_file(path)
    assert list((cache / "text").iterdir()) == []


def test_smallest_dtype_that_holds_the_vocabulary(tmp_path, cache):
    many = "".join(chr(0x4E00 + i) for i in range(300))  # 300 distinct CJK characters
    wide = open_text_file(write_text(tmp_path, many * 3))
    assert wide.ids.dtype == np.uint16 and len(wide.vocab) == 302
    assert encode_text("ab" * 10).ids.dtype == np.uint8


def test_splits_are_views_of_the_memmap(tmp_path, cache):
    encoded = open_text_file(write_text(tmp_path, "x y z " * 1000))
    train, val, test = encoded.split((0.9, 0.05, 0.05))
    assert (len(train), len(val), len(test)) == (5400, 300, 300)
    assert all(np.shares_memory(part, encoded.ids) for part in (train, val, test))


def test_encode_a_prompt_and_the_builtin_corpus():
    encoded = encode_text(builtin_corpus(20_000))
    assert encoded.decode(encoded.ids) == builtin_corpus(20_000)
    assert encoded.decode(encoded.encode("def f():\u2603")) == "def f():<unk>"


def test_user_mistakes(tmp_path, cache):
    with pytest.raises(DataError, match=r"^data file '.*missing.txt': no such file$"):
        open_text_file(tmp_path / "missing.txt")
    with pytest.raises(DataError, match=r"is a directory, not a file$"):
        open_text_file(tmp_path)
    with pytest.raises(DataError, match=r"'.*empty.txt': the file is empty$"):
        open_text_file(write_text(tmp_path, "", "empty.txt"))
    with pytest.raises(DataError, match=r"holds only whitespace$"):
        open_text_file(write_text(tmp_path, " \n\t\n", "blank.txt"))
    short = write_text(tmp_path, "hello", "short.txt")
    with pytest.raises(DataError) as caught:
        open_text_file(short, min_length=101)
    assert str(caught.value) == (f"data file '{short}': the text is 5 characters long; training "
                                 "needs at least 101 (one sequence of seq_len + 1)")
    assert len(open_text_file(short, min_length=5)) == 5  # and the check holds for cached files
    with pytest.raises(DataError, match="5 characters long"):
        open_text_file(short, min_length=6)
    assert not list((cache / "text").glob("blank*"))


def test_undecodable_bytes_name_the_line(tmp_path, cache):
    path = tmp_path / "latin1.txt"
    path.write_bytes(("fine line\n" * 100_000 + "caf\xe9\nok\n\xe9t\xe9\n").encode("latin-1"))
    with pytest.raises(DataError) as caught:
        open_text_file(path)
    assert str(caught.value) == (f"data file '{path}', line 100001: has bytes that are not "
                                 "UTF-8; save the file as UTF-8 (and 1 more bad line)")
    assert not (cache / "text").exists() or not list((cache / "text").iterdir())


BIG_FILE_SCRIPT = textwrap.dedent("""
    import json, re, sys, time, tracemalloc
    from rnnzoo.data.corpus import open_text_file

    def peak_rss_mib():  # VmHWM: this process's peak resident memory since the last reset
        status = open("/proc/self/status").read()
        return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) / 1024

    def reset_peak_rss():  # Linux: writing 5 to clear_refs resets VmHWM to the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    reset_peak_rss()
    before = peak_rss_mib()
    tracemalloc.start()
    start = time.perf_counter()
    first = open_text_file(sys.argv[1], cache=sys.argv[2], min_length=1000)
    encode_s = time.perf_counter() - start
    traced_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss_mib = peak_rss_mib() - before
    start = time.perf_counter()
    again = open_text_file(sys.argv[1], cache=sys.argv[2], min_length=1000)
    reopen_s = time.perf_counter() - start
    print(json.dumps({"rss_mib": rss_mib, "traced_mib": traced_mib, "encode_s": encode_s,
                      "reopen_s": reopen_s, "length": len(first), "cached": again.from_cache,
                      "tail": again.decode(again.ids[-20:])}))
""")


@pytest.mark.slow
def test_a_100_mb_file_streams_in_bounded_memory(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "mat", "한국어", "naïve", "\n"]
    block = " ".join(rng.choice(words, size=200_000)).encode("utf-8")
    path = tmp_path / "big.txt"
    with open(path, "wb") as f:
        while f.tell() < 100_000_000:
            f.write(block)
        f.write(b"THE END")
    size_mib = path.stat().st_size / 2**20
    result = subprocess.run([sys.executable, "-c", BIG_FILE_SCRIPT, str(path),
                             str(tmp_path / "cache")], capture_output=True, text=True, check=True)
    stats = json.loads(result.stdout)
    print(f"{size_mib:.0f} MiB file, {stats['length']:,} characters: peak RSS grew "
          f"{stats['rss_mib']:.1f} MiB, peak traced allocations {stats['traced_mib']:.1f} MiB; "
          f"encoding took {stats['encode_s']:.2f} s, reopening {stats['reopen_s'] * 1e3:.1f} ms")
    assert stats["cached"] and stats["tail"].endswith("THE END")
    # The file is ~96 MiB and its ids as many bytes: neither may be held in memory at once.
    assert stats["rss_mib"] < 40 and stats["traced_mib"] < 40  # measured 24 and 14
    assert stats["reopen_s"] < 0.5
