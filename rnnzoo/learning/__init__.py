"""The texts' learning algorithms, written out by hand to be read and compared (teaching code;
the core cells' fast loops live in :mod:`rnnzoo.kernels`).

- ``tbptt``: truncated BPTT(k1, k2) (Williams & Peng 1990);
- ``rtrl``: real-time recurrent learning (Williams & Zipser 1989) for the Elman RNN and the GRU;
- ``gradcheck``: a centred-difference gradient check.
"""
