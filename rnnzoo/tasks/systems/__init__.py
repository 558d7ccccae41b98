"""Lightning systems, one per sequence shape."""
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

__all__ = ["SYSTEMS", "RecurrentSystem", "ManyToOneSystem", "ManyToManySystem",
           "OneToManySystem", "Seq2SeqSystem"]
