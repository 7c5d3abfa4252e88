"""Tests of the synthetic world generator: run with
    /usr/bin/python3 -m pytest tools/worldgen/tests"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOOLS)

from worldgen import SCENES, Config, build_scene, generate  # noqa: E402
from worldgen import raster, sound  # noqa: E402
from worldgen.pngio import encode_png, read_png  # noqa: E402
from worldgen.wavio import read_wav  # noqa: E402
from worldgen.world import EDGE_MARGIN, GRAVITY, MIN_GAP  # noqa: E402

LAUNCHER = os.path.join(TOOLS, "worldgen.py")
CFG = Config()
SEEDS = range(4)


def run_cli(*args):
    return subprocess.run([sys.executable, LAUNCHER, *args], capture_output=True, text=True,
                          timeout=120)


# --- files on disk -----------------------------------------------------------------------------

def test_cli_writes_a_clip_with_the_default_sizes(tmp_path):
    out = tmp_path / "clip"
    result = run_cli("--scene", "bounce", "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    frames = sorted(os.listdir(out / "frames"))
    assert frames == [f"{k:05d}.png" for k in range(32)]
    for name in frames:
        assert read_png(out / "frames" / name).shape == (64, 64, 3)
    assert (out / "image.png").read_bytes() == (out / "frames" / "00000.png").read_bytes()
    audio, rate = read_wav(out / "audio.wav")
    assert rate == 16000 and len(audio) == 40960
    assert np.max(np.abs(audio)) < 1.0 and np.max(np.abs(audio)) > 0.01
    truth = json.loads((out / "truth.json").read_text())
    assert truth["fps"] == 12.5 and truth["sample_rate"] == 16000 and truth["seconds"] == 2.56
    assert truth["scene"] == "bounce" and truth["events"]
    for event in truth["events"]:
        assert set(event) == {"time", "kind", "position", "material", "strength"}
        # the 16-bit file keeps the sub-millisecond onsets
        assert 0 <= onset(audio, event["time"]) - event["time"] < 0.001


def test_cli_size_fps_and_seconds_options(tmp_path):
    out = tmp_path / "clip"
    result = run_cli("--scene", "pendulum", "--seed", "1", "--out", str(out), "--size", "48x32",
                     "--fps", "10", "--seconds", "2")
    assert result.returncode == 0, result.stderr
    assert len(os.listdir(out / "frames")) == 20
    assert read_png(out / "image.png").shape == (32, 48, 3)
    assert len(read_wav(out / "audio.wav")[0]) == 32000


@pytest.mark.parametrize("args, words", [
    (["--scene", "nope"], "invalid choice"),
    (["--scene", "bounce", "--size", "64"], "--size"),
    (["--scene", "bounce", "--size", "8x8"], "between 16 and 1024"),
    (["--scene", "bounce", "--size", "16x64"], "ratio"),
    (["--scene", "bounce", "--fps", "0"], "--fps"),
    (["--scene", "bounce", "--seconds", "2.5", "--fps", "12.5"], "whole number of frames"),
    (["--scene", "bounce", "--seconds", "0.2", "--fps", "10"], "at least"),
    (["--scene", "bounce", "--count", "0"], "--count"),
    (["--scene", "bounce", "--count", "2", "--jobs", "0"], "--jobs"),
    (["--scene", "bounce", "--seed", "-1"], "--seed"),
])
def test_cli_usage_errors_exit_2_with_a_message(tmp_path, args, words):
    result = run_cli(*args, "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    assert words in result.stderr
    assert not (tmp_path / "x").exists()


def test_count_writes_a_dataset_equal_to_single_clips(tmp_path):
    result = run_cli("--scene", "random", "--seed", "40", "--count", "3", "--jobs", "2",
                     "--out", str(tmp_path / "set"))
    assert result.returncode == 0, result.stderr
    index = json.loads((tmp_path / "set" / "index.json").read_text())
    assert [c["dir"] for c in index["clips"]] == ["00000", "00001", "00002"]
    assert [c["seed"] for c in index["clips"]] == [40, 41, 42]
    single = run_cli("--scene", "random", "--seed", "41", "--out", str(tmp_path / "one"))
    assert single.returncode == 0, single.stderr
    for name in ("truth.json", "audio.wav", "image.png", "frames/00031.png"):
        in_set = (tmp_path / "set" / "00001" / name).read_bytes()
        assert in_set == (tmp_path / "one" / name).read_bytes()


def test_png_round_trip():
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    path = "/dev/shm/worldgen-test.png" if os.path.isdir("/dev/shm") else "worldgen-test.png"
    with open(path, "wb") as f:
        f.write(encode_png(rgb))
    try:
        assert np.array_equal(read_png(path), rgb)
    finally:
        os.remove(path)


@pytest.mark.parametrize("size", [(32, 64), (256, 64), (100, 60)])
def test_every_scene_fits_other_frame_shapes(size):
    cfg = Config(width=size[0], height=size[1])
    for name in sorted(SCENES):
        for seed in range(5):
            for e in build_scene(name, seed, cfg).events:
                assert 0 <= e.position[0] <= 1 and 0 <= e.position[1] <= 1, (name, seed)


# --- determinism and the event rules ----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SCENES))
def test_same_seed_same_bytes_different_seed_different_clip(name):
    a, b, c = generate(name, 7), generate(name, 7), generate(name, 8)
    assert all(encode_png(x) == encode_png(y) for x, y in zip(a.frames, b.frames))
    assert a.audio.tobytes() == b.audio.tobytes()
    assert json.dumps(a.truth) == json.dumps(b.truth)
    assert not np.array_equal(a.frames, c.frames)
    assert not np.array_equal(a.audio, c.audio)
    assert a.truth["events"] != c.truth["events"]


def test_random_scene_is_chosen_by_the_seed():
    names = {build_scene("random", seed).name for seed in range(40)}
    assert names == set(SCENES)
    assert build_scene("random", 5).name == build_scene("random", 5).name


@pytest.mark.parametrize("name", sorted(SCENES))
def test_events_keep_spacing_margins_and_fields(name):
    for seed in range(20):
        scene = build_scene(name, seed)
        times = [e.time for e in scene.events]
        assert times, f"{name} seed {seed} has no events"
        assert min(times) >= EDGE_MARGIN and max(times) <= CFG.seconds - EDGE_MARGIN
        assert all(b - a >= MIN_GAP for a, b in zip(times, times[1:]))
        # continuous time: not snapped to frames or samples
        assert any(abs(t * CFG.fps - round(t * CFG.fps)) > 1e-3 for t in times) or len(times) < 2
        for e in scene.events:
            assert 0 < e.strength <= 1 and 0 <= e.position[0] <= 1 and 0 <= e.position[1] <= 1


# --- bounce: physics and picture ---------------------------------------------------------------

def test_bounce_times_follow_from_the_drop_height():
    for seed in SEEDS:
        truth = generate("bounce", seed).truth if seed == 0 else None   # and on disk once
        scene = build_scene("bounce", seed)
        p = scene.params
        g, h, e = p["gravity"], p["drop_height"], p["restitution"]
        assert g == GRAVITY
        t, v, expected = math.sqrt(2 * h / g), math.sqrt(2 * g * h), []
        for k in range(len(scene.events)):
            expected.append(t)
            t += 2 * e * v / g
            v *= e
        assert np.allclose([ev.time for ev in scene.events], expected, rtol=0, atol=1e-12)
        # no impact is missing: the next one falls after the clip, or the ball has come to rest
        assert t >= CFG.seconds or t - expected[-1] < MIN_GAP
        if truth:
            assert np.allclose([ev["time"] for ev in truth["events"]], expected, atol=1e-12)
        # strength follows the impact speed
        strengths = [ev.strength for ev in scene.events]
        assert all(b < a for a, b in zip(strengths, strengths[1:]))


def _ball_mask(frame, background, ground_y):
    diff = np.max(np.abs(frame.astype(int) - background.astype(int)), axis=2) > 12
    rows = (np.arange(frame.shape[0]) + 0.5) / frame.shape[0]
    diff[rows > ground_y, :] = False  # the shadow lies below the ground line, the ball above
    return diff


def test_bounce_ball_is_drawn_where_physics_puts_it():
    for seed in SEEDS:
        clip = generate("bounce", seed)
        scene, p = clip.scene, clip.scene.params
        H = CFG.height
        backgrounds = raster.render_frames(scene.extras["background"], CFG)
        ground, r = p["ground_y"], p["radius"]
        first = _ball_mask(clip.frames[0], backgrounds[0], ground)
        ys, xs = np.nonzero(first)
        # the first frame shows the drop height: the ball is nearly still, so the centroid of
        # its pixels is its centre
        cx, cy = scene.extras["centre"](CFG.frame_time(0))
        assert abs((ys.mean() + 0.5) / H - cy) * H < 1.0
        assert abs((xs.mean() + 0.5) / H - cx) * H < 1.0
        for k in range(CFG.frames):
            mask = _ball_mask(clip.frames[k], backgrounds[k], ground)
            lowest = (np.nonzero(mask.any(axis=1))[0].max() + 1) / H   # bottom edge, scene units
            heights = [ground - r - scene.extras["centre"](t)[1] for t in CFG.subframe_times(k)]
            expected = ground - min(heights)
            assert abs(lowest - expected) * H < 1.5, (seed, k, lowest * H, expected * H)
        for event in clip.truth["events"]:
            k = int(event["time"] * CFG.fps)   # the frame whose interval holds the impact
            mask = _ball_mask(clip.frames[k], backgrounds[k], ground)
            lowest = (np.nonzero(mask.any(axis=1))[0].max() + 1) / H
            assert abs(lowest - ground) * H < 1.5, (seed, k)


# --- pendulum ----------------------------------------------------------------------------------

def test_pendulum_ticks_at_turning_points():
    for seed in range(12):
        scene = build_scene("pendulum", seed)
        bob_x = scene.extras["bob"]
        t = np.arange(0, CFG.seconds, 1e-4)
        x = np.array([bob_x(v)[0] for v in t])
        turns = t[1:-1][(np.diff(x)[:-1] * np.diff(x)[1:]) < 0]
        ticks = np.array([e.time for e in scene.events])
        assert len(ticks) == len(turns)   # every turn in the whole clip ticks, none is silent
        assert np.all(np.abs(ticks - turns) < 2e-4)


def test_pendulum_rendered_bob_turns_in_the_tick_frames():
    H = CFG.height
    checked = 0
    for seed in SEEDS:
        clip = generate("pendulum", seed)
        extras, pivot_x = clip.scene.extras, clip.scene.params["pivot"][0] * CFG.aspect
        background = raster.to_uint8(extras["background"]).astype(int)
        r = extras["bob_radius"]
        ys, xs = np.mgrid[0:H, 0:CFG.width]
        track = []   # the rendered bob's centroid: changed pixels near where the bob can be
        for k in range(CFG.frames):
            bx, by = extras["bob"](CFG.frame_time(k))
            near = np.hypot((xs + 0.5) / H - bx, (ys + 0.5) / H - by) < r + 4.0 / H
            changed = np.max(np.abs(clip.frames[k].astype(int) - background), axis=2) > 12
            mask = near & changed
            track.append((xs[mask].mean() + 0.5) / H)
        swing = np.abs(np.array(track) - pivot_x)
        for e in clip.truth["events"]:
            k = int(round(e["time"] * CFG.fps - 0.5))   # the frame whose centre is nearest
            if not 2 <= k < CFG.frames - 2:
                continue
            # the bob swings out to the tick frame and comes back: its swing there is the
            # widest of the five frames around it (up to pixel rounding) and clearly wider
            # than two frames before and after
            around = swing[k - 2:k + 3]
            assert around[2] >= around.max() - 0.25 / H, (seed, e["time"], around * H)
            assert around[2] > max(around[0], around[4]) + 0.5 / H, (seed, e["time"], around * H)
            checked += 1
    assert checked >= 4


# --- strike and rain: the visible cause coincides with the event ---------------------------

def test_strike_stick_meets_the_patch_exactly_at_the_contacts():
    for seed in range(10):
        scene = build_scene("strike", seed)
        tip = scene.extras["tip"]
        for e in scene.events:
            assert tip(e.time)[1] == pytest.approx(0.0, abs=1e-12)
            assert tip(e.time - 0.01)[1] > 1e-3          # it comes down from above
            assert abs(tip(e.time)[0] / CFG.aspect - e.position[0]) < 1e-9
        lifted = [tip(t)[1] for t in np.arange(0.0, CFG.seconds, 0.001)
                  if min(abs(t - e.time) for e in scene.events) > 0.16]
        assert min(lifted) > 0.0   # no contact without an event (scratches last < 160 ms)


def test_rain_splash_appears_where_and_when_the_drop_lands():
    clip = generate("rain", 2)
    H = CFG.height
    for e in clip.truth["events"]:
        k = int(e["time"] * CFG.fps)
        if k + 1 >= CFG.frames:
            continue
        x, y = int(e["position"][0] * CFG.width), int(e["position"][1] * H)
        patch = (slice(max(0, y - 3), y + 4), slice(max(0, x - 3), x + 4))
        # the drop is falling onto the spot, then splashes there: the spot changes across the tick
        after, before = clip.frames[k + 1][patch], clip.frames[k - 1][patch]
        change = np.abs(after.astype(int) - before.astype(int))
        assert change.max() > 20, (e["time"], change.max())


# --- audio -------------------------------------------------------------------------------------

def onset(audio, t, rate=16000):
    """First sample (in s) around t where |x| rises halfway from the ringing before the event to
    the peak after it."""
    n = int(round(t * rate))
    before = np.max(np.abs(audio[n - int(0.012 * rate):n - int(0.001 * rate)]))
    peak = np.max(np.abs(audio[n:n + int(0.012 * rate)]))
    assert peak > 1.5 * before, f"event at {t:.4f} s is not louder than what rings before it"
    threshold = before + 0.12 * (peak - before)
    start = n - int(0.010 * rate)
    above = np.nonzero(np.abs(audio[start:n + int(0.012 * rate)]) > threshold)[0]
    return (start + above[0]) / rate


@pytest.mark.parametrize("name", sorted(SCENES))
def test_audio_onsets_within_1ms_of_the_truth(name):
    errors = []
    for seed in range(10):
        scene = build_scene(name, seed)
        audio = sound.mix(scene.voices, CFG)
        for e in scene.events:
            errors.append(onset(audio, e.time) - e.time)
    errors = np.array(errors)
    assert np.all(errors > -0.0001) and np.all(errors < 0.001), errors


def _centroid_hz(material, strength, seed):
    rng = np.random.default_rng(seed)
    buf = np.zeros(8000)
    for voice in sound.impact(rng, 0.01, material, strength):
        voice.add_to(buf, 16000)
    power = np.abs(np.fft.rfft(buf)) ** 2
    return float((power * np.fft.rfftfreq(len(buf), 1 / 16000)).sum() / power.sum())


def test_materials_sound_different_and_harder_hits_are_brighter():
    centroid = {m: np.median([_centroid_hz(m, 0.8, s) for s in range(12)])
                for m in ("dirt", "wood", "metal", "glass")}
    assert centroid["wood"] < centroid["metal"] < centroid["glass"]
    assert centroid["dirt"] < centroid["metal"]
    for m in ("wood", "metal", "glass"):
        soft = np.median([_centroid_hz(m, 0.4, s) for s in range(12)])
        hard = np.median([_centroid_hz(m, 1.0, s) for s in range(12)])
        assert hard > soft, m


def test_metal_rings_longer_than_wood():
    def ring_seconds(material):
        rng = np.random.default_rng(1)
        buf = np.zeros(16000)
        for voice in sound.impact(rng, 0.01, material, 0.8):
            voice.add_to(buf, 16000)
        loud = np.nonzero(np.abs(buf) > 0.01 * np.abs(buf).max())[0]
        return (loud[-1] - loud[0]) / 16000
    assert ring_seconds("metal") > 2 * ring_seconds("wood")


def test_bounce_impacts_get_quieter_as_the_ball_slows():
    for seed in SEEDS:
        scene = build_scene("bounce", seed)
        audio = sound.mix(scene.voices, CFG)
        peaks = [np.abs(audio[int(e.time * 16000):int((e.time + 0.03) * 16000)]).max()
                 for e in scene.events]
        if len(peaks) >= 3:
            assert peaks[0] > peaks[-1] * 1.3, (seed, peaks)


def test_sound_starts_between_samples_with_the_right_phase():
    rate, t0 = 16000, 0.1234567
    voice = sound.Modes(t0, np.array([440.0, 1234.0]), np.array([0.05, 0.02]),
                        np.array([1.0, 0.5]), np.array([0.3, 1.1]))
    buf = np.zeros(4000)
    voice.add_to(buf, rate)
    n = np.arange(4000)
    tau = n / rate - t0
    ref = sum(a * np.exp(-tau / d) * np.sin(2 * np.pi * f * tau + p)
              for f, d, a, p in zip(voice.freqs, voice.decays, voice.amps, voice.phases))
    ref = np.where(tau >= 0, ref * sound.attack_envelope(tau), 0.0)
    ref[n / rate > t0 + 9 * 0.05] = 0.0
    assert np.linalg.norm(buf - ref) / np.linalg.norm(ref) < 1e-12
    assert buf[int(t0 * rate)] == 0.0 and buf[int(t0 * rate) + 1] != 0.0
    # half a sample later is a different signal, not the same one snapped to the grid
    later = np.zeros(4000)
    shifted = sound.Modes(t0 + 0.5 / rate, voice.freqs, voice.decays, voice.amps, voice.phases)
    shifted.add_to(later, rate)
    assert np.linalg.norm(later - buf) / np.linalg.norm(buf) > 0.01


# --- time convention ---------------------------------------------------------------------------

def _flash_frames(times):
    return generate("flash", 11, options={"times": times, "whole_frame": True}).frames


def test_frame_centre_convention():
    dark = _flash_frames([]).astype(int)
    for k in (5, 12, 20):
        # sub-frames sit 5 ms inside each 80 ms frame: 3 ms after a frame starts is lit in
        # that frame's first sub-frame, 7 ms before it in the previous frame's last one
        for t, shown_in in (((k + 0.5) / CFG.fps, k), (k / CFG.fps + 0.003, k),
                            (k / CFG.fps - 0.007, k - 1)):
            frames = _flash_frames([t]).astype(int)
            changed = [j for j in range(CFG.frames) if np.abs(frames[j] - dark[j]).max() > 2]
            assert changed and changed[0] == shown_in, (t, changed[:3])
    # an event at a frame's centre lights half of that frame's interval
    k = 12
    mid = _flash_frames([(k + 0.5) / CFG.fps]).astype(float)
    start = _flash_frames([k / CFG.fps + 1e-9]).astype(float)
    gain_mid = (mid[k] - dark[k]).mean()
    gain_start = (start[k] - dark[k]).mean()
    assert 0.3 < gain_mid / gain_start < 0.7
