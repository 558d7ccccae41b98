"""Lightning systems, one per sequence shape."""
from __future__ import annotations

from rnnzoo.tasks.systems.base import RecurrentSystem
from rnnzoo.tasks.systems.many_to_many import ManyToManySystem
from rnnzoo.tasks.systems.many_to_one import ManyToOneSystem
from rnnzoo.tasks.systems.one_to_many import OneToManySystem
from rnnzoo.tasks.systems.seq2seq import Seq2SeqSystem

SYSTEMS = {
    "many_to_one": ManyToOneSystem,
    "many_to_many": ManyToManySystem,
    "one_to_many": OneToManySystem,
    "seq2seq": Seq2SeqSystem,
}


def build_system(network, info, *, tbptt: tuple[int, int] | None = None, **options) -> RecurrentSystem:
    """The system for ``info``'s sequence shape (the config's ``system`` entry). ``tbptt``
    (k1, k2) is the aligned many-to-many system's alone."""
    if tbptt is not None:
        options["tbptt"] = tbptt
    return SYSTEMS[info.shape](network, info, **options)


__all__ = ["SYSTEMS", "build_system", "RecurrentSystem", "ManyToOneSystem", "ManyToManySystem",
           "OneToManySystem", "Seq2SeqSystem"]
