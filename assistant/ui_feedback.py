"""The web UI's feedback control: 👍/👎 on any answer in the chat, then an optional comment.

Nothing is kept in server memory between the rating and the comment: the id of the stored rating
travels in a hidden field of the page, so any replica can take the comment.
"""
from __future__ import annotations

import logging

import gradio as gr

from assistant.feedback import FeedbackStore, rating_of
from assistant.language import detect_language

log = logging.getLogger(__name__)
TEXT = {
    "thanks": "Рақмет! · Спасибо! · Thank you!",
    "ask_comment": "Рақмет! Пікір қалдырыңыз (міндетті емес) · Спасибо! Можно добавить комментарий · "
                   "Thank you! Add a comment if you like",
    "saved": "Пікіріңіз сақталды · Комментарий сохранён · Your comment was saved",
    "failed": "Пікірді сақтау мүмкін болмады · Не удалось сохранить отзыв · Your feedback could not be saved",
}


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):  # a message dict or a component payload
        return _text(content.get("content") or content.get("value") or content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_text(c) for c in content)
    return str(content or "")


def question_before(history: list, index: int) -> str:
    """The user's message that the assistant's message at `index` answered."""
    for message in reversed(history[:index]):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def add_feedback_controls(chat: gr.Chatbot, store: FeedbackStore) -> None:
    """Wires the chat's thumbs to the store and adds the comment row under the chat."""
    feedback_id = gr.Textbox(visible=False, elem_id="feedback-id")
    with gr.Row(visible=False, elem_id="feedback-row") as comment_row:
        comment = gr.Textbox(label="Пікір · Комментарий · Comment", max_lines=3, scale=4, elem_id="feedback-comment")
        send_comment = gr.Button("OK", scale=1, elem_id="feedback-send")
    status = gr.Markdown(elem_id="feedback-status")

    def on_like(history: list, data: gr.LikeData):
        rating = rating_of(data.liked)
        index = data.index if isinstance(data.index, int) else data.index[0]
        if rating is None or not isinstance(history, list) or not 0 <= index < len(history):
            return "", gr.update(visible=False), ""
        answer = _text(history[index].get("content") if isinstance(history[index], dict) else data.value)
        question = question_before(history, index)
        try:
            saved = store.record(question, answer, rating, lang=detect_language(question or answer), channel="ui")
        except Exception:
            log.exception("feedback not stored")
            return "", gr.update(visible=False), TEXT["failed"]
        return saved["id"], gr.update(visible=True), TEXT["ask_comment"]

    def on_comment(feedback: str, text: str):
        if feedback and (text or "").strip():
            ok = store.add_comment(feedback, text)
            return gr.update(visible=False), "", TEXT["saved"] if ok else TEXT["failed"]
        return gr.update(visible=False), "", TEXT["thanks"]

    chat.like(on_like, [chat], [feedback_id, comment_row, status], api_name=False)
    send_comment.click(on_comment, [feedback_id, comment], [comment_row, comment, status], api_name=False)
    comment.submit(on_comment, [feedback_id, comment], [comment_row, comment, status], api_name=False)
