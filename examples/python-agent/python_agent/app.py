"""The example agent service: one endpoint that plans with a model, calls a tool, and answers.

POST /v1/agents/{agent}/runs  {"input": "...", "model"?: "sim-small" | "sim-medium" | "sim-large"}

The model is called with the official `openai` SDK, pointed at an OpenAI-compatible endpoint by
the SDK's own variables (OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_PROJECT_ID); the GenAI spans and
metrics of those calls come from opentelemetry-instrumentation-openai-v2, not from this file.
This file adds the agent's own spans (invoke_agent, execute_tool) and its log lines.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import operator
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Literal

import openai
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger("python_agent")
tracer = trace.get_tracer("python_agent")

AGENTS = {"assistant": "Plans, uses the calculator or the glossary, and answers."}
MODELS = ("sim-small", "sim-medium", "sim-large")
DEFAULT_MODEL = "sim-small"
# Longer inputs are refused (422): the run's cost stays bounded.
MAX_INPUT_CHARS = 8192
PROVIDER_TIMEOUT_SECONDS = 30.0
PROBLEM = "tag:agent-service.local,2026:problem:"
GLOSSARY = {
    "slo": "A service level objective: the share of good events a service promises.",
    "exemplar": "A trace id stored on a histogram bucket, linking a latency to one request.",
    "burn rate": "How fast an error budget is spent, relative to spending it exactly on time.",
}


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str = Field(min_length=1, max_length=MAX_INPUT_CHARS, pattern=r"\S")
    model: Literal["sim-small", "sim-medium", "sim-large"] | None = None


class Problem(Exception):
    """An RFC 9457 problem response, as the demo service answers them."""

    def __init__(self, status: int, name: str, title: str, detail: str, **members: object):
        super().__init__(detail)
        self.status, self.name, self.title, self.detail = status, name, title, detail
        self.members = members


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    span = trace.get_current_span().get_span_context()
    body = {
        "type": PROBLEM + problem.name,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        **problem.members,
    }
    if span.is_valid:
        body["trace_id"] = format(span.trace_id, "032x")
    return JSONResponse(body, status_code=problem.status, media_type="application/problem+json")


# ------------------------------------------------------------------------------------- tools

_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_EXPRESSION = re.compile(r"[\d(][\d\s.+\-*/()]*[\d)]")


def calculate(expression: str) -> float:
    """+ - * / on numbers, parsed by Python's own parser; no names, calls or powers (no eval)."""

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        raise ValueError("only numbers and + - * / are allowed")

    return value(ast.parse(expression, mode="eval").body)


def run_tool(text: str) -> tuple[str, str]:
    """The tool the plan picks: the calculator for arithmetic in the input, else the glossary."""
    found = _EXPRESSION.search(text)
    name = "calculator" if found else "glossary"
    with tracer.start_as_current_span(
        f"execute_tool {name}",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
        },
    ) as span:
        if found:
            try:
                return name, f"{found.group(0).strip()} = {calculate(found.group(0)):g}"
            except (ValueError, SyntaxError, ZeroDivisionError, RecursionError) as error:
                span.set_attribute("error.type", type(error).__name__)
                return name, f"cannot evaluate: {error}"
        words = text.lower()
        return name, next((v for k, v in GLOSSARY.items() if k in words), "no entry found")


# ------------------------------------------------------------------------------------- the run


async def chat(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, str]]):
    try:
        return await client.chat.completions.create(model=model, messages=messages)
    except openai.APIError as error:
        status = getattr(error, "status_code", None)
        log.warning("model call failed", extra={"model": model, "status_code": status})
        why = f"HTTP {status}" if status else type(error).__name__
        detail = f"The call to model {model} failed ({why})."
        raise Problem(502, "llm-provider-error", "LLM provider error", detail) from error


async def run_agent(client: openai.AsyncOpenAI, agent: str, body: RunRequest) -> dict:
    model = body.model or DEFAULT_MODEL
    run_id = str(uuid.uuid4())
    with tracer.start_as_current_span(
        f"invoke_agent {agent}",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent,
            "gen_ai.request.model": model,
            "app.run.id": run_id,
        },
    ) as span:
        system = {"role": "system", "content": f"You are the {agent}. Plan, then answer."}
        user = {"role": "user", "content": body.input}
        plan = await chat(client, model, [system, user])
        tool, result = run_tool(body.input)
        answer = await chat(
            client,
            model,
            [
                system,
                user,
                {"role": "assistant", "content": plan.choices[0].message.content or ""},
                {"role": "user", "content": f"The {tool} tool returned: {result}"},
            ],
        )
        usage = [c.usage for c in (plan, answer) if c.usage is not None]
        tokens = {
            "input_tokens": sum(u.prompt_tokens for u in usage),
            "output_tokens": sum(u.completion_tokens for u in usage),
        }
        trace_id = format(span.get_span_context().trace_id, "032x")
    log.info("run finished", extra={"run_id": run_id, "agent": agent, "model": model, **tokens})
    return {
        "id": run_id,
        "agent": agent,
        "model": model,
        "status": "success",
        "output": answer.choices[0].message.content,
        "tool": {"name": tool, "output": result},
        "usage": tokens,
        "trace_id": trace_id,
    }


def create_app(on_shutdown: Callable[[], None] = lambda: None) -> FastAPI:
    """The app; `on_shutdown` runs once uvicorn has drained the requests in flight."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        on_shutdown()

    app = FastAPI(
        title="python-agent", version="0.1.0", docs_url=None, redoc_url=None, lifespan=lifespan
    )
    client = openai.AsyncOpenAI(
        timeout=PROVIDER_TIMEOUT_SECONDS,
        max_retries=int(os.environ.get("OPENAI_MAX_RETRIES", "2")),
    )

    @app.exception_handler(Problem)
    async def on_problem(request: Request, problem: Problem) -> JSONResponse:
        return problem_response(request, problem)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"pointer": "/" + "/".join(str(p) for p in e["loc"][1:]), "detail": e["msg"]}
            for e in error.errors()
        ]
        detail = "The request body does not match the schema."
        invalid = Problem(422, "validation-error", "Validation failed", detail, errors=errors)
        return problem_response(request, invalid)

    @app.post("/v1/agents/{agent}/runs", status_code=201)
    async def post_run(agent: str, body: RunRequest) -> dict:
        if agent not in AGENTS:
            known = ", ".join(AGENTS)
            detail = f'There is no agent "{agent[:64]}"; the agents are {known}.'
            raise Problem(404, "not-found", "Not found", detail)
        return await run_agent(client, agent, body)

    @app.get("/health/live")
    async def live() -> dict:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready() -> dict:
        return {"status": "ready"}

    return app
