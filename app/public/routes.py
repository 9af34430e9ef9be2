"""The public routes, mounted by create_app."""

from __future__ import annotations

from starlette.routing import Route

from app.public import cors
from app.public.email_links import show_page, submit_form
from app.public.feedback import post_feedback
from app.public.question import get_question
from app.public.signals import post_signal
from app.public.widget import widget_js


def public_routes() -> list[Route]:
    return [
        Route("/public/feedback", post_feedback, methods=["POST"]),
        Route("/public/feedback", cors.preflight, methods=["OPTIONS"]),
        Route("/public/signals", post_signal, methods=["POST"]),
        Route("/public/signals", cors.preflight, methods=["OPTIONS"]),
        Route("/public/question", get_question, methods=["GET"]),
        Route("/f/{token}", show_page, methods=["GET"]),  # HEAD too (Starlette adds it)
        Route("/f/{token}", submit_form, methods=["POST"]),
        Route("/widget.js", widget_js, methods=["GET"]),
    ]
