"""Sub-commands of the ``lingauss`` CLI (one module each, see :mod:`lingauss.cli`)."""
