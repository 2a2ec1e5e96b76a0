"""The payload corpus (tests/ingest/corpus): each SDK's documented event shape, and a
way to post one through the real ingest endpoint its SDK would use."""

import json
import uuid
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "ingest" / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
CASES = EXPECTED["payloads"]


def payload_bytes(name: str) -> bytes:
    return (CORPUS / f"{name}.json").read_bytes()


def send_corpus_payload(client, project, name: str) -> None:
    """POST the payload as its SDK would: an envelope item, or a bare /store/ body."""
    payload = payload_bytes(name)
    if CASES[name]["endpoint"] == "store":
        response = client.post(
            f"/api/{project.id}/store/?sentry_key={project.public_key}",
            data=payload,
            content_type="application/json",
        )
    else:
        event_id = json.loads(payload).get("event_id") or uuid.uuid4().hex
        header = json.dumps({"event_id": event_id, "sent_at": "2026-11-30T10:15:01.000Z"})
        item = json.dumps(
            {"type": "event", "length": len(payload), "content_type": "application/json"}
        )
        body = b"\n".join([header.encode(), item.encode(), payload]) + b"\n"
        response = client.post(
            f"/api/{project.id}/envelope/",
            data=body,
            content_type="application/x-sentry-envelope",
            HTTP_X_SENTRY_AUTH=f"Sentry sentry_version=7, sentry_key={project.public_key}",
        )
    assert response.status_code == 200, (name, response.status_code, response.content)
