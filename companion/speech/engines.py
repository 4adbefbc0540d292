"""Choosing a listening engine.

``auto`` takes the most accurate engine installed for the language, by the recognition benchmark
(README): whisper tiny.en (English), then vosk when a model for the language is installed, then
pocketsphinx's bundled English model.
"""

from __future__ import annotations

from companion.errors import ModelError, UserError
from companion.speech.recognizer import Recognizer

ENGINES = ("auto", "whisper", "vosk", "pocketsphinx")


def open_recognizer(engine: str = "auto", lang: str = "en") -> tuple[Recognizer, str]:
    """A ready recogniser and one line saying what it uses. ``engine`` is one of ENGINES
    ("text" is the CLI's business, not a recogniser)."""
    from companion.speech.vosk_engine import find_vosk_model, install_hint

    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if engine == "whisper" or (engine == "auto" and lang == "en" and whisper_available()):
        return _whisper(lang)
    model = find_vosk_model(lang) if engine in ("auto", "vosk") else None
    if engine == "vosk" or (engine == "auto" and model is not None):
        if model is None:
            raise ModelError(f"no vosk model for language {lang!r}; {install_hint(lang)}")
        from companion.speech.vosk_engine import VoskRecognizer

        recognizer = VoskRecognizer(model, lang)
        return recognizer, f"listening with vosk (model: {model})" + _missing(recognizer.missing_words, lang)
    if lang != "en":
        raise ModelError(f"no speech model for language {lang!r} (pocketsphinx only knows English); {install_hint(lang)}")
    from companion.speech.pocketsphinx_engine import EARLY_PHRASES, PocketsphinxRecognizer

    recognizer = PocketsphinxRecognizer(lang, early=EARLY_PHRASES)
    description = "listening with pocketsphinx (bundled en-us model, command grammar)"
    return recognizer, description + _missing(recognizer.missing_words, lang)


def _missing(words: list[str], lang: str) -> str:
    """The start-up report of phrase-table words the model lacks (their phrases are not listened for)."""
    if not words:
        return ""
    return f"; not in the model's dictionary, so not listened for ({lang}): {', '.join(words)}"


def whisper_available() -> bool:
    """Whether faster-whisper and a tiny.en model are installed (nothing is loaded to find out)."""
    import importlib.util

    if importlib.util.find_spec("faster_whisper") is None:
        return False
    from companion.speech.whisper_engine import find_model

    try:
        find_model()
    except ModelError:
        return False
    return True


def whisper_in_background(lang: str = "en") -> Recognizer:
    """Whisper tiny.en, decoding on its own thread (it delivers strong safety words at the first quiet
    after them: see companion.speech.whisper_engine)."""
    from companion.speech.whisper_engine import BackgroundRecognizer, WhisperRecognizer

    if lang != "en":
        raise ModelError(f"whisper tiny.en only knows English; for {lang!r} use --engine vosk")
    return BackgroundRecognizer(WhisperRecognizer(lang))


def _whisper(lang: str) -> tuple[Recognizer, str]:
    return whisper_in_background(lang), "listening with whisper tiny.en"
