"""Make the checkout importable as ansible_collections.fakevpc.vpc for plain pytest runs."""

import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", "collections")
if os.path.isdir(_COLLECTIONS) and "ansible_collections.fakevpc" not in sys.modules:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))
