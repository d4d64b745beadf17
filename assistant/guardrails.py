"""Labels a question before retrieval (after GOV.UK Chat's router) and spots injected instructions.

Labels: greeting, thanks, out_of_scope, personal_account, harmful, injection, genuine. Only clear
cases get a label other than `genuine`; retrieval-based refusal handles everything unclear. Patterns
run on lower-cased text with Kazakh letters folded (`ә`→`а`, `қ`→`к`, ...), so both spellings match.
"""
from __future__ import annotations

import re
from enum import Enum

from assistant.lexical import fold


class Label(str, Enum):
    GREETING = "greeting"
    THANKS = "thanks"
    OUT_OF_SCOPE = "out_of_scope"
    PERSONAL_ACCOUNT = "personal_account"
    HARMFUL = "harmful"
    INJECTION = "injection"
    GENUINE = "genuine"


def normalise(text: str) -> str:
    text = fold(text.lower()).replace("’", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text).strip()


def _any(*patterns: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.S)


# --- instructions aimed at the assistant (in questions and in documents) ------------------
JAILBREAK = _any(
    # en: imperatives aimed at the assistant ("what if I ignore the rules" is no attack)
    r"(?<!\bi )(?<!\bwe )(?<!\bthey )(?<!\bif you )\b(ignore|disregard|forget|override|bypass)\s+(all|any|the|your|"
    r"my|previous|prior|above|earlier|these|those|every|everything)\b.{0,30}\b(instructions?|rules|prompts?|"
    r"guidelines|restrictions|directives|polic(y|ies)|guardrails|filters)\b",
    r"\b(system|developer|hidden|initial|original|secret)\s+(prompt\w*|instructions?|config\w*)",
    r"\b(reveal|print|show|repeat|output|dump|leak|display|paste|include)\b.{0,30}\b(prompt|system message|"
    r"configuration|hidden config\w*|context window)\b",
    r"\b(reveal|print|show|repeat|output|dump|leak|display|tell me|list|paste|what are)\b.{0,30}\byour\b.{0,20}"
    r"\b(instructions|rules|guidelines|directives)\b",
    r"\byou are now\b", r"\bfrom now on,? you\b", r"\bact as (an? |the )?(unrestricted|different|new|evil|admin|"
    r"administrator|developer|staff|operator|dan|jailbroken|ai without)", r"\bpretend (to be|that you|you are)\b",
    r"\bjailbr(ea|o)k", r"\bdo anything now\b", r"\bdan mode\b",
    r"\b(developer|debug|god|admin|staff|maintenance) mode\b",
    r"\b(answer|respond|reply|talk|act|behave|operate|work)\b.{0,15}\bwithout (any )?(rules|restrictions|filters|"
    r"limits|censorship)\b",
    r"\bprompt injection\b", r"\bnew instructions?\s*:",
    r"</?\s*(system|assistant|instructions?|im_start|im_end)\s*>", r"\[/?\s*(system|inst)\s*\]",
    r"(^|\n|[.!?]\s)\s*(system|assistant|система|жуйе)\s*:", r"<\|(im_start|im_end|system|endoftext)\|>",
    r"<<\s*(system|система|жуйе)\s*>>",
    r"\b(erejeler|nusqau|nuskau)\w*\b.{0,30}\bumyt(\b|qa|ta|yp)", r"\bumyt\b.{0,30}\b(erejeler|nusqau)",
    # ru (ё folded to е): imperatives only ("штраф за игнорирование правил" is a real question)
    r"\b(игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|отмени|отмените|отбрось|отбросьте|"
    r"обойди|обойдите|нарушь|нарушьте|не обращай(те)? внимания на|не учитывай(те)?|не соблюдай(те)?|не следуй(те)?)"
    r"\b.{0,40}\b(инструкци|правил|указани|ограничени|промпт|запрет|установк|настройк)\w*",
    r"\b(системн|скрыт|исходн|первоначальн)\w*\s+(промпт|подсказк|инструкци)\w*",
    r"\bпромпт\w*", r"\bджейлбрейк\w*",
    r"\bты теперь\b", r"\bтеперь ты\b", r"\bпредставь\w*,? что (ты|вы)\b", r"\bпритворись\w*",
    r"\bведи себя как\b", r"\bрежим\w* (разработчика|администратора|бога|отладки|без ограничений|сотрудника)",
    r"\b(поменяй|смени|измени)\w* (свою |твою )?роль\b",
    r"\b(отключи|выключи|сними|убери)(те)?\b.{0,15}\b(фильтр|ограничени|правил|защит|цензур)\w*",
    r"\b(ответь|отвечай|работай|говори|бот|ассистент|режим\w*)\b.{0,15}\bбез (каких-либо |всяких )?(ограничений|"
    r"цензуры|фильтров|правил)\b",
    r"\b(покажи|выведи|раскрой|напечатай|повтори|перечисли|распечатай|процитируй)(те)?\b.{0,25}\b(свои|твои)\b"
    r".{0,15}\b(инструкци|правил|настройк|промпт|установк)\w*",
    # kk (folded: ә→а, і→и, қ→к, ң→н, ұ→у, ү→у, ө→о, ғ→г): imperatives only
    r"\b(нускау|нускаулык|ереже|шектеу|промпт)\w*\b.{0,30}\b(елеме|елемениз|елемендер|умыт|умытыныз|умытындар|"
    r"орындама|орындаманыз|назар аударма)\b",
    r"\b(елеме|елемениз|умыт|умытыныз)\b.{0,30}\b(нускау|ереже|шектеу|промпт)\w*",
    r"\bжуйелик (промпт|нускау|хабарлама)\w*", r"\bсен (енди|казир)\b.{0,30}\b(ретинде|боласын|емессин)\b",
)

