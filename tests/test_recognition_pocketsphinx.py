"""pocketsphinx on real audio: espeak-ng commands, real Speech Commands recordings, noise.

Thresholds are the values measured on this machine minus a margin (see the helper's report)."""

from __future__ import annotations

import pytest

from companion.cli.listen_cmds import decode_pcm
from companion.speech.phrases import load_phrases
from companion.speech.pocketsphinx_engine import (
    EARLY_PHRASES,
    PocketsphinxRecognizer,
    build_jsgf,
    decoy_words,
    missing_words,
)
from companion.speech.wav import read_wav, write_wav
from speech_fixtures import chunks, real_recordings, silence_pcm, speech_pcm, noise_floor
from companion.speech.wav import to_pcm16

TABLE = load_phrases("en")
VOICES = ("en-us", "en-gb", "en-us+f3")
IN_VOCAB = {"yes": "yes", "no": "no", "stop": "stop", "go": "resume", "left": "foot", "right": "foot",
            "one": "number", "two": "number", "three": "number", "four": "number", "five": "number"}
OUT_OF_VOCAB = "bed bird cat dog eight happy house marvin nine seven sheila six tree wow zero".split()


@pytest.fixture(scope="module")
def recognizer():
    return PocketsphinxRecognizer("en")


def intents(recognizer, pcm):
    return [r.intent.name for r in decode_pcm(recognizer, pcm) if r.intent]


def test_grammar_is_generated_from_the_phrase_table():
    jsgf = build_jsgf(TABLE.grammar_phrases(), ["banana"])
    for phrase in TABLE.grammar_phrases():
        assert phrase in jsgf
    assert "banana" in jsgf and missing_words(TABLE) == []


def test_decoys_never_sound_like_a_command_word():
    decoys = decoy_words(TABLE, 200)
    assert len(decoys) == 200
    for homophone in ("know", "write", "to", "for", "won", "too"):  # no, right, two, four, one
        assert homophone not in decoys
    assert not set(decoys) & set(TABLE.vocabulary())


def test_single_words_are_accepted(recognizer):
    # espeak's en-us "one" and "five" are missed (see the report); real recordings of them are tested below
    for word, intent in [("yes", "yes"), ("no", "no"), ("stop", "stop"), ("left", "foot"), ("right", "foot"),
                         ("two", "number"), ("three", "number"), ("four", "number")]:
        assert intents(recognizer, speech_pcm(word, "en-us")) == [intent], word


def test_each_single_word_of_the_real_recordings_is_mostly_accepted(real_results):
    inv, _ = real_results
    for word, intent in IN_VOCAB.items():
        right = sum(bool(out) and out[0][0] == intent for (w, _), out in inv.items() if w == word)
        assert right >= 3, word  # of 10 speakers each


def test_espeak_commands_several_per_intent_and_voice(recognizer):
    cases = [(intent, phrase, voice) for intent in TABLE.intents() for phrase in TABLE.phrases_for(intent)[:3]
             if not any(c.isdigit() for c in phrase) for voice in VOICES]
    right = sum(intents(recognizer, speech_pcm(phrase, voice)) == [intent] for intent, phrase, voice in cases)
    assert right / len(cases) >= 0.68  # measured 76 % (158/207)


def test_safety_words_in_the_default_voice(recognizer):
    for phrase, intent in [("pause", "pause"), ("wait", "pause"), ("stop", "stop"), ("ouch", "pain"), ("it hurts", "pain"),
                           ("yes", "yes"), ("no", "no")]:
        assert intents(recognizer, speech_pcm(phrase, "en-us")) == [intent], phrase


def test_words_the_dictionary_spells_with_an_apostrophe_are_listened_for(recognizer):
    """The phrase table writes "that's" as "thats"; the decoder learns it from the dictionary's "that's"."""
    assert intents(recognizer, speech_pcm("that's sore", "en-us")) == ["pain"]


def test_from_a_wav_file(recognizer, tmp_path):
    write_wav(tmp_path / "pause.wav", speech_pcm("pause", "en-us"))
    [heard] = decode_pcm(recognizer, read_wav(tmp_path / "pause.wav"))
    assert heard.intent.name == "pause" and heard.text == "pause" and 0 <= heard.confidence <= 1


def test_a_stream_in_20_ms_blocks_gives_each_command_in_order_with_times(recognizer):
    stream = speech_pcm("pause", pad=1.0) + speech_pcm("more time", seed=2, pad=1.0) + speech_pcm("stop", seed=3, pad=1.0)
    recognizer.reset()
    heard = []
    for block in chunks(stream, 20):
        heard += recognizer.accept(block)
    heard += recognizer.flush()
    assert [r.intent.name for r in heard if r.intent] == ["pause", "more_time", "stop"]
    starts = [r.start for r in heard]
    assert starts == sorted(starts) and all(r.end > r.start for r in heard)
    assert 0.8 < heard[0].start < 1.3  # the word begins after 1 s of quiet


def test_non_command_speech_is_mostly_rejected(recognizer):
    phrases = ["hello there", "the weather is nice", "banana", "my name is john", "kitchen", "open the window",
               "telephone", "good morning", "beautiful"]
    accepted = sum(bool(intents(recognizer, speech_pcm(p, v))) for p in phrases for v in ("en-us", "en-gb"))
    assert accepted <= 3  # measured 1 of 20


def test_ordinary_words_come_out_without_a_confidence(recognizer):
    """Decoy words are no command whatever their score, so the phone decoder is not run for them."""
    heard = decode_pcm(recognizer, speech_pcm("the weather is nice today", "en-us"))
    assert heard and all(r.intent is None and r.confidence == 0.0 for r in heard)
    [pause] = decode_pcm(recognizer, speech_pcm("pause", "en-us"))
    assert pause.intent is not None and pause.confidence > 0.0


