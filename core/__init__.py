"""What every part of dlrhub shares; imports nothing of the project, nothing but the stdlib.

The leaf of the import graph: ``vocabulary`` (the words dlrhub stores and answers with,
which the provider adapters produce and the tables hold) and ``lifetime`` (keeping a
child process from outliving its parent, which ``serve`` and the API's supervisor both
need). Providers, the CLI's help and the API server import these without loading the
database layer.
"""
