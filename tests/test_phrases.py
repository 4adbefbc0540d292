"""PhraseTable.match: which intent a heard text holds when it holds several phrases."""

import pytest

from companion.session.engine import ANSWERS, QUESTION_COMMANDS, STEP_COMMANDS
from companion.speech.phrases import load_phrases

EN = load_phrases("en")
KO = load_phrases("ko")
YES_NO = frozenset(ANSWERS["yesno"] + QUESTION_COMMANDS)


@pytest.mark.parametrize(("table", "text", "intent", "value"), [
    (EN, "four out of five", "number", 4),
    (EN, "five out of four", "number", 5),
    (EN, "yes where am i", "where", None),  # the longer phrase
    (EN, "go stop", "stop", None),  # a safety intent before one heard first
    (EN, "help pain", "pain", None),
    (EN, "resume skip", "resume", None),
    (EN, "skip resume", "skip", None),
    (KO.only(YES_NO), "아니 어디", "no", None),  # vosk's reading of "아니요" once, in the Korean end-to-end run
    (KO.only(YES_NO), "어디 아니", "where", None),
])
def test_of_equal_phrases_the_one_heard_first_wins(table, text: str, intent: str, value) -> None:
    heard = table.match(text)
    assert heard is not None and (heard.name, heard.value) == (intent, value)


@pytest.mark.parametrize("table", [EN, KO], ids=["en", "ko"])
def test_every_phrase_said_alone_is_its_own_intent(table) -> None:
    for phrase in table.phrases:
        heard = table.match(phrase.text)
        assert heard is not None and (heard.name, heard.value) == (phrase.intent, phrase.value), phrase.text


def test_an_exact_phrase_wins_over_the_phrases_inside_it() -> None:
    assert EN.match("say that again").name == "repeat"
    assert EN.match("it is not").name == "no"


@pytest.mark.parametrize(("text", "intent", "value", "foot", "area"), [
    ("pain in my left foot", "pain", None, "left", None),
    ("my right foot hurts", "pain", None, "right", None),
    ("ouch left foot", "pain", None, "left", None),
    ("pain in the ball of my left foot", "pain", None, "left", "ball"),
    ("it hurts on the ball of the foot", "pain", None, None, "ball"),
    ("left foot", "foot", "left", None, None),  # the answer to "which foot?"
    ("the left foot please", "foot", "left", None, None),
])
def test_foot_and_area_words_are_slots_of_any_other_intent_said_with_them(text: str, intent: str, value, foot,
                                                                          area) -> None:
    heard = EN.match(text)
    assert heard is not None and (heard.name, heard.value, heard.foot, heard.area) == (intent, value, foot, area)


@pytest.mark.parametrize(("text", "intent"), [
    ("stop it hurts", "pain"),  # "it hurts" is two words; "stop now" is one ("now" is a filler)
    ("too much pressure", "less_pressure"),
    ("too much", "pain"),
    ("that is too much", "pain"),
])
def test_phrases_are_ranked_by_their_words_that_are_not_fillers(text: str, intent: str) -> None:
    heard = EN.match(text)
    assert heard is not None and heard.name == intent


STEPS = frozenset(("pain", "stop", "pause", "skip", "more_pressure", "less_pressure", "where"))


@pytest.mark.parametrize(("text", "listening", "intent"), [
    ("no, don't stop", YES_NO, "no"),  # to "Do you want to end the session now?"
    ("don't stop", YES_NO, None),
    ("I'm not sure", YES_NO, "unsure"),  # "sure" is a yes
    ("no idea", YES_NO, "unsure"),  # not a "no"
    ("I don't know", YES_NO, "unsure"),
    ("a little", YES_NO, "yes"),
    ("much better", YES_NO, "no"),  # to "Is it still sore?"
    ("my heel is sore", STEPS, "pain"),
    ("the back of the heel is sore", STEPS | {"back"}, "pain"),  # not "go back"
    ("it's hurting", STEPS, "pain"),
    ("speak softer", STEPS | {"quieter"}, "quieter"),  # the voice, not the pressure ("softer")
    ("the whole foot", frozenset({"area"}), "area"),  # to "Which area?"
    ("hang on one second", YES_NO | {"number"}, "pause"),  # to a rating: not "one"
    ("it is not painful", YES_NO, "no"),
    ("no pain", YES_NO, "no"),
    ("no, no pain", YES_NO, "no"),
    ("no more pressure", STEPS, None),  # not firmer
    ("don't skip", STEPS, None),
    ("no, stop", STEPS, "stop"),  # "no" does not undo a safety phrase
    ("no pain", STEPS, "pain"),  # during the steps, pain is not to be missed
    ("what's next", STEPS, "where"),
    ("that's too hard", STEPS, "less_pressure"),
    ("no, I don't want to stop", YES_NO, "no"),  # the negation reaches over "want to"
    ("no, nothing hurts", YES_NO, "no"),
    ("I'm not in pain", YES_NO, "no"),
    ("it isn't painful", YES_NO, None),
    ("don't go back", STEPS | {"back", "resume"}, None),  # neither "go" nor "back"
    ("don't! that hurts!", STEPS, "pain"),  # only "not" or "isn't" right before undo pain
    ("ooh, that's sore", STEPS, "pain"),
    ("ow!", STEPS, None),  # one short sound: pocketsphinx made room noise into it
    ("that's a bit tender there", STEPS, "pain"),
    ("that's not sore", STEPS, None),
    ("four", YES_NO | {"number", "pain"}, "number"),  # a rating is never "sore"
    ("yes, it's still sore", YES_NO | {"pain"}, "pain"),  # which answers yes to "Is it still sore?" (a "spot" question)
    ("does that hurt?", STEPS, None),  # the therapist asking
    ("no, it doesn't hurt", STEPS, None),
    ("my thumb hurts", STEPS, None),
    ("a bit firmer", STEPS, "more_pressure"),
    ("what?", YES_NO, "repeat"),
    ("one more time", STEPS | {"repeat", "more_time"}, "repeat"),  # not "more time"
])
def test_a_phrase_right_after_a_negation_is_not_said(text: str, listening: frozenset[str], intent: str | None) -> None:
    heard = EN.only(listening).match(text)
    assert (heard.name if heard else None) == intent


