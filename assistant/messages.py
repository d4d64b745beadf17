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
CLARIFY = {
    "ru": "Уточните, пожалуйста, какая из этих услуг вам нужна:",
    "kk": "Нақтылаңызшы, сізге осы қызметтердің қайсысы керек:",
    "en": "Which of these services do you mean?",
}
ERROR_REPLY = {
    "ru": "Не удалось подготовить ответ из-за внутренней ошибки. Попробуйте ещё раз или позвоните в "
    "Единый контакт-центр 1414 (звонок бесплатный).",
    "kk": "Ішкі қатеге байланысты жауап дайындалмады. Қайталап көріңіз немесе 1414 Бірыңғай байланыс орталығына "
    "қоңырау шалыңыз (қоңырау тегін).",
    "en": "An internal error stopped the answer. Please try again or call the 1414 contact centre (free of charge).",
}
# The date of each quoted text, by the kind of source (answers end with one line per dated document).
AS_OF = {
    "service": {"ru": "Карточка сверена с источниками", "kk": "Карточка дереккөздермен салыстырылған күн",
                "en": "Card checked against its sources on"},
    "situation": {"ru": "Описание сверено с источниками", "kk": "Сипаттама дереккөздермен салыстырылған күн",
                  "en": "Checked against its sources on"},
    "regulation": {"ru": "Текст акта в редакции от", "kk": "Актінің редакциясы", "en": "Act quoted as of the edition of"},
    "portal": {"ru": "Страница портала по состоянию на", "kk": "Портал беті алынған күн",
               "en": "Portal page as crawled in"},
}
# Answers quoted from an act's service standard (assistant/acts.py): a note in the assistant's voice, the link.
ACT_NOTE = {"ru": "Это выдержка из официального акта; уточните на egov.kz или по номеру 1414",
            "kk": "Ресми актіден үзінді; egov.kz порталынан немесе 1414 арқылы нақтылаңыз",
            "en": "Quoted from the official act; check on egov.kz or call 1414"}
ACT_OTHER_LANGUAGE = {"ru": "Акт есть только на казахском языке; помощь на русском — по номеру 1414",
                      "kk": "Акт тек орыс тілінде бар; қазақ тілінде көмек — 1414 нөмірі арқылы",
                      "en": "The act exists in Kazakh and Russian only; help in English: call 1414"}
ACT_LINK = {"ru": "Текст акта", "kk": "Акт мәтіні", "en": "Text of the act"}
SERVICE_LINK = {"ru": "Услуга на egov.kz", "kk": "egov.kz порталындағы қызмет", "en": "Service on egov.kz"}

