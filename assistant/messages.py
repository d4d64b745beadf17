"""Fixed texts the assistant says in its own voice, in each language."""
from __future__ import annotations

REFUSAL = {
    "ru": "К сожалению, в моих источниках нет надёжного ответа на этот вопрос. "
    "Обратитесь в Единый контакт-центр 1414 (звонок бесплатный) или на egov.kz.",
    "kk": "Өкінішке қарай, менің дереккөздерімде бұл сұраққа сенімді жауап жоқ. "
    "1414 Бірыңғай байланыс орталығына (қоңырау тегін) немесе egov.kz порталына жүгініңіз.",
    "en": "Sorry, my sources do not give a reliable answer to this question. "
    "Please call the 1414 contact centre (free of charge) or visit egov.kz.",
}
CANDIDATES = {
    "ru": "Возможно, вам подойдёт одна из этих услуг:",
    "kk": "Мүмкін, сізге мына қызметтердің бірі қажет шығар:",
    "en": "One of these services might be what you need:",
}
SERVICE_LINK = {"ru": "Услуга на egov.kz", "kk": "egov.kz порталындағы қызмет", "en": "Service on egov.kz"}
