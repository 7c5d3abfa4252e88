"""The synthetic audio-visual world (DESIGN.md §7): procedural scenes where a visible event
causes a sound at a known time.  Library entry points: generate(), write_clip(), Config."""

from .clip import Clip, build_scene, generate, make_clip, pick_scene, write_clip
from .scenes import SCENES
from .world import Config, Event

__all__ = ["Clip", "Config", "Event", "SCENES", "build_scene", "generate", "make_clip",
           "pick_scene", "write_clip"]
