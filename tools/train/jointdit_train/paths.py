"""Import paths: the reference model (tools/reference) and the world (tools/worldgen)."""
import pathlib
import sys

TOOLS = pathlib.Path(__file__).resolve().parents[2]
ROOT = TOOLS.parent
for path in (TOOLS / "reference", TOOLS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
