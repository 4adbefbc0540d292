"""Per-language phrase tables: what each intent sounds like, and matching heard text to an intent.

One table per language (``phrases/<lang>.toml``) is the single source for the recognisers' grammar,
the intent matcher, the help text and the benchmark's phrase list.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from companion.errors import UserError
from companion.session.intents import Intent

SLOT_INTENTS = ("foot", "area")
NEGATION_REACH = 3  # words between a negation and the phrase it undoes: "don't [want to] stop"


@dataclass(frozen=True)
class Phrase:
    text: str
    intent: str
    value: int | str | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.split())


@dataclass(frozen=True)
class PhraseTable:
    language: str
    phrases: tuple[Phrase, ...]
    fillers: frozenset[str]
    safety: frozenset[str]
    help_words: tuple[tuple[str, str], ...]  # (intent, what to say for it), in table order
    # Foot and area words: they ride along with any intent ("pain in my left heel"), whatever is listened for.
    slot_phrases: tuple[Phrase, ...] = ()
    # A phrase starting up to NEGATION_REACH words after one of these is not said ("don't stop", "I don't want
    # to stop", "don't go back"); right after a weak one, unless it is a safety phrase ("no more pressure" is no
    # command, "no, stop!" is a stop). An intent's own list (negated_by) replaces both, right before it only:
    # "Don't! That hurts!" is pain, "not painful" is not.
    negations: tuple[tuple[str, ...], ...] = ()
    weak_negations: tuple[tuple[str, ...], ...] = ()
    negated_by: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict, hash=False)  # a table is a cache key
    # Intents that are negations themselves ("no": "no pain", "nothing hurts"): their phrases are never negated.
    negative: frozenset[str] = frozenset()
    # Runs of words that hold a phrase but are no command ("does that hurt?" asked by a therapist).
    not_commands: tuple[tuple[str, ...], ...] = ()
    # The phrases of the intents not listened for (see only): said, they hold no command, even when a phrase
    # that is listened for is inside them ("next foot" is not "next", "a bit longer" is not "a bit" = yes).
    unheeded: tuple[Phrase, ...] = ()

    def intents(self) -> list[str]:
        """Intent names in table order, each once."""
        return list(dict.fromkeys(p.intent for p in self.phrases))

    def phrases_for(self, intent: str) -> list[str]:
        return [p.text for p in self.phrases if p.intent == intent]

    def only(self, intents: Collection[str] | None) -> PhraseTable:
        """The table restricted to ``intents`` (None: the whole table); the slot words stay."""
        every = self.phrases + self.unheeded
        if intents is None:
            return replace(self, phrases=every, unheeded=())
        return replace(self, phrases=tuple(p for p in every if p.intent in intents),
                       unheeded=tuple(p for p in every if p.intent not in intents))

    def grammar_phrases(self, slots: bool = True) -> list[str]:
        """Every phrase a recogniser should listen for (spelled-out words only, no digits). ``slots``: with the
        foot and area words even when not listened for, for recognisers that hear them beside a command."""
        every = (*self.phrases, *self.slot_phrases) if slots else self.phrases
        return list(dict.fromkeys(p.text for p in every if not any(c.isdigit() for c in p.text)))

    def vocabulary(self) -> list[str]:
        """Every word used in the grammar, sorted."""
        return sorted({w for text in self.grammar_phrases() for w in text.split()})

    def match(self, text: str) -> Intent | None:
        """The intent of the heard ``text``, or None when no phrase of the table is in it.

        Filler words are ignored. An exact match wins; otherwise the longest phrase found as a run of
        words inside the text (fillers not counted: "stop now" is one word), a safety intent first on a
        tie, then the phrase heard first ("four out of five" is four; vosk strings grammar phrases
        together, and once heard "아니요" as "아니 어디": no, not where). A phrase right after a negation
        does not count ("no, don't stop" is no). Foot and area words anywhere in the text ride along as
        slots ("pain in my left heel"); they are the intent only when no other phrase is in the text
        ("left foot", "my left heel")."""
        heard = tuple(normalise(text).split())
        words = tuple(w for w in heard if w not in self.fillers)
        if not words:
            return None
        best = self._exact(heard, words) or self._best_inside(words)
        if best is None or self._inside_unheeded(words, best):
            return None
        slots = {slot: self._slot(words, slot) for slot in SLOT_INTENTS if best.intent != slot}
        spots = self._spots(words)
        if len(spots) > 1 and best.intent not in SLOT_INTENTS:  # "my left heel and my right arch": paired in order
            slots = dict(zip(SLOT_INTENTS, spots[0]))
        return Intent(best.intent, text=text, value=best.value, foot=slots.get("foot"), area=slots.get("area"),
                      others=tuple(spots[1:]) if len(spots) > 1 else ())

    def holds_phrase(self, text: str) -> bool:
        """Whether a phrase of the table, of any intent (listened for or not, foot and area words too), is in
        ``text``, even where ``match`` finds no intent in it: negated ("don't go back"), inside a not-command
        ("does that hurt?") or not listened for ("other foot" during the steps)."""
        words = tuple(w for w in normalise(text).split() if w not in self.fillers)
        return any(_contains(words, self.content(p)) for p in (*self.phrases, *self.unheeded))

    def _spots(self, words: tuple[str, ...]) -> list[tuple[str | None, str | None]]:
        """Each (foot, area) named, in order, one per part of the words between "and"s; an area with no foot
        of its own takes the one said before it ("my left heel and arch")."""
        spots: list[tuple[str | None, str | None]] = []
        foot = None
        parts = " ".join(words).split(" and ")
        for part in (tuple(p.split()) for p in parts):
            found, area = self._slot(part, "foot"), self._slot(part, "area")
            if found is None and area is None:
                continue
            foot = found or foot
            spots.append((foot, area))
        return spots

    def _inside_unheeded(self, words: tuple[str, ...], best: Phrase) -> bool:
        """Whether ``best`` was said as part of a longer phrase not listened for; never a safety phrase: "too
        much pressure" while only pain is listened for still says it hurts."""
        if best.intent in self.safety:
            return False
        content = self.content(best)
        return any(len(run := self.content(p)) > len(content) and _contains(run, content) and _contains(words, run)
                   for p in self.unheeded)

    def _exact(self, heard: tuple[str, ...], words: tuple[str, ...]) -> Phrase | None:
        """The phrase said word for word, else the one said but for fillers: "what now" is where am I, although
        "now" is a filler and "what" alone asks to repeat."""
        return next((p for p in self.phrases if p.words == heard), None) or \
            next((p for p in self.phrases if self.content(p) == words), None)

    def _best_inside(self, words: tuple[str, ...]) -> Phrase | None:
        asides = {i + k for run in self.not_commands for i in _starts(words, run) for k in range(len(run))}
        found = [(p.intent not in SLOT_INTENTS, len(content), p.intent in self.safety, -at, -i, p)
                 for i, p in enumerate(self.phrases)
                 if (at := self._said_at(words, content := self.content(p), p, asides)) >= 0]
        return max(found, key=lambda f: f[:5])[5] if found else None

    def _said_at(self, words: tuple[str, ...], run: tuple[str, ...], phrase: Phrase, asides: set[int]) -> int:
        """Where ``run`` (the phrase's words) is first said in ``words``, not negated and not inside a
        not-command (word positions ``asides``), or -1. The phrases of the intent that is a negation itself
        ("no": "no pain", "nothing hurts") are not negated ("no, nothing hurts")."""
        if phrase.intent in self.negated_by:
            reaching, right_before = (), self.negated_by[phrase.intent]
        else:
            reaching, right_before = self.negations, () if phrase.intent in self.safety else self.weak_negations
        if phrase.intent in self.negative:
            reaching, right_before = (), ()

        def negated(i: int) -> bool:
            before = words[max(0, i - NEGATION_REACH - 1) : i]
            return any(_find(before, neg) >= 0 for neg in reaching) or \
                any(words[max(0, i - len(neg)) : i] == neg for neg in right_before)

        n = len(run)
        return next((i for i in _starts(words, run) if not negated(i) and not asides.intersection(range(i, i + n))), -1)

    def content(self, phrase: Phrase) -> tuple[str, ...]:
        """The words of ``phrase`` that are matched: all but the fillers ("the", "please")."""
        return tuple(w for w in phrase.words if w not in self.fillers) or phrase.words

    def _slot(self, words: tuple[str, ...], slot: str) -> str | None:
        found = [p for p in self.slot_phrases if p.intent == slot and _contains(words, p.words)]
        return str(max(found, key=lambda p: len(p.words)).value) if found else None


