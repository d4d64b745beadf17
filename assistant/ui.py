"""Gradio web UI: chat, sources under each answer, the e-service card with a link to egov.kz."""
from __future__ import annotations

import gradio as gr

from assistant.answer import Answer, Status
from assistant.auth import CITIZEN, session_caller
from assistant.feedback import feedback_store
from assistant.service import Assistant
from assistant.ui_feedback import add_feedback_controls
from assistant.ui_status import add_service_banner, with_citizen_messages

# Start-screen examples, each answered from the corpus (checked by tests/test_browser.py).
EXAMPLES_BY_LANG = {
    "kk": ["Соттылық туралы анықтаманы қалай алуға болады?", "Тұрғылықты жер бойынша тіркелу үшін не керек?",
           "Жүргізуші куәлігін қалай алуға болады?"],
    "ru": ["Как получить справку о несудимости?", "Что делать при рождении ребёнка?",
           "Как зарегистрироваться по месту жительства?"],
    "en": ["How do I get a certificate of no criminal record?", "How do I register my place of residence?",
           "What documents do I need for a driving licence?"],
}
EXAMPLES = [q for questions in EXAMPLES_BY_LANG.values() for q in questions]
EXAMPLE_LABELS = {"kk": "Мысалдар", "ru": "Примеры", "en": "Examples"}
LANG_CHOICES = [("Auto", "auto"), ("Қазақша", "kk"), ("Русский", "ru"), ("English", "en")]
UI_TEXT = {
    "sources": {"kk": "Дереккөздер", "ru": "Источники", "en": "Sources"},
    "service": {"kk": "Қызмет", "ru": "Услуга", "en": "Service"},
    "open": {"kk": "egov.kz-те ашу", "ru": "Открыть на egov.kz", "en": "Open on egov.kz"},
}
MAX_CHOICES = 3  # a clarification offers two or three services (assistant/routing.py)
STAFF_STATUS = {
    "citizen": "You are asking as a citizen: public information only. · Азамат ретінде сұрайсыз. · "
               "Вы спрашиваете как гражданин.",
    "signed_in": "Signed in as **{name}** (civil servant): answers may include internal procedures, and every "
                 "question is recorded in the audit log.",
    "invalid": "That token is not valid or has been revoked. You are asking as a citizen.",
    "expired": "Your staff token has been revoked: you are asking as a citizen again.",
}


def sources_markdown(answer: Answer) -> str:
    if not answer.sources:
        return ""
    lines = [f"**{UI_TEXT['sources'][answer.lang]}**"]
    for s in answer.sources:
        section = f" — {s.section}" if s.section else ""
        date = f" ({s.date})" if s.date else ""
        title = f"[{s.title}]({s.url})" if s.url.startswith("http") else s.title
        lines.append(f"{s.n}. {title}{section}{date}")
    return "\n".join(lines)


def service_markdown(answer: Answer) -> str:
    if not answer.services:
        return ""
    top = answer.services[0]
    others = "".join(f"\n- {s.title} (`{s.code}`)" for s in answer.services[1:])
    return f"**{UI_TEXT['service'][answer.lang]}:** {top.title}  \n`{top.code}`{others}"


