"""Tasks: data (LightningDataModules that describe themselves) and the systems that train on them.

A task is a ``conf/task/<name>.yaml`` whose ``_target_`` names its data module (``rnnzoo.tasks.adding.AddingTask``):
that folder is the list of tasks.
"""
