"""The voice-activity gate in front of Whisper: real recordings, synthetic speech, silence and noise."""

from __future__ import annotations

import numpy as np
import pytest
from speech_fixtures import chunks, noise_floor, real_recordings, speech_pcm

from companion.speech.vad import FRAME, GateSettings, VoiceGate, frame_db, to_float
from companion.speech.wav import read_samples


def segments(pcm: bytes | np.ndarray, settings: GateSettings | None = None) -> list:
    gate = VoiceGate(settings)
    if isinstance(pcm, bytes):
        found = [s for block in chunks(pcm) for s in gate.feed(block)]
    else:
        found = gate.feed(pcm)
    return found + gate.flush()


@pytest.mark.skipif(not real_recordings("yes"), reason="no Speech Commands recordings")
def test_each_recorded_word_is_one_segment() -> None:
    # Measured on all 300 recordings: 294 one segment, 1 two, 5 none (speech only 9 dB above the room,
    # or quieter than -70 dBFS). Lead-in room tone as a microphone stream would have it.
    counts = []
    for word in ("yes", "stop", "marvin", "happy", "left", "five"):
        for path in real_recordings(word):
            samples, _ = read_samples(path)
            frames = samples[: samples.size // FRAME * FRAME].reshape(-1, FRAME)
            quiet = float(np.percentile([frame_db(f) for f in frames], 10))
            counts.append(len(segments(np.concatenate([noise_floor(4800, quiet), samples]))))
    assert counts.count(1) >= 0.9 * len(counts), counts


def test_a_phrase_is_cut_with_pre_roll_and_trailing_silence() -> None:
    pcm = speech_pcm("more pressure", pad=1.0)
    loud = np.flatnonzero(np.abs(to_float(pcm)) > 0.01) / 16000  # espeak's voice, not the room
    [segment] = segments(pcm)
    assert loud[0] - 0.25 <= segment.start <= loud[0]  # opens on the speech, 0.2 s of pre-roll kept
    assert loud[-1] + 0.25 <= segment.end <= loud[-1] + 0.4  # ends ~0.3 s after it
    assert segment.audio.size == round((segment.end - segment.start) * 16000)
    assert segment.peak_snr_db > 30


def test_two_phrases_with_a_pause_are_two_segments() -> None:
    assert len(segments(speech_pcm("stop", pad=0.5) + speech_pcm("pain", pad=0.5, seed=1))) == 2


@pytest.mark.parametrize("dbfs", [-70.0, -50.0, -30.0, -15.0])
def test_steady_noise_never_opens_the_gate(dbfs: float) -> None:
    gate = VoiceGate()
    assert gate.feed(noise_floor(80000, dbfs, seed=2)) + gate.flush() == []
    assert gate.noise_floor_db == pytest.approx(dbfs, abs=2.0)


def test_the_floor_follows_the_room() -> None:
    gate = VoiceGate()
    gate.feed(noise_floor(48000, -60.0))
    assert gate.noise_floor_db == pytest.approx(-60, abs=2)
    gate.feed(noise_floor(64000, -35.0, seed=5))  # a fan was switched on: one segment at the onset at most
    assert gate.noise_floor_db == pytest.approx(-35, abs=2)
    assert not gate.in_speech


def test_speech_is_heard_over_a_louder_room() -> None:
    speech = to_float(speech_pcm("pause", floor_dbfs=-200.0))
    room = noise_floor(speech.size + 32000, -35.0, seed=6)
    room[16000 : 16000 + speech.size] += speech  # speech peaks around -10 dBFS: ~20 dB over the room
    assert len(segments(room.astype(np.float32))) == 1


def test_digital_silence_and_clicks_are_not_speech() -> None:
    assert segments(bytes(32000 * 2)) == []
    click = np.zeros(32000, np.float32)
    click[16000:16080] = 0.8  # 5 ms: far under the 0.15 s minimum
    assert segments(click) == []


def test_a_long_utterance_is_cut_at_the_maximum() -> None:
    settings = GateSettings(max_length=1.0)
    found = segments(speech_pcm("where am i how much longer is this going to take", pad=0.5), settings)
    assert len(found) >= 2
    assert all(s.end - s.start <= 1.0 + 1e-6 for s in found)


def test_reset_drops_the_open_segment_but_keeps_the_floor() -> None:
    gate = VoiceGate()
    pcm = speech_pcm("more pressure")
    gate.feed(pcm[: len(pcm) // 4 * 2])
    assert gate.in_speech
    floor = gate.noise_floor_db
    gate.reset()
    assert not gate.in_speech and gate.flush() == []
    assert gate.noise_floor_db == floor


def test_blocks_of_any_size_give_the_same_segments() -> None:
    pcm = speech_pcm("stop", pad=0.5) + speech_pcm("pain", pad=0.5, seed=1)
    whole = [(s.start, s.end) for s in segments(to_float(pcm))]
    odd = VoiceGate()
    step = 2 * 137  # not a multiple of the 20 ms frame
    found = [s for i in range(0, len(pcm), step) for s in odd.feed(pcm[i : i + step])] + odd.flush()
    assert [(s.start, s.end) for s in found] == whole


def test_with_early_silence_a_short_segment_is_reported_at_its_first_quiet_too() -> None:
    pcm = speech_pcm("stop", pad=0.6)
    early = GateSettings(early_silence=0.1)
    so_far, final = segments(pcm, early)
    assert not so_far.final and final.final
    assert so_far.start == final.start and so_far.speech_seconds == final.speech_seconds
    assert final.end - so_far.end == pytest.approx(early.end_silence - early.early_silence, abs=0.021)
    assert np.array_equal(so_far.audio, final.audio[: so_far.audio.size])  # the same utterance, shorter
    assert [s.final for s in segments(pcm)] == [True]  # off unless asked for


def test_a_segment_longer_than_early_max_is_not_reported_early() -> None:
    pcm = speech_pcm("stop", pad=0.6)
    assert [s.final for s in segments(pcm, GateSettings(early_silence=0.1, early_max=0.2))] == [True]


def test_room_tone_after_digital_silence_is_quiet_around_a_word() -> None:
    """A device that sends exact zeros between sounds (a headset's noise gate, the virtual devices): the floor
    sinks to the bottom, and the room tone right after the word must still count as quiet (measured: "pause"
    into the virtual microphone was read 0.3 s late, when the room tone ended)."""
    word = np.frombuffer(speech_pcm("pause", pad=0.0, floor_dbfs=-120.0), np.int16).astype(np.float32) / 32768
    tone = noise_floor(4800, -60.0, seed=3).astype(np.float32)  # 0.3 s
    audio = np.concatenate([np.zeros(48000, np.float32), tone[:1600], word, tone, np.zeros(16000, np.float32)])
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    spoken_end = loud[-1] / 16000
    found = segments(audio, GateSettings(early_silence=0.1))
    early, final = [s for s in found if not s.final], [s for s in found if s.final]
    assert len(final) == 1 and final[0].end <= spoken_end + 0.35  # not at the end of the room tone (+0.55)
    assert early and early[0].end <= spoken_end + 0.2
