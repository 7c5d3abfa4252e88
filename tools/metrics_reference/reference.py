"""The reference computations, done the reference implementations' way (OpenCV, librosa).

AV-Align follows TempoTokens' av_align.py (with its February 2025 fix: video peaks need a mean
flow magnitude of at least 0.1); the motion score follows data-juicer's video_motion_score
filter.  Only the frame source differs: frames are read from PNG files with cv2.imread (BGR, as
cv2.VideoCapture hands them over) instead of being decoded from an MP4, so that the C code and
this script see the same pixels."""

import glob
import os

import cv2
import librosa
import numpy as np

FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)   # pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags


def read_frames(folder):
    paths = sorted(glob.glob(os.path.join(folder, "frames", "*.png")))
    return [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]


def grey(frame):
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def flow(a, b):
    return cv2.calcOpticalFlowFarneback(grey(a), grey(b), None, *FARNEBACK)


def mean_magnitude(f):
    magnitude = cv2.magnitude(f[..., 0], f[..., 1])
    return cv2.mean(magnitude)[0]


def flow_trajectory(frames):
    # the reference counts the first pair twice, so the list has one value per frame
    return [mean_magnitude(flow(frames[0], frames[1]))] + [
        mean_magnitude(flow(frames[i - 1], frames[i])) for i in range(1, len(frames))]


def video_peaks(trajectory, fps):
    return [i / fps for i in range(1, len(trajectory) - 1)
            if trajectory[i - 1] < trajectory[i] > trajectory[i + 1] and trajectory[i] >= 0.1]


def onset_envelope(wav):
    y, sr = librosa.load(wav)            # resampled to 22,050 Hz, as the reference does
    return librosa.onset.onset_strength(y=y, sr=sr), sr


def audio_peaks(wav):
    envelope, sr = onset_envelope(wav)
    frames = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr)
    return list(librosa.frames_to_time(frames, sr=sr)), [int(f) for f in frames]


def iou(audio, video, fps):
    intersection = 0
    used = [False] * len(video)
    for a in audio:
        for j, v in enumerate(video):
            if not used[j] and v - 1 / fps < a < v + 1 / fps:
                intersection += 1
                used[j] = True
                break
    union = len(audio) + len(video) - intersection
    return intersection / union if union else 0.0


def motion_score(frames, fps, sampling_fps=2.0):
    step = max(round(fps / sampling_fps), 1)
    scores, prev = [], None
    for index, frame in enumerate(frames):
        if index % step:
            continue
        g = grey(frame)
        if prev is not None:
            f = cv2.calcOpticalFlowFarneback(prev, g, None, *FARNEBACK)
            magnitude, _ = cv2.cartToPolar(f[..., 0], f[..., 1])
            scores.append(float(np.mean(magnitude)))
        prev = g
    return (float(np.mean(scores)) if scores else 0.0), scores