def test_quiet_room_and_noise_give_no_intent(recognizer):
    assert intents(recognizer, silence_pcm(5.0)) == []
    assert intents(recognizer, to_pcm16(noise_floor(16000 * 3, dbfs=-30.0, seed=5))) == []


@pytest.fixture(scope="module")
def real_results(recognizer):
    def heard(path):
        out = decode_pcm(recognizer, read_wav(path))
        return [(r.intent.name if r.intent else None, r.confidence) for r in out]
    inv = {(w, p): heard(p) for w in IN_VOCAB for p in real_recordings(w)}
    oov = {(w, p): heard(p) for w in OUT_OF_VOCAB for p in real_recordings(w)}
    assert len(inv) == 110 and len(oov) == 150
    return inv, oov


def _rates(real_results, min_conf):
    inv, oov = real_results
    right = sum(any(i == IN_VOCAB[w] and c >= min_conf for i, c in out[:1]) for (w, _), out in inv.items())
    accepted = sum(any(i is not None and c >= min_conf for i, c in out) for out in oov.values())
    return right / len(inv), accepted / len(oov)


def test_real_recordings_default_operating_point(real_results):
    right, accepted = _rates(real_results, 0.0)
    assert right >= 0.62  # measured 70 % (77/110)
    assert accepted <= 0.60  # measured 50 % of 190 (this set of 150 leaves out down/off/on/up)


def test_real_recordings_with_a_confidence_floor_reject_most_other_words(real_results):
    right, accepted = _rates(real_results, 0.3)
    assert right >= 0.38  # measured 45 % (50/110)
    assert accepted <= 0.15  # measured 9 % (18/190)


def test_an_open_question_narrows_the_grammar(recognizer):
    """While a rating is open, "yes" cannot be heard as yes; once it closes, it is again."""
    from companion.session.engine import ANSWERS, QUESTION_COMMANDS

    yes, four = speech_pcm("yes"), speech_pcm("four")
    recognizer.expect(frozenset(ANSWERS["number"] + QUESTION_COMMANDS))
    try:
        assert "yes" not in intents(recognizer, yes) and intents(recognizer, four) == ["number"]
    finally:
        recognizer.expect(None)
    assert intents(recognizer, yes) == ["yes"]


def test_a_lone_foot_word_is_no_command_during_the_steps(recognizer):
    from companion.session.engine import STEP_COMMANDS

    recognizer.expect(frozenset(STEP_COMMANDS))
    try:
        assert intents(recognizer, speech_pcm("left")) == [] and intents(recognizer, speech_pcm("pain")) == ["pain"]
    finally:
        recognizer.expect(None)
    assert intents(recognizer, speech_pcm("left")) == ["foot"]


def test_during_the_steps_pause_is_not_taken_for_a_lone_foot_word(recognizer):
    """A lone foot or area word means nothing during the steps, so the grammar leaves it out there: it
    used to win over "pause" (espeak's British "pause" was heard as "both")."""
    from companion.session.engine import STEP_COMMANDS

    recognizer.expect(frozenset(STEP_COMMANDS))
    try:
        assert intents(recognizer, speech_pcm("pause", "en-gb-x-rp", 175)) == ["pause"]
    finally:
        recognizer.expect(None)


def _first_heard(recognizer: PocketsphinxRecognizer, pcm: bytes, intent: str) -> tuple[float | None, int, bool]:
    """Seconds of audio fed when ``intent`` first came out, how many times it came out, and whether the
    first was marked partial."""
    recognizer.reset()
    fed, first, partial, count = 0, None, False, 0
    for block in chunks(pcm + bytes(32000)):  # a second of quiet after the word
        fed += len(block)
        for rec in recognizer.accept(block):
            if rec.intent is not None and rec.intent.name == intent:
                count += 1
                if first is None:
                    first, partial = fed / 2 / 16000, rec.partial
    count += sum(1 for rec in recognizer.flush() if rec.intent is not None and rec.intent.name == intent)
    return first, count, partial


def test_early_words_come_at_the_first_quiet_after_them_and_only_once():
    """The early words (stop, pause) are decoded at the first short quiet, not after the endpointer's
    window: on real recordings of "stop", sooner by a tenth of a second or more, and never delivered twice."""
    plain, early = PocketsphinxRecognizer("en"), PocketsphinxRecognizer("en", early=EARLY_PHRASES)
    gains = []
    for path in real_recordings("stop"):
        pcm = silence_pcm(0.3) + read_wav(path)
        late_at, _, _ = _first_heard(plain, pcm, "stop")
        early_at, count, partial = _first_heard(early, pcm, "stop")
        assert count <= 1, path.name
        if late_at is not None and early_at is not None:
            assert early_at <= late_at, path.name
            if partial:
                gains.append(late_at - early_at)
    # early (measured: 5 of the 8 both heard, 3 since the phrase table's vocabulary grew and changed the decoy
    # words on 2026-12-07; the others at the endpoint)
    assert len(gains) >= 3, gains
    assert min(gains) >= 0.1, gains  # measured 0.18 to 0.36 s


def test_only_the_early_words_come_early():
    early = PocketsphinxRecognizer("en", early=EARLY_PHRASES)
    for word, intent in [("pain", "pain"), ("yes", "yes")]:
        out = decode_pcm(early, speech_pcm(word))
        assert [r.intent.name for r in out if r.intent] == [intent] and not any(r.partial for r in out), word
