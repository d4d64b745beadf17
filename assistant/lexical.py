"""The lexical leg: BM25 over tokens normalised for Kazakh, Russian and English.

No Kazakh stemmer installs offline (kazstem needs downloads; Snowball has none), so Kazakh
gets a small suffix stripper of our own. Kazakh letters are folded to their Russian look-alikes
after stemming, because citizens often type "аныктама" for "анықтама".
"""
from __future__ import annotations

import re
import threading

import bm25s
import numpy as np
import Stemmer

_WORD = re.compile(r"[0-9a-zа-яёәғқңөұүһі]+(?:[_\-][0-9a-zа-яёәғқңөұүһі]+)*", re.I)
KAZAKH_LETTERS = set("әғқңөұүһі")
_FOLD = str.maketrans({"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е"})

# Kazakh inflectional suffixes (folded), longest first; stripped repeatedly while the stem stays long enough.
_KK_SUFFIXES = sorted(
    {
        # plural
        "лар", "лер", "дар", "дер", "тар", "тер",
        # genitive, accusative, dative, locative, ablative, instrumental
        "нын", "нин", "дын", "дин", "тын", "тин",
        "ны", "ни", "ды", "ди", "ты", "ти",
        "га", "ге", "ка", "ке", "на", "не",
        "да", "де", "та", "те", "нда", "нде",
        "дан", "ден", "тан", "тен", "нан", "нен", "ндан", "нден",
        "мен", "бен", "пен",
        # possessive
        "ым", "им", "ын", "ин", "ы", "и", "сы", "си", "мыз", "миз", "ныз", "низ", "лары", "лери",
        # derivational that citizens vary freely
        "лык", "лик", "дык", "дик", "тык", "тик", "сыз", "сиз", "шы", "ши",
        # common verb endings in questions
        "ган", "ген", "кан", "кен", "мын", "мин", "сын", "син",
        # participle and verbal noun ("растайтын", "растау" → "раста")
        "йтын", "йтин", "у",
    },
    key=len,
    reverse=True,
)
_KK_MIN_STEM = 4
_KK_MAX_PASSES = 3
# Words so common in questions that they only add noise to BM25 (folded/stemmed forms are checked too).
STOPWORDS = set(
    "и в во на с со к ко о об от до по за из у а но или ли же бы не ни что как где когда какой какие "
    "мне меня мой моя мои я ты вы он она мы они это этот эта для при есть нужно надо можно хочу "
    "the a an of to in on for and or is are be do does did i my me you your we our how what where when "
    "can could should would get need want it this that with from by at as "
    "мен сен сіз ол біз олар бұл осы және немесе үшін қалай қайда қашан не неге маған менің керек бар жоқ ма ме ба бе па пе туралы жайлы".split()
)

# Latin-script Russian/Kazakh typed by citizens ("spravka", "anyqtama") → Cyrillic.
_TRANSLIT = [
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
    ("yu", "ю"), ("ya", "я"), ("yo", "е"), ("ye", "е"), ("ä", "ә"), ("ğ", "ғ"), ("q", "қ"), ("ñ", "ң"),
    ("ö", "ө"), ("ū", "ұ"), ("ü", "ү"), ("ı", "ы"), ("ş", "ш"), ("ç", "ч"), ("j", "ж"), ("w", "у"),
    ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"),
    ("y", "ы"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"),
    ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "к"), ("x", "кс"),
]

_RU = Stemmer.Stemmer("russian")
_EN = Stemmer.Stemmer("english")


def fold(word: str) -> str:
    return word.translate(_FOLD)


def kazakh_stem(word: str) -> str:
    """Strip Kazakh case, plural and possessive endings from a folded word."""
    word = _unvoice(fold(word))
    for _ in range(_KK_MAX_PASSES):
        for suffix in _KK_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _KK_MIN_STEM:
                word = _unvoice(word[: -len(suffix)])
                break
        else:
            break
    return word


def _unvoice(word: str) -> str:
    """Final consonants voice before vowel endings (куәлік → куәлігі): compare the unvoiced form, after every
    strip, so "мүгедектігі" and "мүгедектікті" reach the same stem."""
    return word[:-1] + {"г": "к", "б": "п"}.get(word[-1], word[-1]) if word else word


def transliterate(word: str) -> str:
    out = word
    for latin, cyr in _TRANSLIT:
        out = out.replace(latin, cyr)
    return out


def is_cyrillic(word: str) -> bool:
    return any("а" <= ch <= "я" or ch in "ёәғқңөұүһі" for ch in word)


def words(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in STOPWORDS]


def _cyrillic_stems(word: str, lang: str) -> list[str]:
    if lang == "kk" or KAZAKH_LETTERS & set(word):
        return [kazakh_stem(word)]
    if lang == "ru":
        return [fold(_RU.stemWord(word.replace("ё", "е")))]
    return [fold(_RU.stemWord(word.replace("ё", "е"))), kazakh_stem(word)]


def document_tokens(text: str, lang: str) -> list[str]:
    """Index-side tokens: the document's language is known."""
    out: list[str] = []
    for w in words(text):
        if is_cyrillic(w):
            out.extend(_cyrillic_stems(w, lang))
        elif w.isdigit() or "_" in w:
            out.append(w)
        else:
            out.append(_EN.stemWord(w))
    return out


def query_tokens(text: str) -> list[str]:
    """Query-side tokens: the language is a guess, so every plausible analysis is included."""
    out: list[str] = []
    for w in words(text):
        if is_cyrillic(w):
            out.extend(_cyrillic_stems(w, "any"))
        elif w.isdigit() or "_" in w:
            out.append(w)
        else:
            out.append(_EN.stemWord(w))
            if len(w) >= 4:  # short Latin words are English far more often than translit
                out.extend(_cyrillic_stems(transliterate(w), "any"))
    return list(dict.fromkeys(out))


class LexicalIndex:
    """BM25 over one set of records; rebuilt when the collection's revision changes."""

    def __init__(self, ids: list[str], token_lists: list[list[str]]):
        self.ids = ids
        self._lock = threading.Lock()
        self._bm25 = bm25s.BM25(k1=1.2, b=0.75)
        if ids:
            self._bm25.index(token_lists, show_progress=False)
        self._vocab = set(t for toks in token_lists for t in toks)

    def search(self, tokens: list[str], k: int) -> list[tuple[str, float]]:
        tokens = [t for t in tokens if t in self._vocab]
        if not self.ids or not tokens:
            return []
        with self._lock:
            scores = self._bm25.get_scores(tokens)
        top = np.argsort(-scores)[:k]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
