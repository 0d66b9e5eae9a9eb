"""Hand arguments to an AnsibleModule made in a test (module_args). The checkout imports as
ansible_collections.fakevpc.vpc through pytest.ini (collections/ on sys.path)."""

import contextlib
import json

import pytest
from ansible.module_utils import basic

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
