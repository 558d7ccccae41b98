"""Hangul syllables <-> conjoining jamo, for character models of Korean.

A precomposed syllable such as 한 is one of 11,172 code points; written as its jamo (ᄒ ᅡ ᆫ)
the same text needs only 19 + 21 + 27 letters, so a character vocabulary shrinks and the
model sees the alphabet Korean is actually written in. The arithmetic is the Unicode
Standard's (section 3.12, "Conjoining Jamo Behavior"): S = S_BASE + (L * 21 + V) * 28 + T.
Only Hangul is touched, unlike a full NFD/NFC pass that would also split accented Latin.
"""
from __future__ import annotations

import re

S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
S_COUNT = L_COUNT * V_COUNT * T_COUNT  # 11172 syllables

_DECOMPOSE = {}
for _s in range(S_COUNT):
    _l, _v, _t = _s // (V_COUNT * T_COUNT), (_s // T_COUNT) % V_COUNT, _s % T_COUNT
    _DECOMPOSE[S_BASE + _s] = chr(L_BASE + _l) + chr(V_BASE + _v) + (chr(T_BASE + _t) if _t else "")

_SYLLABLE = re.compile(f"([{chr(L_BASE)}-{chr(L_BASE + L_COUNT - 1)}])"
                       f"([{chr(V_BASE)}-{chr(V_BASE + V_COUNT - 1)}])"
                       f"([{chr(T_BASE + 1)}-{chr(T_BASE + T_COUNT - 1)}])?")


def decompose_hangul(text: str) -> str:
    """Hangul syllables -> conjoining jamo (what NFD does to Hangul); other text unchanged."""
    return text.translate(_DECOMPOSE)


def _compose(match: re.Match) -> str:
    lead, vowel, tail = match.groups()
    t = ord(tail) - T_BASE if tail else 0
    return chr(S_BASE + ((ord(lead) - L_BASE) * V_COUNT + ord(vowel) - V_BASE) * T_COUNT + t)


def compose_hangul(text: str) -> str:
    """Conjoining jamo -> Hangul syllables (what NFC does to Hangul): undoes decompose_hangul
    for any text that held no conjoining jamo to begin with."""
    return _SYLLABLE.sub(_compose, text)
