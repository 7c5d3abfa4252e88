"""16-bit mono WAV through the standard `wave` module."""

import wave

import numpy as np


def float_to_pcm16(samples):
    """Maps floats in [-1, 1] to int16 (values outside are clipped)."""
    return np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")


def write_wav(path, samples, sample_rate):
    pcm = float_to_pcm16(np.asarray(samples, dtype=np.float64))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())


def read_wav(path):
    """Returns (float samples in [-1, 1], sample_rate) of a 16-bit mono WAV."""
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit mono, got {w.getnchannels()} channel(s) "
                             f"of {8 * w.getsampwidth()} bits")
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float64) / 32767.0, rate