# Asking for internal material or for a role one does not hold; not an attack when staff ask.
_ACCESS = r"(access|internal|procedures?|instructions?|manuals?|sops?|handbook|mode|knowledge base|staff documents)"
STAFF_MATERIAL = _any(
    r"\b(internal(?!\s+affairs)|staff[- ]only|confidential|classified|restricted|official[- ]use[- ]only|secret|"
    r"non[- ]public)\s+(\w+\s+)?(instructions?|procedures?|documents?|manuals?|regulations?|guidelines?|rules|"
    r"materials?|sops?|files?|knowledge base|notes|handbooks?|scripts?|kpis?|workflows?)\b",
    r"\b(staff|operator|employee|civil servant)s?'? (only |internal )?(procedures?|instructions?|manuals?|sops?)\b",
    r"\b(i am|i'm|im|as) (a |an |the )?(staff|employee|civil servant|operator|admin|administrator|developer|"
    r"official|government employee|psc worker|con worker)\b.{0,60}\b" + _ACCESS + r"\b",
    r"\b(give|grant|switch|elevate|enable|unlock)\b.{0,20}\b(staff|admin|operator|employee|elevated|internal)\b"
    r".{0,15}\b(access|mode|role|rights|privileges|level)\b",
    r"\baudience\s*[=:]\s*['\"]?staff", r"\brole\s*[=:]\s*['\"]?(staff|admin)",
    r"\b(внутренн(?!\w*\s+дел)|служебн|секретн|закрыт|конфиденциальн|непубличн)\w*\s+(инструкци|процедур|регламент|"
    r"документ|материал|правил|приказ|методичк|сведени|баз\w* знаний|sop|порядок|скрипт|кпи)\w*",
    r"\bдля служебного пользования\b", r"\bдсп\b",
    r"\bя\b.{0,15}\b(сотрудник|оператор|работник|администратор|разработчик|госслужащ|служащ|админ|модератор|"
    r"начальник смены)\w*\b.{0,60}\b(доступ|инструкци|процедур|регламент|материал|sop|режим|баз\w* знаний|"
    r"покажи|покажите|выдай|выдайте|открой|откройте)",
    r"\b(дай|дайте|выдай|выдайте|открой|откройте|предоставь|предоставьте|включи|включите|переключи|переключите)\b"
    r".{0,20}\b(доступ|режим|роль|права)\b.{0,20}\b(сотрудник|оператор|администратор|персонал|служебн|внутренн|"
    r"staff|админ)\w*",
    r"\b(ишки|кызметтик|купия|жабык)\w*\s+(нускау|ереже|процедура|кужат|материал|регламент|скрипт|тартиб)\w*",
    r"\bмен\b.{0,20}\b(кызметкер|оператор|акимшили|администратор|хкко|цон|азирлеуши)\w*.{0,60}\b(нускау|ереже|"
    r"процедура|регламент|материал|колжетимдилик|кол жетимдилик|ишки|кызметтик|sop|режим)\w*",
)

