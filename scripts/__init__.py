"""The project's scripts (not part of the package).

Most run as files (``python scripts/gen_docs.py``); those that share helpers with the tests run
from the repository root as modules (``python -m scripts.fuzz``), so that ``tests`` is
importable without editing ``sys.path``.
"""
