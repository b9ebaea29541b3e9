"""What one message is, before the conversation decides what to do with it.

    understand(retriever, cfg, text, lang) -> Reading

A Reading has the safety assessment (knowledge/safety.py), the conversation act the classifier
sees (greet, thanks, talk_to_person, followup, repair ...) if it is confident, and the standalone
topic decision (knowledge/decide.py). actions/answer.py reads it against the conversation so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from knowledge import safety
from knowledge.decide import Decision, DecisionConfig, act_probabilities, decide, oos_probability
from knowledge.retrieval import Ranking, Retriever
from knowledge.textnorm import fold

# A conversation act counts when the classifier gives it at least ACT_MIN, more than any topic and
# more than out of scope, and the message is not longer than the act's usual length.
ACT_MIN = 0.4
# ... or its nearest example is this close (short messages: "cześć", "hej då") and closer than
# any topic example.
ACT_NEAREST_MIN = 0.94
TALK_OVER_TOPIC = 0.7  # a request for a person beats a confident answer on another topic only this sure
ACT_MAX_WORDS = {
    "greet": 6, "goodbye": 8, "thanks": 10, "how_are_you": 8, "who_are_you": 10, "ack": 4, "affirm": 6, "deny": 6,
    "dont_know": 8, "talk_to_person": 30, "cancel": 12, "repair": 20, "more_details": 8, "browse_topics": 8,
    "followup": 14,
}


# Other Swedish cities (folded stems, any inflection: "Sztokholmie", "Gēteborgā"). A question that
# names one and not Luleå is about that city's services: out of scope (Boden, Piteå and Kiruna
# are Luleå's neighbours and commuting questions about them are in scope).
OTHER_CITY = re.compile(r"\b(stockholm|sztokholm|stokholm|goteborg|gothenburg|geteborg|malmo|malme|uppsal|upsal|umea|umeo"
                        r"|vasteras|orebro|linkoping|helsingborg|jonkoping|norrkoping|gavle|sundsvall|ostersund|karlstad|vaxjo"
                        r"|halmstad|sodertalje)\w*")
LULEA = re.compile(r"\blule\w*")


# A weather forecast asks about the weather at a near, named time ("will it snow tomorrow?",
# "koks oras bus rytoj?"); the climate topic answers about seasons in general ("how cold are the
# winters?"). Both patterns are matched on folded text (lower case, no diacritics).
WEATHER = re.compile(r"\b(weather|forecast|rain\w*|snow(s|ing)?|temperature|vader\w*|prognos\w*|regn\w*|sno(a|ar)?|"
                     r"pogod\w*|prognoz\w*|deszcz\w*|pada|snieg\w*|oras|oro|orai|oru|lis|lyja|lietu\w*|snig\w*|"
                     r"laikapstak\w*|laiks bus)\b")
NEAR_TIME = re.compile(r"\b(tomorrow|tonight|today|this (weekend|week|evening|afternoon)|next week|on (mon|tues|wednes|thurs|fri|satur|sun)day|"
                       r"right now|i ?morgon|i ?kvall|i ?dag|i helgen|nasta vecka|pa (mandag|tisdag|onsdag|torsdag|fredag|lordag|sondag)|just nu|"
                       r"jutro|dzis|dzisiaj|pojutrze|w (ten |najblizszy )?weekend|w przyszlym tygodniu|w (sobote|niedziele|piatek)|"
                       r"rytoj|poryt|siandien|sianakt|si savaitgali|savaitgali|kita savaite|"
                       r"rit|ritdien|parit|sodien|sovakar|nedelas nogale|nakamnedel\w*)\b")


def forecast(text: str) -> bool:
    folded = fold(text)
    return bool(WEATHER.search(folded)) and bool(NEAR_TIME.search(folded))


def other_city(text: str) -> bool:
    folded = fold(text)
    return bool(OTHER_CITY.search(folded)) and not LULEA.search(folded)


_VOWELS = set("aeiouyåäöąęėįųūāēīōéó")
# Three keys in a row on a keyboard, as mashing produces them (not those inside common words,
# such as "wer" in "answer" or "rty" in "party").
_KEYBOARD_RUNS = ("qwe asd sdf fgh ghj hjk jkl zxc xcv cvb vbn bnm lkj kjh jhg hgf gfd fds dsa ewq mnb nbv bvc vcx cxz").split()


def looks_random(text: str) -> bool:
    """Keyboard mashing ("asdkjh qwe", "jjjj kkkl"): at least half of the words have no vowel,
    one letter three times in a row, or three neighbouring keys."""
    words = [w for w in re.findall(r"[^\W\d_]+", text.casefold()) if len(w) >= 3]
    if not words:
        return False

    def random_word(w: str) -> bool:
        return (not (set(w) & _VOWELS) or re.search(r"(.)\1\1", w) is not None
                or any(run in w for run in _KEYBOARD_RUNS))

    return sum(map(random_word, words)) * 2 >= len(words)


@dataclass(frozen=True)
class Reading:
    text: str
    lang: str
    words: int
    vector: np.ndarray
    danger: str | None  # safety.EMERGENCY, safety.CRISIS or None
    act: str | None
    act_p: float
    ranking: Ranking
    decision: Decision


def top_act(ranking: Ranking, cfg: DecisionConfig, words: int) -> tuple[str | None, float]:
    acts = act_probabilities(ranking, cfg)
    if not acts:
        return None, 0.0
    act, p = max(acts.items(), key=lambda kv: kv[1])
    p_oos, best_topic = oos_probability(ranking, cfg)
    if p >= ACT_MIN and p > best_topic and p > p_oos and words <= ACT_MAX_WORDS.get(act, 8):
        return act, p
    if ranking.acts_dense:
        near, cosine = max(ranking.acts_dense.items(), key=lambda kv: kv[1])
        if (cosine >= ACT_NEAREST_MIN and cosine > max(ranking.dense.values()) and cosine > ranking.oos_dense
                and words <= ACT_MAX_WORDS.get(near, 8)):
            return near, acts.get(near, 0.0)
    return None, p


def understand(retriever: Retriever, cfg: DecisionConfig, text: str, lang: str) -> Reading:
    vector = retriever.embed(text)
    words = len(text.split())
    ranking = retriever.rank(text, lang, vector)
    danger = safety.assess(text, ranking.danger)
    act, act_p = top_act(ranking, cfg, words)
    decision = decide(ranking, cfg, words)
    if act == "talk_to_person" and act_p < TALK_OVER_TOPIC and decision.kind == "answer" and decision.topic != "service.contact":
        act = None  # "how do I meet people there?" is a question about community life, not a request for a person
    if decision.kind != "out_of_scope" and act is None and other_city(text) and decision.candidates[:1] != ["life.transport"]:
        decision = Decision("out_of_scope", None, decision.candidates, decision.scores, "other_cities")
    if decision.kind != "out_of_scope" and act is None and forecast(text) and "weather_forecast" in retriever.kb.out_of_scope.categories:
        decision = Decision("out_of_scope", None, decision.candidates, decision.scores, "weather_forecast")
    return Reading(text, lang, words, vector, danger, act, act_p, ranking, decision)