HARMFUL = _any(
    # profanity and strong insults, in any context
    r"\b(бля\w*|хуй\w*|хуе\w*|хуя\w*|пизд\w*|[её]ба\w*|[её]бу\w*|заеб\w*|уеб\w*|сука|суки|сучк\w*|гандон\w*|"
    r"шлюх\w*|мудак\w*|мудил\w*|дебил\w*|идиот\w*|кретин\w*|ублюд\w*|придур\w*|долбо\w*|чмо)\b",
    r"\b(fuck\w*|shit\w*|bitch\w*|asshole\w*|cunt\w*|motherf\w*|bastard\w*|moron\w*|retard\w*|idiot\w*)\b",
    r"\b(акымак|онбаган|малгун|шешенди|сасык ит|иттин баласы)\w*",
    # weaker insults when aimed at the assistant
    r"\b(ты|вы|бот)\b.{0,10}\b(тупой|тупая|тупые|тупица|дур[ао]к|дура|бесполезн\w*|никчемн\w*|урод\w*|тварь|"
    r"козел)\b",
    r"\b(you are|you're|youre|u r|this bot is|you)\s+(so |such an? |really |very |a )?(stupid|dumb|useless|worthless|"
    r"idiot|moron)\b",
    r"\bсен\b.{0,15}\b(акымак|есек|туккя турмайсын)\w*",
    # forging documents, bribes, other people's data, attacks
    r"\b(подделать|подделаю|подделыва\w*|сфальсифицир\w*|фальсифицир\w*)\b",
    r"\b(сделать|изготовить|купить|достать|где взять|нарисовать|заказать)\b.{0,25}\b(фальшив|поддельн|липов)\w*",
    r"\bкупить\b.{0,15}\b(водительские права|права|справк\w*|диплом\w*|паспорт\w*|удостоверени\w*|медкнижк\w*)\b"
    r"(?!.{0,20}\b(квартир|машин|авто|дом|участ))",
    r"\b(дать|дам|давать|дал|занести|сунуть|предложить|передать|сколько)\b.{0,25}\bвзятк\w*",
    r"\bвзятк\w*\b.{0,25}\b(кому|сколько|как дать|как передать)\b",
    r"\b(how (to|do i|can i|much to)|give|offer|pay)\b.{0,25}\bbribe", r"\bbribe\b.{0,20}\b(official|officer|clerk|to get)",
    r"\bhow (to|do i|can i|could i)\b.{0,10}\b(forge|falsify|counterfeit|fake)\b",
    r"\b(forge|falsify|counterfeit)\b\s(an? |the |my |some )?(document|certificate|passport|id|signature|stamp|diploma|"
    r"licen[cs]e)", r"\b(make|buy|get|create)\b.{0,20}\b(fake|forged|counterfeit)\b",
    r"\bпара\s+(беру|берсем|беремин|беру керек|бериге)\w*", r"\bжалган\b.{0,20}\b(аныктама|кужат|паспорт|куалик|диплом)\w*"
    r".{0,20}\b(жасау|жаса|сатып|алу|алуга|жасауга)\w*",
    r"\b(узнать|найти|получить|пробить|посмотреть|вычислить)\b.{0,30}\b(чуж\w*|другого человека|другого гражданина|"
    r"соседа|бывше\w*|любого человека|постороннего|незнаком\w*)\b.{0,30}\b(иин|\[iin\]|адрес\w*|телефон\w*|данн\w*|"
    r"паспорт\w*|доход\w*|счет\w*)",
    r"\b(чуж\w*|другого человека|соседа)\b.{0,10}\b(иин|адрес|телефон|персональные данные)\b.{0,30}\b(узнать|найти|"
    r"получить|пробить)\b",
    r"\b(find|get|look up|lookup|obtain|see)\b.{0,30}\b(someone else'?s|another person'?s|other people'?s|"
    r"somebody'?s|my neighbou?r'?s|my ex'?s|a stranger'?s|anyone'?s)\b.{0,30}\b(iin|address|phone|data|passport|"
    r"income|records?)\b",
    r"\b(взломать|хакнуть|ддосить|задудосить)\b", r"\bhow (to|do i|can i) hack\b", r"\bhack into\b",
    r"\b(ddos|sql[- ]?injection|sql[- ]?инъекц\w*)\b",
    r"\b(как|how to|how do i)\b.{0,20}\b(сделать|изготовить|собрать|make|build)\b.{0,20}\b(бомб\w*|взрывчатк\w*|"
    r"взрывн\w* устройств\w*|bomb|explosive\w*)",
)