def message_text(content) -> str:
    """Plain text of a chat message: Gradio 6 hands content back as a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(message_text(part) for part in content).strip()
    return ""


def build_ui(assistant: Assistant) -> gr.Blocks:
    with gr.Blocks(title="Qazaq eGov Assistant") as ui:
        add_service_banner()
        gr.Markdown("## Qazaq eGov Assistant\nСұрағыңызды қазақ, орыс немесе ағылшын тілінде жазыңыз · "
                    "Задайте вопрос на казахском, русском или английском · Ask in Kazakh, Russian or English")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=460, elem_id="chat")
                question = gr.Textbox(label="Question", placeholder="…", elem_id="question", lines=2)
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="send")
                    clear = gr.Button("Clear", elem_id="clear")
                with gr.Row(elem_id="choices"):  # a clarification's services, one button each
                    choice_buttons = [gr.Button(visible=False, elem_id=f"choice-{i}", size="sm")
                                      for i in range(MAX_CHOICES)]
                add_feedback_controls(chat, feedback_store(assistant.settings))
                example_sets = {}
                for code, questions in EXAMPLES_BY_LANG.items():
                    with gr.Column(elem_id=f"examples-{code}") as example_sets[code]:
                        gr.Examples(questions, inputs=question, label=EXAMPLE_LABELS[code])
            with gr.Column(scale=2):
                lang = gr.Dropdown(LANG_CHOICES, value="auto", label="Language", elem_id="lang")
                service = gr.Markdown(elem_id="service-card")
                link = gr.Button("egov.kz", link="https://egov.kz", visible=False, elem_id="service-link")
                sources = gr.Markdown(elem_id="sources")
                with gr.Accordion("Civil servant sign-in", open=False, elem_id="staff-sign-in"):
                    token_box = gr.Textbox(label="Staff token", type="password", elem_id="staff-token")
                    with gr.Row():
                        sign_in = gr.Button("Sign in", elem_id="staff-sign-in-button")
                        sign_out = gr.Button("Sign out", elem_id="staff-sign-out-button")
                    staff_status = gr.Markdown(STAFF_STATUS["citizen"], elem_id="staff-status")
        # The token stays on the server, in this browser session's state; each question re-checks it.
        staff_token = gr.State(None)
        # After a clarification: the question asked and the services offered, until the next answer.
        pending = gr.State(None)
        unchanged = [gr.update()] * (1 + MAX_CHOICES)

        def respond(message: str, history: list, lang_choice: str, token: str | None = None, choice: dict | None = None):
            """Streams: the LLM's words appear as they come; the checked final answer replaces them.
            `choice` is a service the citizen picked from a clarification: the same question, that service."""
            message = (message or "").strip()
            if not message:
                yield history, "", gr.update(), gr.update(), gr.update(), *unchanged
                return
            turns = [{"role": m["role"], "content": message_text(m.get("content"))} for m in history
                     if isinstance(m, dict) and message_text(m.get("content"))]
            history = history + [{"role": "user", "content": choice["title"] if choice else message}]
            written = ""
            who = session_caller(assistant.staff, token)
            events = assistant.stream(message, lang=None if lang_choice == "auto" else lang_choice, history=turns,
                                      audience=who.audience, staff=who.staff, channel="ui",
                                      service=choice["code"] if choice else None)
            for kind, value in events:
                if kind == "token":
                    written += value
                    yield history + [{"role": "assistant", "content": written}], "", gr.update(), gr.update(), \
                        gr.update(), *unchanged
                    continue
                answer = value
                history = history + [{"role": "assistant", "content": answer.answer}]
                clarifying = answer.status == Status.CLARIFICATION
                if answer.services and not clarifying:
                    link_update = gr.update(value=UI_TEXT["open"][answer.lang], link=answer.services[0].url,
                                            visible=True)
                else:
                    link_update = gr.update(visible=False)
                offered = answer.services[:MAX_CHOICES] if clarifying else []
                waiting = {"question": message, "choices": [{"code": s.code, "title": s.title} for s in offered]} \
                    if offered else None
                buttons = [gr.update(value=offered[i].title, visible=True) if i < len(offered) else
                           gr.update(visible=False) for i in range(MAX_CHOICES)]
                yield (history, "", "" if clarifying else service_markdown(answer), link_update,
                       sources_markdown(answer), waiting, *buttons)

        def choose(i: int):
            """Button i of a clarification: answers the pending question about that service."""
            def picked(history: list, lang_choice: str, token: str | None, waiting: dict | None):
                if not waiting or i >= len(waiting["choices"]):
                    yield history, gr.update(), gr.update(), gr.update(), gr.update(), *unchanged
                    return
                yield from respond(waiting["question"], history, lang_choice, token, waiting["choices"][i])
            return picked

        def do_sign_in(token: str):
            token = (token or "").strip()
            who = session_caller(assistant.staff, token)
            if who is CITIZEN:
                return None, "", STAFF_STATUS["invalid"]
            return token, "", STAFF_STATUS["signed_in"].format(name=who.staff)

        def do_sign_out():
            return (None, STAFF_STATUS["citizen"], [], "", gr.update(visible=False), "", None,
                    *[gr.update(visible=False)] * MAX_CHOICES)

        def session_status(token: str | None):
            if token and session_caller(assistant.staff, token) is CITIZEN:
                return None, STAFF_STATUS["expired"]
            return token, gr.update()

        respond = with_citizen_messages(respond, assistant.settings.ui_concurrency, extra_outputs=1 + MAX_CHOICES)
        outputs = [chat, question, service, link, sources, pending, *choice_buttons]
        # "Auto" shows the examples in all three languages; a chosen language only its own.
        lang.change(lambda choice: [gr.update(visible=choice in ("auto", code)) for code in example_sets], lang,
                    list(example_sets.values()), api_name=False)
        inputs = [question, chat, lang, staff_token]
        send.click(respond, inputs, outputs).then(session_status, staff_token, [staff_token, staff_status])
        question.submit(respond, inputs, outputs).then(session_status, staff_token, [staff_token, staff_status])
        for i, button in enumerate(choice_buttons):
            button.click(choose(i), [chat, lang, staff_token, pending], outputs, api_name=False).then(
                session_status, staff_token, [staff_token, staff_status])
        sign_in.click(do_sign_in, token_box, [staff_token, token_box, staff_status], api_name="sign_in")
        token_box.submit(do_sign_in, token_box, [staff_token, token_box, staff_status], api_name=False)
        # Signing out also clears the chat: a shared desk computer must not keep a clerk's answers on screen.
        sign_out.click(do_sign_out, None, [staff_token, staff_status, *[c for c in outputs if c is not question]],
                       api_name="sign_out")
        clear.click(lambda: ([], "", "", gr.update(visible=False), "", None, *[gr.update(visible=False)] * MAX_CHOICES),
                    None, outputs)
    # Gradio runs one event at a time unless told otherwise; the wrapper above bounds the answers.
    ui.queue(default_concurrency_limit=2 * assistant.settings.ui_concurrency, max_size=assistant.settings.ui_queue_size)
    return ui
