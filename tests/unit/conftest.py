"""Make the checkout importable as ansible_collections.fakevpc.vpc for plain pytest runs; hand arguments to an
AnsibleModule made in a test (module_args)."""

import contextlib
import json
import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", "collections")
if os.path.isdir(_COLLECTIONS) and "ansible_collections.fakevpc" not in sys.modules:
    sys.path.insert(0, os.path.abspath(_COLLECTIONS))

from ansible.module_utils import basic  # noqa: E402  # pylint: disable=wrong-import-position

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19: a module reads its arguments from basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args):
        previous = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = previous


@pytest.fixture
def module_args():
    """patch_module_args(args), a context manager that hands args to the next AnsibleModule (any ansible-core)."""
    return patch_module_args
