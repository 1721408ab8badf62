"""What ansible-test runs as pip's get-pip.py when it makes a sanity venv, written from what CPython already has.

ansible-test downloads get-pip.py from a host CI may not reach, unless a copy sits in its cache
(``~/.ansible/test/cache/get_pip_<version>.py``); ``make sanity`` puts this script there. It takes
the same arguments as get-pip.py: it installs the pip bundled with CPython (``ensurepip``, no
download), then lets that pip install the requested packages (pip's pinned version among them)
from the configured index.
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

# get-pip.py's own switches; the packages ansible-test lists are installed by pip as usual.
GET_PIP_SWITCHES = ("--no-setuptools", "--no-wheel")


def main() -> None:
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null for its own run; the index configured for
    # this machine (pip.conf) applies to what follows.
    os.environ.pop("PIP_CONFIG_FILE", None)
    packages = [arg for arg in sys.argv[1:] if arg not in GET_PIP_SWITCHES]
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + packages)


if __name__ == "__main__":
    main()
