"""Use a trained checkpoint: label sentences (sentiment) or sample text (char_lm).

    python scripts/predict.py outputs/sentiment/lstm/<run>/checkpoints/best.ckpt "not bad at all" "good but boring"
    python scripts/predict.py outputs/char_lm/lstm/<run>/checkpoints/best.ckpt --length 400 --temperature 0.7 --prime "def "
"""
from __future__ import annotations

import argparse
import sys

import torch

from rnnzoo.checkpoints import CheckpointError, load_trained
from rnnzoo.data.text import Vocab, tokenize
from rnnzoo.tasks.char_lm import sample_text


def label_sentences(network, info, sentences: list[str]) -> list[str]:
    vocab = Vocab.from_dict(info.artifacts["vocab"])
    labels = info.artifacts["labels"]
    lines = []
    with torch.no_grad():
        for sentence in sentences:
            ids = vocab.encode(tokenize(sentence)) or [vocab.unk_id]
            probs = network(torch.tensor([ids]), torch.tensor([len(ids)])).softmax(-1)[0]
            best = int(probs.argmax())
            lines.append(f"{labels[best]:<10} {float(probs[best]):.3f}  {sentence}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("sentences", nargs="*", help="sentences to label (sentiment checkpoints)")
    parser.add_argument("--length", type=int, default=300, help="characters to sample (char_lm)")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--prime", default="\n", help="text to start sampling from (char_lm)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        network, info, _ = load_trained(args.checkpoint)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if info.name == "char_lm":
        if args.temperature <= 0:
            print("error: --temperature must be positive", file=sys.stderr)
            return 2
        vocab = Vocab.from_dict(info.artifacts["vocab"])
        print(args.prime + sample_text(network, vocab, prime=args.prime, length=args.length,
                                       temperature=args.temperature, seed=args.seed,
                                       jamo=info.artifacts.get("jamo", False)))
        return 0
    if "labels" in info.artifacts and info.tokens:
        if not args.sentences:
            print("error: give one or more sentences to label", file=sys.stderr)
            return 2
        print("\n".join(label_sentences(network, info, args.sentences)))
        return 0
    print(f"error: predict.py handles sentiment and char_lm checkpoints; this one is task "
          f"{info.name!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