PERSONAL_ACCOUNT = _any(
    # ru
    r"\b(статус|состояни\w*|ход|готовност\w*|судьб\w*|этап)\b.{0,25}\bмо(ей|его|их|я|е|й|ю)\b.{0,25}"
    r"\b(заявк|заявлени|обращени|запрос|документ|справк|паспорт|удостоверени|услуг|дела|жалоб)\w*",
    r"\bмо(я|ю|ей|е)\s+(заявк|заявлени|обращени|жалоб)\w*\b.{0,30}\b(статус|готов|рассмотр|одобр|где|когда|"
    r"сколько ждать|не пришл|не готов|на каком этапе)",
    r"\b(где|когда будет|когда придет|когда будут|готов[аоы]? ли|пришл[аои]? ли)\b.{0,15}\bмо(я|й|и|е|ю|ей|его)\b"
    r".{0,10}\b(заявк|справк|паспорт|удостоверени|документ|пособи|выплат|права|пенси|результат)\w*",
    r"\bмо(и|й|ю|ей|его|ем|я|е)\s+(штраф|задолженност|долг|баланс|очеред|мест\w* в очереди|статус|"
    r"налоговая задолж|налоговый долг)\w*",
    r"\b(есть ли|имеются ли|сколько|какие|какой)\b.{0,10}\bу меня\b.{0,20}\b(штраф|задолженност|долг|недоимк|"
    r"накоплени|пенсионн|взнос|баланс)\w*",
    r"\bу меня\b.{0,10}\b(есть ли|имеются ли)\b.{0,15}\b(штраф|задолженност|долг)\w*",
    r"\b(проверить|посмотреть|узнать|проверь|проверьте|покажи|покажите|скажи|скажите|подскажи|подскажите)\b.{0,10}"
    r"\b(мо(и|й|ю|е|ей|его)|свои|свой|свою|свое)\s+(штраф|задолженност|долг|баланс|накоплени|пенсионн\w* (накоплени|"
    r"счет|взнос)|взнос|статус|заявк|заявлени|очеред|мест\w* в очереди|отчислени)\w*",
    r"\bпочему\b.{0,20}\b(мне|мою заявку|мое заявление|мой запрос)\b.{0,15}\b(отказ|отклон)\w*",
    r"\bсколько (у меня|мне)\b.{0,15}\b(на пенсионном|пенсионных|на счет|накоплен)\w*",
    # kk
    r"\bменин\b.{0,15}\b(отиниш|айыппул|карыз|берешег|берешек|жинаг|жинак|зейнетакы жинаг|кезег|мартебе|"
    r"статус|салык карыз|толем)\w*",
    r"\b(отинишим|отинишимнин|отинишимди|айыппулдарым|айыппулым|айыппулдарымды|карызым|карыздарым|берешегим|"
    r"жинагым|жинактарым|кезегим|кезегимди|зейнетакы жинагым)\w*",
    r"\bменде\b.{0,20}\b(айыппул|карыз|берешек)\w*",
    # en
    r"\b(status|progress|state|stage)\b.{0,15}\bmy\b.{0,20}\b(application|request|case|appeal|complaint|passport|"
    r"certificate|document|claim)s?\b",
    r"\bmy\s+(application|request|case|claim|complaint)s?\b.{0,20}\b(status|progress|ready|pending)\b",
    r"\bwhere is my\b.{0,20}\b(application|request|passport|certificate|document|id card|licen[cs]e|payment|benefit|"
    r"pension)\b",
    r"\bmy\s+(fines?|debts?|tax (debts?|arrears)|arrears|(pension |account )?balance|queue (position|number)|"
    r"place in (the )?queue|payments? status)\b",
    r"\b(do|did) i (have|owe)\b.{0,15}\b(any )?(fines?|debts?|arrears|tax(es)? debts?|penalt(y|ies))\b",
    r"\bhow much\b.{0,20}\b(do i have|is in my|have i got|have i saved)\b",
    r"\bwhy (was|did|were)\b.{0,10}\bmy\b.{0,20}\b(application|request|claim)s?\b.{0,15}\b(rejected|refused|denied|"
    r"declined)\b",
    r"\bcheck my\b.{0,10}\b(fines?|debts?|status|application|balance|savings|pension|queue)\b",
)

