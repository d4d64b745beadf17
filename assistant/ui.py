"""Gradio web UI: chat, sources under each answer, the e-service card with a link to egov.kz."""
from __future__ import annotations

import gradio as gr

from assistant.answer import Answer
from assistant.service import Assistant

EXAMPLES = [
    "Как получить справку о несудимости?",
    "Сколько стоит замена удостоверения личности?",
    "Соттылық туралы анықтаманы қалай алуға болады?",
    "Бала туғанда не істеу керек?",
    "How do I register my place of residence?",
    "What documents do I need for a driving licence?",
]
LANG_CHOICES = [("Auto", "auto"), ("Қазақша", "kk"), ("Русский", "ru"), ("English", "en")]
UI_TEXT = {
    "sources": {"kk": "Дереккөздер", "ru": "Источники", "en": "Sources"},
    "service": {"kk": "Қызмет", "ru": "Услуга", "en": "Service"},
    "open": {"kk": "egov.kz-те ашу", "ru": "Открыть на egov.kz", "en": "Open on egov.kz"},
}


def sources_markdown(answer: Answer) -> str:
    if not answer.sources:
        return ""
    lines = [f"**{UI_TEXT['sources'][answer.lang]}**"]
    for s in answer.sources:
        section = f" — {s.section}" if s.section else ""
        lines.append(f"{s.n}. [{s.title}]({s.url}){section}")
    return "\n".join(lines)


def service_markdown(answer: Answer) -> str:
    if not answer.services:
        return ""
    top = answer.services[0]
    others = "".join(f"\n- {s.title} (`{s.code}`)" for s in answer.services[1:])
    return f"**{UI_TEXT['service'][answer.lang]}:** {top.title}  \n`{top.code}`{others}"


def build_ui(assistant: Assistant) -> gr.Blocks:
    with gr.Blocks(title="Qazaq eGov Assistant") as ui:
        gr.Markdown("## Qazaq eGov Assistant\nСұрағыңызды қазақ, орыс немесе ағылшын тілінде жазыңыз · "
                    "Задайте вопрос на казахском, русском или английском · Ask in Kazakh, Russian or English")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=460, elem_id="chat")
                question = gr.Textbox(label="Question", placeholder="…", elem_id="question", lines=2)
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="send")
                    clear = gr.Button("Clear", elem_id="clear")
                gr.Examples(EXAMPLES, inputs=question, label="Examples")
            with gr.Column(scale=2):
                lang = gr.Dropdown(LANG_CHOICES, value="auto", label="Language", elem_id="lang")
                service = gr.Markdown(elem_id="service-card")
                link = gr.Button("egov.kz", link="https://egov.kz", visible=False, elem_id="service-link")
                sources = gr.Markdown(elem_id="sources")

        def respond(message: str, history: list, lang_choice: str):
            message = (message or "").strip()
            if not message:
                return history, "", gr.update(), gr.update(), gr.update()
            turns = [{"role": m["role"], "content": m["content"]} for m in history
                     if isinstance(m, dict) and isinstance(m.get("content"), str)]
            answer = assistant.ask(message, lang=None if lang_choice == "auto" else lang_choice, history=turns)
            history = history + [{"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
            if answer.services:
                link_update = gr.update(value=UI_TEXT["open"][answer.lang], link=answer.services[0].url, visible=True)
            else:
                link_update = gr.update(visible=False)
            return history, "", service_markdown(answer), link_update, sources_markdown(answer)

        outputs = [chat, question, service, link, sources]
        send.click(respond, [question, chat, lang], outputs)
        question.submit(respond, [question, chat, lang], outputs)
        clear.click(lambda: ([], "", "", gr.update(visible=False), ""), None, outputs)
    return ui