def test_a_phrase_table_can_key_a_cache():
    """The recognisers cache what they derive from a table (pronunciations, prompts) by the table itself."""
    assert hash(EN) == hash(load_phrases("en")) and hash(EN.only(STEPS)) != hash(EN)


@pytest.mark.parametrize(("text", "listening", "intent"), [
    ("next foot", STEP_COMMANDS, "next_foot"),  # not "next" (skip)
    ("next", STEP_COMMANDS, "skip"),
    ("move on", STEP_COMMANDS, "skip"),
    ("let's move on to the other foot", STEP_COMMANDS, "next_foot"),  # not "move on"
    ("go on to the other foot", STEP_COMMANDS, "next_foot"),  # not "go on" (resume)
    ("switch feet", STEP_COMMANDS, "next_foot"),
    ("my other foot hurts", STEP_COMMANDS, "pain"),  # pain is never taken for a command
    ("pain in the other foot", STEP_COMMANDS, "pain"),
    ("don't go to the other foot yet", STEP_COMMANDS, None),
    ("left foot", None, "foot"),  # the answer to "which foot?"
    ("the right foot", None, "foot"),
])
def test_next_foot_takes_no_other_commands_phrases(text: str, listening: frozenset[str] | None,
                                                  intent: str | None) -> None:
    heard = EN.only(listening).match(text)
    assert (heard.name if heard else None) == intent


@pytest.mark.parametrize(("text", "listening", "intent"), [
    ("next foot", YES_NO | {"skip"}, None),  # to a safety question: not "next" (skip), which is not confirmed
    ("a bit longer", YES_NO, None),  # not "a bit" (yes)
    ("keep going longer", frozenset({"resume", "pause"}), None),  # while paused: not "keep going"
    ("softer voice", STEPS, None),  # not "softer" (less pressure) while the voice cannot be changed
    ("too much pressure", YES_NO, "pain"),  # a safety phrase is never hidden by a longer one
    ("how much longer", frozenset({"more_time"}), None),
    ("a bit", YES_NO, "yes"),
])
def test_a_longer_phrase_not_listened_for_holds_no_command(text: str, listening: frozenset[str],
                                                           intent: str | None) -> None:
    heard = EN.only(listening).match(text)
    assert (heard.name if heard else None) == intent


def test_the_whole_table_again_after_listening_for_some() -> None:
    assert EN.only(STEPS).only(None).match("next foot").name == "next_foot"


@pytest.mark.parametrize(("text", "intent", "foot"), [
    ("go to the left foot", "next_foot", "left"),  # not "go" (resume)
    ("move on to the right foot", "next_foot", "right"),  # not "move on" (skip)
    ("switch to the left foot", "next_foot", "left"),
    ("let's go on to the right foot", "next_foot", "right"),
    ("go to the other foot", "next_foot", "other"),
    ("go", "resume", None),
    ("go on", "resume", None),
    ("my left foot hurts", "pain", "left"),
    ("don't go to the left foot", None, None),
])
def test_next_foot_carries_the_foot_it_names(text: str, intent: str | None, foot: str | None) -> None:
    heard = EN.only(STEP_COMMANDS).match(text)
    assert ((heard.name, heard.foot) if heard else (None, None)) == (intent, foot)


@pytest.mark.parametrize(("text", "intent", "foot"), [
    ("다른 발로 바꿔", "next_foot", None),
    ("발 바꿔", "next_foot", None),
    ("왼쪽 발로 바꿔", "next_foot", "left"),  # the foot named rides along, as in English
    ("다음", "skip", None),
    ("왼쪽 아파", "pain", "left"),
])
def test_korean_next_foot(text: str, intent: str, foot: str | None) -> None:
    heard = KO.only(STEP_COMMANDS).match(text)
    assert heard is not None and (heard.name, heard.foot) == (intent, foot)
