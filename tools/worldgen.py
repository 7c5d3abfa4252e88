#!/usr/bin/python3
"""Launcher of the synthetic world generator (the package lives in tools/worldgen/).

Debian's /usr/bin/python3 is named on purpose: it has numpy, a pyenv python on PATH may not."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from worldgen.cli import main  # noqa: E402  (after the path is set)

if __name__ == "__main__":
    sys.exit(main())