OUT_OF_SCOPE = _any(
    r"\bпогод\w*", r"\bауа райы\b", r"\bweather\b", r"\bforecast\b",
    r"\bрецепт\w*(?!.{0,30}(лекарств|врач|препарат|аптек|электронн|медицин))", r"\bкак приготовить\b",
    r"\bпиширу\w*", r"\brecipe\w*", r"\bhow (to|do i|do you) cook\b",
    r"\b(футбол|хоккей|баскетбол|теннис)\w*", r"\b(матч|чемпионат)\w*", r"\b(football|soccer|hockey|basketball)\b",
    r"\bwho (won|will win)\b", r"\bкто (выиграл|выиграет)\b", r"\bчемпион\w*", r"\bзамариновать\b",
    r"\bкакие (таблетки|антибиотики|лекарства) (выпить|принять|пить)\b", r"\bчем (лечить|мазать)\b",
    r"\bwhat (antibiotics|medicine|pills|tablets) should i take\b", r"\bкандай (дари|антибиотик)\w* (ишейин|ишу керек)",
    r"\b(ethereum|meme coin|dogecoin)\b", r"\bкуда (вложить|инвестировать)\b",
    r"\b(анекдот|шутк|пошути|стишок|песн|сказк|гороскоп|фильм|сериал)\w*", r"\bстих(и|ов|ами|ах|отворени\w*)?\b", r"\b(азил|олен|ертеги)\w*", r"\b(joke|poem|song|lyrics|horoscope|movie|film|fairy tale)s?\b",
    r"\b(напиши|написать)\b.{0,20}\b(код|программ|скрипт|сочинени|эссе)\w*", r"\b(python|javascript|java|c\+\+|sql)\b"
    r".{0,20}\b(code|код|скрипт|script|function|функци)\w*", r"\bwrite (a |some |me a )?(code|program|script|essay|"
    r"poem|song|story)\b", r"\b(реши|решить)\b.{0,15}\b(задач|уравнени|пример)\w*", r"\bsolve\b.{0,15}\b(equation|"
    r"problem|homework)\b", r"\bhomework\b",
    r"\bкурс\w* (доллар|валют|евро|рубл|юан|биткоин)\w*", r"\b(биткоин|криптовалют)\w*", r"\bexchange rate\b",
    r"\b(bitcoin|crypto|cryptocurrenc(y|ies)|stock price)\b", r"\bдоллар багамы\b",
)
# Words of our domain: a message that has one of them is never out of scope by the list above.
DOMAIN_WORDS = re.compile(
    r"(справк|услуг|egov|егов|цон|госуслуг|документ|заявлен|регистрац|пособи|паспорт|удостоверени|налог|пенси|"
    r"лицензи|разрешени|аныктама|кызмет|кужат|отиниш|тиркеу|certificate|service|licen[cs]e|permit|regist|benefit|"
    r"passport|application|visa|виз|штраф|fine)"
)

