"""What the web UI tells a citizen when something is wrong: the knowledge base down, the assistant
busy, an unexpected error, or the server itself unreachable (a banner the page shows on its own)."""
from __future__ import annotations

import functools
import logging
import threading

import gradio as gr

from assistant.language import detect_language
from assistant.store import StoreUnavailable

log = logging.getLogger(__name__)
MESSAGES = {
    "store_down": {
        "kk": "⚠️ Білім базасы уақытша қолжетімсіз. Бір минуттан кейін қайталап көріңіз немесе 1414 байланыс "
              "орталығына қоңырау шалыңыз.",
        "ru": "⚠️ База знаний временно недоступна. Попробуйте через минуту или позвоните в контакт-центр 1414.",
        "en": "⚠️ The knowledge base is temporarily unavailable. Please try again in a minute or call the 1414 "
              "contact centre.",
    },
    "busy": {
        "kk": "⏳ Қазір сұрақтар өте көп. Бір минуттан кейін қайталап көріңіз немесе 1414 нөміріне қоңырау шалыңыз.",
        "ru": "⏳ Сейчас слишком много вопросов. Попробуйте через минуту или позвоните в 1414.",
        "en": "⏳ The assistant is busy right now. Please try again in a minute or call 1414.",
    },
    "error": {
        "kk": "⚠️ Жауап дайындау кезінде қате шықты. Қайталап көріңіз немесе 1414 нөміріне қоңырау шалыңыз.",
        "ru": "⚠️ При подготовке ответа произошла ошибка. Попробуйте ещё раз или позвоните в 1414.",
        "en": "⚠️ Something went wrong while preparing the answer. Please try again or call 1414.",
    },
}
BUSY_WAIT_S = 20.0


def message_for(kind: str, question: str, lang_choice: str | None) -> str:
    lang = lang_choice if lang_choice in ("kk", "ru", "en") else detect_language(question or "")
    return MESSAGES[kind][lang]


def with_citizen_messages(respond, concurrency: int, extra_outputs: int = 0):
    """Wraps the chat's generator: at most `concurrency` answers at once (a question that waits longer
    than BUSY_WAIT_S is told the assistant is busy), and a failure becomes a message in the chat, in
    the question's language, with the question left in the box to send again."""
    slots = threading.BoundedSemaphore(concurrency)

    @functools.wraps(respond)
    def guarded(message, history, lang_choice, *rest):
        def reply(kind: str):
            text = message_for(kind, message, lang_choice)
            turns = list(history or []) + [{"role": "user", "content": message}, {"role": "assistant", "content": text}]
            return (turns, message, gr.update(), gr.update(visible=False), gr.update(), *[gr.update()] * extra_outputs)

        if not (message or "").strip():
            yield from respond(message, history, lang_choice, *rest)
            return
        if not slots.acquire(timeout=BUSY_WAIT_S):
            log.warning("web UI busy: a question waited %.0f s for a free slot", BUSY_WAIT_S)
            yield reply("busy")
            return
        try:
            yield from respond(message, history, lang_choice, *rest)
        except StoreUnavailable as exc:
            log.error("store unavailable (web UI): %s", exc)
            yield reply("store_down")
        except Exception:
            log.exception("web UI answer failed")
            yield reply("error")
        finally:
            slots.release()

    return guarded


# The page asks /api/health every 15 s and, while the server or the knowledge base is unreachable,
# shows a banner; the chat's own error toasts say little to a citizen.
BANNER_JS = """
const banner = element.querySelector('.service-banner');
const say = (text) => { banner.textContent = text; banner.style.display = text ? 'block' : 'none'; };
const DOWN = 'Қызмет уақытша қолжетімсіз · Сервис временно недоступен · The service is temporarily unavailable — '
  + 'қайта қосылудамыз · переподключаемся · reconnecting… (1414)';
const STORE = 'Білім базасы уақытша қолжетімсіз · База знаний временно недоступна · '
  + 'The knowledge base is temporarily unavailable (1414)';
const BUSY = 'Сұрақтар өте көп · Слишком много запросов · Too many requests — '
  + 'бір минуттан кейін · через минуту · try again in a minute';
async function check() {
  try {
    const r = await fetch('api/health', {cache: 'no-store'});
    say(r.ok ? '' : (r.status === 429 ? BUSY : STORE));
  } catch (e) { say(DOWN); }
}
check();
setInterval(check, 15000);
"""


def add_service_banner() -> gr.HTML:
    return gr.HTML("", html_template='<div class="service-banner" role="alert" style="display:none"></div>',
                   css_template=".service-banner{padding:8px 12px;border-radius:6px;background:#fdecea;"
                                "color:#611a15;font-weight:600}",
                   js_on_load=BANNER_JS, elem_id="service-banner")
