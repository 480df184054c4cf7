"""A deal's notes on its page: writing one and removing one, each answered with the notes
region redrawn (the page itself reads the notes with the deal, :mod:`web.routes.deals`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.context import form_of, query, render
from web.errors import Problem, on, problem_of

NOTE_FIELDS = "id body createdAt author { id name }"
Q_NOTES = f"query Notes($id: ID!) {{ opportunity(id: $id) {{ id notes {{ {NOTE_FIELDS} }} }} }}"
M_ADD = f"""mutation AddNote($id: ID!, $body: String!) {{
  addNote(opportunityId: $id, body: $body) {{ __typename ... on NotePayload {{ note {{ id }} }}
  {on("ValidationError", "NotFound", "Forbidden")} }} }}"""
M_REMOVE = f"""mutation RemoveNote($id: ID!) {{ removeNote(id: $id) {{ __typename
  ... on RemoveNotePayload {{ removedId }} {on("NotFound", "Forbidden")} }} }}"""


async def _region(request: Request, deal_id: str, problem: Problem | None = None,
                  values: dict[str, Any] | None = None) -> Response:
    deal = (await query(request, Q_NOTES, id=deal_id))["opportunity"]
    return render(request, "deals/notes.html", deal_id=deal_id,
                  notes=deal["notes"] if deal else [], note_problem=problem,
                  note_values=values or {})


async def add(request: Request) -> Response:
    deal_id = str(request.path_params["id"])
    form = await form_of(request)
    body = form.get("body")
    result = (await query(request, M_ADD, id=deal_id,
                          body=body if isinstance(body, str) else ""))["addNote"]
    problem = problem_of(result)
    return await _region(request, deal_id, problem, dict(form) if problem else None)


async def remove(request: Request) -> Response:
    deal_id = str(request.path_params["id"])
    result = (await query(request, M_REMOVE, id=str(request.path_params["note"])))["removeNote"]
    return await _region(request, deal_id, problem_of(result))


routes = [
    Route("/deals/{id:uuid}/notes", add, methods=["POST"]),
    Route("/deals/{id:uuid}/notes/{note:uuid}/remove", remove, methods=["POST"]),
]
