"""`python3 -m worldgen` (with tools/ on the path) or `python3 tools/worldgen`."""

import os
import sys

if __package__ in (None, ""):
    # run as a folder: make the package importable from its parent
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from worldgen.cli import main
else:
    from .cli import main

sys.exit(main())