_GREETINGS = [
    "ассаламуалейкум", "ассалаумагалейкум", "салам алейкум", "салам", "салем", "привет", "приветствую", "здравствуй",
    "здравствуйте", "здрасте", "здрасьте", "добрый день", "добрый вечер", "доброе утро", "доброй ночи",
    "доброго дня", "салют", "хай", "хелло", "алло", "как дела", "как ты", "как вы", "как поживаете",
    "салеметсиз бе", "салеметсиз", "салеметсиздер ме", "саламатсыз ба", "саламатсызба", "кайырлы кун",
    "кайырлы тан", "кайырлы кеш", "армысыз", "армысыздар", "калайсыз", "калайсын", "кал калай", "калын калай",
    "hi", "hello", "hey", "hiya", "good morning", "good afternoon", "good evening", "greetings", "howdy",
    "how are you", "how are you doing", "whats up", "what's up", "yo", "salem", "salam",
]
_THANKS = [
    "спасибо", "спс", "благодарю", "благодарим", "мерси", "спасибки", "рахмет", "ракмет", "алгыс", "алгысымды",
    "thanks", "thank you", "thank u", "thx", "ty", "cheers", "much appreciated", "appreciate it", "rahmet",
]
_FILLERS = {
    "бот", "ассистент", "помощник", "друг", "дорогой", "уважаемый", "ребята", "всем", "снова", "еще", "раз", "вам",
    "тебе", "большое", "огромное", "за", "помощь", "ответ", "ответы", "все", "понятно", "ясно", "хорошо", "ок",
    "отлично", "супер", "очень", "и", "вам", "вас", "сизге", "саган", "коп", "улкен", "тусиникти", "жаксы", "достым",
    "коке", "апа", "мырза", "бауырым", "ok", "okay", "great", "got", "it", "very", "much", "so", "a", "lot", "for",
    "the", "help", "your", "answer", "that", "helps", "helped", "you", "there", "bot", "assistant", "all",
    "everyone", "friend", "again", "dear", "and", "good", "nice", "perfect", "понял", "поняла", "ага", "да",
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _only(text: str, phrases: list[str], also: list[str] = ()) -> tuple[bool, bool]:
    """(the message holds one of `phrases`, and nothing but them, `also` and filler words)."""
    s = " " + " ".join(_WORD.findall(text.replace("'", ""))) + " "
    hit = False
    for phrase in sorted([*phrases, *also], key=len, reverse=True):
        phrase = phrase.replace("'", "")
        if f" {phrase} " in s:
            hit = hit or phrase in [p.replace("'", "") for p in phrases]
            s = s.replace(f" {phrase} ", " ")
    rest = [w for w in s.split() if w not in _FILLERS]
    return hit, hit and not rest


def looks_injected(text: str) -> bool:
    """Text that tries to instruct the assistant (a jailbreak or injected instructions)."""
    return bool(JAILBREAK.search(normalise(text)))


def label_question(question: str, audience: str = "public") -> Label:
    """The label of a (redacted) question; staff may ask for internal material, citizens may not."""
    q = normalise(question)
    if not q:
        return Label.GENUINE
    if JAILBREAK.search(q) or (audience != "staff" and STAFF_MATERIAL.search(q)):
        return Label.INJECTION
    if HARMFUL.search(q):
        return Label.HARMFUL
    if PERSONAL_ACCOUNT.search(q):
        return Label.PERSONAL_ACCOUNT
    if OUT_OF_SCOPE.search(q) and not DOMAIN_WORDS.search(q):
        return Label.OUT_OF_SCOPE
    if len(q) <= 120:
        thanked, only_thanks = _only(q, _THANKS, _GREETINGS)
        if only_thanks:
            return Label.THANKS
        if _only(q, _GREETINGS)[1]:
            return Label.GREETING
    return Label.GENUINE


# --- what the pipeline steps do with a label or with injected text --------------------------

# A personal-account reply lists only services routing is sure of (a wrong one would mislead).
PERSONAL_ACCOUNT_MIN_CONFIDENCE = 0.5
# Greetings, thanks and the sign-in pointer are replies, not refusals; the rest decline.
_DECLINES = {Label.OUT_OF_SCOPE, Label.HARMFUL, Label.INJECTION}


def guardrail_answer(label: str, lang: str, services: list | None = None):
    """The fixed reply for a non-genuine label, in the question's language."""
    from assistant.answer import Answer, Status
    from assistant.messages import GUARDRAIL_REPLIES, PERSONAL_ACCOUNT_SERVICES

    label = Label(label)
    text = GUARDRAIL_REPLIES[label.value][lang]
    if services:
        text += "\n\n" + PERSONAL_ACCOUNT_SERVICES[lang] + "\n" + "\n".join(f"- {s.title}: {s.url}" for s in services)
    return Answer(text, lang, label in _DECLINES, Status.GUARDRAIL, list(services or []), [], label=label.value)


def screen_hits(hits: list) -> tuple[list, list[str]]:
    """Retrieved chunks without those that carry instructions to the assistant, and the dropped doc ids."""
    kept, dropped = [], []
    for hit in hits:
        (dropped if looks_injected(hit.record.text) else kept).append(hit)
    return kept, [h.meta.get("doc_id", "") for h in dropped]


_CITED = re.compile(r"\[(\d+)\]")


def screen_text(text: str, sources: list) -> tuple[str, list, int]:
    """An answer without its lines that instruct the assistant, and the sources still cited.

    Returns (text, sources, number of lines removed); a source whose every citation was in a removed
    line goes too, so no [n] dangles and nothing uncited is listed.
    """
    lines = text.split("\n")
    kept = [line for line in lines if not looks_injected(line)]
    removed = len(lines) - len(kept)
    if not removed:
        return text, sources, 0
    clean = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    cited = {int(n) for n in _CITED.findall(clean)}
    return clean, [s for s in sources if s.n in cited], removed