# Replies to questions labelled before retrieval (assistant/guardrails.py).
GUARDRAIL_REPLIES = {
    "greeting": {
        "ru": "Здравствуйте! Я помогаю с государственными услугами на egov.kz. Спросите, например: "
        "«Как получить справку о несудимости?»",
        "kk": "Сәлеметсіз бе! Мен egov.kz порталындағы мемлекеттік қызметтер бойынша көмектесемін. Мысалы, былай "
        "сұраңыз: «Соттылық туралы анықтаманы қалай алуға болады?»",
        "en": "Hello! I help with public services on egov.kz. Ask, for example: "
        "“How do I get a certificate of no criminal record?”",
    },
    "thanks": {
        "ru": "Пожалуйста! Если появятся ещё вопросы о госуслугах, спрашивайте.",
        "kk": "Оқасы жоқ! Мемлекеттік қызметтер туралы тағы сұрақтарыңыз болса, қойыңыз.",
        "en": "You're welcome! Ask me anything else about public services.",
    },
    "out_of_scope": {
        "ru": "Я отвечаю только на вопросы о государственных услугах на egov.kz, поэтому с этим помочь не могу. "
        "По госуслугам можно также позвонить в Единый контакт-центр 1414 (звонок бесплатный).",
        "kk": "Мен тек egov.kz порталындағы мемлекеттік қызметтер туралы сұрақтарға жауап беремін, сондықтан бұған "
        "көмектесе алмаймын. Мемлекеттік қызметтер бойынша 1414 Бірыңғай байланыс орталығына да қоңырау шалуға "
        "болады (қоңырау тегін).",
        "en": "I only answer questions about public services on egov.kz, so I can't help with this. For public "
        "services you can also call the 1414 contact centre (free of charge).",
    },
    "personal_account": {
        "ru": "Я не вижу ваших личных данных и не могу их проверить. Войдите на egov.kz с ЭЦП или одноразовым "
        "паролем из SMS: статус ваших заявок и готовые результаты — в разделе «История получения услуг» личного "
        "кабинета; штрафы, задолженности и пенсионные накопления проверяются там же через соответствующие услуги. "
        "Помощь — в контакт-центре 1414.",
        "kk": "Мен сіздің жеке деректеріңізді көрмеймін және тексере алмаймын. egov.kz порталына ЭЦҚ немесе SMS "
        "арқылы келген бір реттік құпиясөзбен кіріңіз: өтініштеріңіздің мәртебесі мен дайын нәтижелер жеке "
        "кабинеттің «Қызметтерді алу тарихы» бөлімінде; айыппұлдарды, берешекті және зейнетақы жинақтарын да сол "
        "жерде тиісті қызметтер арқылы тексеруге болады. Көмек — 1414 байланыс орталығында.",
        "en": "I can't see or check your personal data. Sign in to egov.kz with your digital signature (EDS) or a "
        "one-time SMS password: the status of your applications and ready results are in the «History of obtained "
        "services» section of your personal account; fines, debts and pension savings are checked there too, "
        "through the corresponding services. For help, call 1414.",
    },
    "harmful": {
        "ru": "С этим я помочь не могу. Я отвечаю только на вопросы о законном получении государственных услуг на "
        "egov.kz.",
        "kk": "Бұған көмектесе алмаймын. Мен тек egov.kz порталындағы мемлекеттік қызметтерді заңды түрде алу "
        "туралы сұрақтарға жауап беремін.",
        "en": "I can't help with that. I only answer questions about obtaining public services on egov.kz lawfully.",
    },
    "injection": {
        "ru": "Я работаю по неизменным правилам: не меняю их по просьбе в сообщении и не раскрываю служебные "
        "материалы. Могу ответить на вопрос о государственной услуге на egov.kz.",
        "kk": "Мен өзгермейтін ережелермен жұмыс істеймін: хабарламадағы өтініш бойынша оларды өзгертпеймін және "
        "қызметтік материалдарды ашпаймын. egov.kz порталындағы мемлекеттік қызмет туралы сұраққа жауап бере аламын.",
        "en": "I work by fixed rules: I don't change them on request and I don't disclose internal materials. "
        "I can answer a question about a public service on egov.kz.",
    },
}
PERSONAL_ACCOUNT_SERVICES = {
    "ru": "Услуги на egov.kz по этому вопросу:",
    "kk": "Осы сұрақ бойынша egov.kz қызметтері:",
    "en": "Services on egov.kz for this:",
}
# Said first whenever personal data was removed from the question (assistant/pii.py).
PRIVACY_NOTICE = {
    "ru": "Пожалуйста, не сообщайте в чате ИИН, номера телефонов и банковских карт, IBAN, e-mail и пароли: я убрал "
    "их из вопроса и не сохраняю. Отвечаю на остальную часть вопроса.",
    "kk": "Чатта ЖСН, телефон және банк картасының нөмірлерін, IBAN, e-mail және құпиясөздерді жазбаңыз: мен оларды "
    "сұрақтан алып тастадым және сақтамаймын. Сұрақтың қалған бөлігіне жауап беремін.",
    "en": "Please don't share your IIN, phone or bank card numbers, IBAN, e-mail or passwords in this chat: I removed "
    "them from your question and don't keep them. Here is my answer to the rest of your question.",
}
