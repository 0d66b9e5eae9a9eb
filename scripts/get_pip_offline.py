"""Offline stand-in for get-pip.py, copied by scripts/sanity.sh into ansible-test's cache.

ansible-test runs it (through its quiet_pip.py) in each fresh sanity venv as
``get-pip.py [pip options] pip==X.Y [--no-setuptools] [--no-wheel]``: install pip from the
Python's own ensurepip, then let that pip install what was asked for.
"""

import os
import subprocess
import sys

# A PIP_CONFIG_FILE would make pip skip the machine's pip.conf (its certificate and index settings).
os.environ.pop('PIP_CONFIG_FILE', None)

args = sys.argv[1:]
options = [arg for arg in args if arg not in ('--no-setuptools', '--no-wheel')]

subprocess.run([sys.executable, '-m', 'ensurepip', '--upgrade'], check=True, stdout=subprocess.DEVNULL)
subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', *options], check=True)

# ensurepip brings setuptools along on Python < 3.12; get-pip.py would not have.
unwanted = [name for name, flag in (('setuptools', '--no-setuptools'), ('wheel', '--no-wheel')) if flag in args]
if unwanted:
    subprocess.run([sys.executable, '-m', 'pip', 'uninstall', '-q', '-y', *unwanted], check=False,
                   stderr=subprocess.DEVNULL)
