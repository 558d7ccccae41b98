"""Networks for each sequence shape, built around any recurrent layer, and their factory."""
from rnnzoo.models.encoders import InputEncoder
from rnnzoo.models.networks import POOLINGS, BagOfVectors, ManyToMany, ManyToOne, OneToMany, Seq2Seq

__all__ = ["POOLINGS", "InputEncoder", "ManyToOne", "ManyToMany", "OneToMany", "Seq2Seq", "BagOfVectors"]
