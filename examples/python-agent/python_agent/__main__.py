"""`python -m python_agent`: telemetry first, then the instrumented app under uvicorn.

HOST (default 127.0.0.1) and PORT (default 8010) say where it listens. SIGTERM stops uvicorn
gracefully (in-flight requests finish within 10 s); then, in the app's lifespan shutdown (uvicorn
re-raises the signal once it has stopped, so nothing after uvicorn.run would run), queued spans,
metrics and logs are sent.
"""

from __future__ import annotations

import os

import uvicorn
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

from . import telemetry
from .app import create_app

# Requests served at once; past it uvicorn answers 503 at once instead of queueing without bound.
MAX_CONCURRENT_REQUESTS = 64


def main() -> None:
    started = telemetry.start()
    # The GenAI client spans and metrics (gen_ai.client.operation.duration, .token.usage).
    OpenAIInstrumentor().instrument()
    app = create_app(on_shutdown=started.shutdown)
    # HTTP server spans and http.server.request.duration; the probes are neither traced nor
    # measured, so that the SLI counts only the API.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/health/")
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8010")),
        # Uvicorn's loggers propagate to the root logger, hence to OTLP as well.
        log_config=None,
        access_log=False,
        limit_concurrency=MAX_CONCURRENT_REQUESTS,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