def _word_runs(texts: list[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(normalise(t).split()) for t in texts)


def _starts(words: tuple[str, ...], run: tuple[str, ...]) -> list[int]:
    """Every place ``run`` starts in ``words``."""
    n = len(run)
    return [i for i in range(len(words) - n + 1) if words[i : i + n] == run]


def _find(words: tuple[str, ...], run: tuple[str, ...]) -> int:
    """Where ``run`` first starts in ``words``, or -1."""
    return next(iter(_starts(words, run)), -1)


def _contains(words: tuple[str, ...], run: tuple[str, ...]) -> bool:
    return _find(words, run) >= 0


def normalise(text: str) -> str:
    """Lowercase, apostrophes dropped, other punctuation to spaces, whitespace folded."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"(\w)'(\w)", r"\1\2", text)  # isn't -> isnt, that's -> thats
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def available_languages() -> list[str]:
    folder = resources.files("companion.speech") / "phrases"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


@cache
def load_phrases(language: str = "en") -> PhraseTable:
    """The phrase table of ``language``; UserError naming the known languages if there is none."""
    if language not in available_languages():
        known = ", ".join(available_languages())
        raise UserError(f"no phrase table for language {language!r}; use --lang with one of: {known}")
    raw = tomllib.loads((resources.files("companion.speech") / "phrases" / f"{language}.toml").read_text("utf-8"))
    phrases: list[Phrase] = []
    safety: set[str] = set()
    help_words: list[tuple[str, str]] = []
    for name, spec in raw["intents"].items():
        for text in spec.get("phrases", []):
            phrases.append(Phrase(normalise(text), name))
        for text, value in spec.get("values", {}).items():
            phrases.append(Phrase(normalise(text), name, value))
        if spec.get("safety"):
            safety.add(name)
        if "help" in spec:
            help_words.append((name, spec["help"]))
    return PhraseTable(
        language=raw["language"],
        phrases=tuple(phrases),
        fillers=frozenset(raw.get("fillers", [])),
        safety=frozenset(safety),
        help_words=tuple(help_words),
        slot_phrases=tuple(p for p in phrases if p.intent in SLOT_INTENTS),
        negations=_word_runs(raw.get("negations", [])),
        weak_negations=_word_runs(raw.get("weak_negations", [])),
        negated_by={name: _word_runs(spec["negated_by"]) for name, spec in raw["intents"].items() if "negated_by" in spec},
        negative=frozenset(p.intent for p in phrases if p.words in _word_runs(raw.get("negations", []) + raw.get("weak_negations", []))),
        not_commands=_word_runs(raw.get("not_commands", [])),
    )
