#!/usr/bin/env python3
"""Checks the structure of the Flatpak manifest (the runtimes and sources cannot be fetched
here, so this is what can be verified): the app id and runtime, the exact sandbox permissions,
the module order, that every third-party source is pinned, and that PortAudio is built without
JACK. Prints TAP; exits non-zero on any failure."""
import copy as copy_module
import json
import re
import sys

APP_ID = "io.github.jointdit.Studio"
FINISH_ARGS = ["--device=dri", "--socket=wayland", "--socket=fallback-x11",
               "--socket=pulseaudio", "--share=ipc"]
# Dependencies before the app; the app last.
MODULE_ORDER = ["portaudio", "onednn", "json-glib", "x264", "ffmpeg", "cuda-runtime",
                "jointdit-studio"]
HEX40 = re.compile(r"^[0-9a-f]{40}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

results = []


def check(name, ok, why=""):
    results.append((name, bool(ok), why))


def failures_of(manifest):
    """The names of the checks manifest fails (used to test the checks themselves)."""
    saved = results[:]
    del results[:]
    check_manifest(manifest)
    failed = [name for name, ok, _ in results if not ok]
    results[:] = saved
    return failed


def pinned(source):
    """A git source with a full commit, or a download with a sha256."""
    kind = source.get("type")
    if kind == "git":
        return bool(HEX40.match(source.get("commit", ""))) and ("tag" in source or "branch" in source)
    if kind in ("archive", "file"):
        return bool(HEX64.match(source.get("sha256", "")))
    return False


def check_manifest(manifest):
    check("app id", manifest.get("id") == APP_ID, manifest.get("id"))
    check("runtime is the GNOME Platform", manifest.get("runtime") == "org.gnome.Platform")
    check("sdk is the GNOME Sdk", manifest.get("sdk") == "org.gnome.Sdk")
    check("runtime version is a number (a stable GNOME release)",
          re.fullmatch(r"\d+", str(manifest.get("runtime-version", ""))),
          manifest.get("runtime-version"))
    check("command", manifest.get("command") == "jointdit-studio", manifest.get("command"))

    args = manifest.get("finish-args", [])
    check("finish-args are exactly the five allowed", args == FINISH_ARGS, args)
    check("no file system access (portals only)",
          not any(a.startswith("--filesystem") for a in args))
    check("no network", "--share=network" not in args)
    check("no session/system bus names", not any(a.startswith(("--talk-name", "--own-name",
                                                                  "--system-talk-name"))
                                                 for a in args))

    modules = manifest.get("modules", [])
    names = [m.get("name") if isinstance(m, dict) else m for m in modules]
    check("module order", names == MODULE_ORDER, names)

    by_name = {m.get("name"): m for m in modules if isinstance(m, dict)}
    for module in modules:
        if not isinstance(module, dict):
            check("module %r is inline" % module, False, "modules must be inline objects")
            continue
        name = module.get("name")
        sources = module.get("sources", [])
        if name == "jointdit-studio":
            check("the app is built with meson", module.get("buildsystem") == "meson")
            check("the app builds the studio", "-Dgui=enabled" in module.get("config-opts", []))
            check("the app comes from this tree",
                  sources == [{"type": "dir", "path": ".."}], sources)
            continue
        check("module %s has sources" % name, len(sources) > 0)
        for source in sources:
            check("module %s source %s is pinned" % (name, source.get("url")), pinned(source),
                  source)

    portaudio = by_name.get("portaudio", {})
    opts = portaudio.get("config-opts", [])
    check("PortAudio is built without JACK",
          "--without-jack" in opts or "-DPA_USE_JACK=OFF" in opts, opts)
    check("PortAudio is pinned by git tag and commit",
          any(s.get("type") == "git" and s.get("tag") and HEX40.match(s.get("commit", ""))
              for s in portaudio.get("sources", [])))
    ffmpeg = by_name.get("ffmpeg", {})
    check("FFmpeg has the H.264 encoder", "--enable-libx264" in ffmpeg.get("config-opts", []))


def self_test(manifest):
    """Each kind of mistake must be caught, or the checks above prove nothing."""
    def mutated(change):
        copy = copy_module.deepcopy(manifest)
        change(copy)
        return copy

    def module(m, name):
        return next(x for x in m["modules"] if x["name"] == name)

    mistakes = {
        "host file system": lambda m: m["finish-args"].append("--filesystem=host"),
        "network": lambda m: m["finish-args"].append("--share=network"),
        "missing pulseaudio": lambda m: m["finish-args"].remove("--socket=pulseaudio"),
        "unpinned PortAudio": lambda m: module(m, "portaudio")["sources"][0].pop("commit"),
        "archive without sha256": lambda m: module(m, "onednn")["sources"][0].pop("sha256"),
        "JACK enabled": lambda m: module(m, "portaudio")["config-opts"].remove("--without-jack"),
        "app before its dependencies": lambda m: m["modules"].insert(0, m["modules"].pop()),
        "other app id": lambda m: m.update(id="io.github.jointdit.Studio.Devel"),
    }
    for what, change in mistakes.items():
        check("a manifest with %s is refused" % what, failures_of(mutated(change)), what)


def main(path):
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    self_test(manifest)
    check_manifest(manifest)

    print("1..%d" % len(results))
    failed = 0
    for i, (name, ok, why) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok:
            failed += 1
            print("# got: %r" % (why,))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
