"""The LLM planner against a real OpenAI-compatible server (llama.cpp + SmolLM2-135M) on loopback.

These tests prove the wire protocol end to end, not the tiny model's judgement: tool definitions generated from
the registry are accepted, forced tool calls come back parsed, tool results travel back on the next request
(where llama.cpp's ``content: null`` bug bites and :class:`geovigie.agent.llm.CompatChatOpenAI` works around it), and a
multimodal user message is accepted. Facts about llama-cpp-python 0.3.36's ``chatml-function-calling`` format
that shape them:

* ``tool_choice={"function": ...}`` constrains the arguments with a grammar built from the tool's JSON schema,
  so they parse; ``tool_choice="none"`` renders no tool at all and lets the model write text.
* Its template renders no ``role: tool`` message: the server accepts tool results but the model never reads
  them (a limit of this chat format, not of our payload; vLLM's templates do render them).
* It ignores ``max_completion_tokens`` (what langchain-openai sends for ``max_tokens``): the tests cap answers
  with ``extra_body={"max_tokens": N}``.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionMessageParam
from PIL import Image
from pydantic import TypeAdapter

from geovigie.agent.llm import CompatChatOpenAI, chat_model, openai_tool_specs
from geovigie.agent.prompts import SYSTEM_PROMPT
from geovigie.agent.runner import build_agent
from geovigie.tools.registry import TOOLS

pytestmark = pytest.mark.llm_server

QUESTION = "Show me the image scene-g. Call quicklook with item_id scene-g."
ANSWER_CAP = {"max_tokens": 24}


@pytest.fixture
def llm_settings(settings, llm_server):
    settings.llm_base_url, settings.llm_model = llm_server.base_url, llm_server.model
    return settings


@pytest.fixture
def scene(ctx, make_geotiff, register):
    data = np.random.default_rng(1).integers(100, 3000, size=(3, 40, 40), dtype=np.uint16)
    path = make_geotiff(data, name="g.tif")
    return register(ctx, path, item_id="scene-g", bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")])


def planner_prompt(question: str) -> list[Any]:
    # The graph's own system message: every test then shares the server's prompt cache (llama.cpp reuses the
    # longest common token prefix), so the long tool-schema prompt is evaluated once per session.
    return [SystemMessage(SYSTEM_PROMPT.format(today=datetime.now(UTC).date().isoformat())), HumanMessage(question)]


def required_only(spec: dict[str, Any]) -> dict[str, Any]:
    """A tool spec whose parameters keep only the required properties."""
    params = spec["function"]["parameters"]
    props = {k: v for k, v in params["properties"].items() if k in params.get("required", [])}
    narrowed = {**params, "properties": props}
    return {**spec, "function": {**spec["function"], "parameters": narrowed}}


class Wire:
    """httpx hooks that keep every request body and response status sent to the server."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []

    def client(self) -> httpx.Client:
        def on_request(request: httpx.Request) -> None:
            import json

            self.requests.append(json.loads(request.content))

        def on_response(response: httpx.Response) -> None:
            self.statuses.append(response.status_code)

        return httpx.Client(event_hooks={"request": [on_request], "response": [on_response]}, timeout=120)


def test_forced_tool_call_from_registry_specs_is_parsed(llm_settings):
    model = chat_model(llm_settings).bind_tools(openai_tool_specs(TOOLS), tool_choice="quicklook")
    reply = model.invoke(planner_prompt(QUESTION))
    assert isinstance(reply, AIMessage) and not reply.invalid_tool_calls
    assert [c["name"] for c in reply.tool_calls] == ["quicklook"] and reply.tool_calls[0]["id"]
    # The grammar makes the arguments a JSON object with the required keys; it does not enforce numeric bounds
    # (max_side 1 was seen), so whether they validate is the model's quality, not the protocol's.
    assert isinstance(reply.tool_calls[0]["args"].get("item_id"), str)


def test_auto_tool_choice_after_a_tool_result_is_accepted(llm_settings):
    history = [
        *planner_prompt(QUESTION),
        AIMessage(content="", tool_calls=[{"name": "quicklook", "args": {"item_id": "scene-g"}, "id": "c1"}]),
        ToolMessage(content="Quicklook of scene-g (2020-06-01), true colour (R,G,B), 40x40 px.", tool_call_id="c1"),
    ]
    model = chat_model(llm_settings).bind_tools(openai_tool_specs(TOOLS), tool_choice="auto")
    reply = model.bind(extra_body=ANSWER_CAP).invoke(history)
    # Either a message or a call: both are valid protocol; a call must name a registered tool.
    assert isinstance(reply, AIMessage) and not reply.invalid_tool_calls
    assert all(c["name"] in TOOLS for c in reply.tool_calls)
    assert reply.tool_calls or isinstance(reply.content, str)


def test_graph_runs_a_tool_and_sends_its_result_back(llm_settings, ctx, scene):
    wire = Wire()
    chat = CompatChatOpenAI(
        base_url=llm_settings.llm_base_url,
        model=llm_settings.llm_model,
        api_key="EMPTY",  # type: ignore[arg-type]
        temperature=0.0,
        max_retries=0,
        http_client=wire.client(),
    )
    specs = openai_tool_specs(TOOLS)
    # The forced tool keeps only its required argument: llama.cpp's grammar ignores numeric bounds, and an
    # out-of-range max_side from the tiny model would turn this test into one about its judgement.
    narrowed = [required_only(spec) if spec["function"]["name"] == "quicklook" else spec for spec in specs]
    # The grammar also pins the id: what the tiny model would type there is not what this test is about.
    for spec in narrowed:
        if spec["function"]["name"] == "quicklook":
            props = spec["function"]["parameters"]["properties"]
            props["item_id"] = {**props["item_id"], "enum": ["scene-g"]}
    forced = chat.bind_tools(narrowed, tool_choice="quicklook")
    # After a tool result, "none": the tiny model would otherwise call tools until the step limit.
    after = chat.bind_tools(specs, tool_choice="none").bind(extra_body=ANSWER_CAP)
    seen: list[list[Any]] = []

    def planner(messages: list[Any]) -> AIMessage:
        seen.append(list(messages))
        has_result = any(isinstance(m, ToolMessage) for m in messages)
        return (after if has_result else forced).invoke(messages)

    agent = build_agent(settings=llm_settings, ctx=ctx, model=RunnableLambda(planner), planner_name="llm:smollm2")
    answer = agent.ask(QUESTION, thread_id="wire")

    assert wire.statuses == [200, 200]
    first, second = wire.requests
    assert {t["function"]["name"] for t in first["tools"]} == set(TOOLS)
    assert first["tool_choice"] == {"type": "function", "function": {"name": "quicklook"}}
    assistant = next(m for m in second["messages"] if m["role"] == "assistant")
    tool_result = next(m for m in second["messages"] if m["role"] == "tool")
    assert assistant["content"] == "" and assistant["tool_calls"][0]["function"]["name"] == "quicklook"
    assert tool_result["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert tool_result["content"].startswith("Quicklook of scene-g")
    assert answer.status == "answered" and answer.text and answer.model_calls == 2
    assert [(s.tool, s.ok) for s in answer.trace] == [("quicklook", True)]
    assert answer.artifacts[0]["kind"] == "png"

    # The same history through a plain ChatOpenAI sends `content: null` and llama.cpp answers HTTP 500.
    plain = ChatOpenAI(
        base_url=llm_settings.llm_base_url,
        model=llm_settings.llm_model,
        api_key="EMPTY",
        max_retries=0,  # type: ignore[arg-type]
    )
    assert plain._get_request_payload(seen[1])["messages"][2]["content"] is None
    with pytest.raises(openai.InternalServerError, match="validation error"):
        plain.bind_tools(specs, tool_choice="none").invoke(seen[1])


OPENAI_MESSAGE: TypeAdapter[Any] = TypeAdapter(ChatCompletionMessageParam)


def as_openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the openai package's ChatCompletionMessageParam schema reads it (unknown keys dropped)."""
    checked = dict(OPENAI_MESSAGE.validate_python(message))
    if not isinstance(checked.get("content"), str | None):
        # Iterable[...] validates lazily, with the adapter's definitions: keep the adapter alive (module level).
        checked["content"] = [dict(part) for part in checked["content"]]
    return checked


def tiny_png_url() -> str:
    buf = io.BytesIO()
    Image.fromarray(np.full((4, 4, 3), (30, 90, 200), np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_multimodal_user_message_is_valid_and_accepted(llm_settings, llm_server):
    """Text + ``image_url`` content parts, the form vLLM takes for Qwen-VL.

    llama-cpp-python validates each message against its OpenAI request schema (a malformed part is refused
    with HTTP 500 and a list of validation errors), then this text-only chat format pastes the parts into the
    prompt as text: the model does not see an image, but the request format is proven valid. A large image
    overflows the context and is refused with ``context_length_exceeded`` (tools/ask_image turns that into an
    UpstreamError; see tests/tools/test_ask_image.py).
    """
    content: list[str | dict[str, Any]] = [
        {"type": "text", "text": "What colour is this image?"},
        {"type": "image_url", "image_url": {"url": tiny_png_url()}},
    ]
    chat = chat_model(llm_settings)
    message = HumanMessage(content=content)
    payload = chat._get_request_payload([message])
    assert [as_openai_message(m) for m in payload["messages"]] == payload["messages"]
    assert payload["messages"][0]["content"] == content
    reply = chat.bind(extra_body={"max_tokens": 8}).invoke([message])
    assert isinstance(reply, AIMessage) and isinstance(reply.content, str) and reply.content

    broken = [{"type": "text", "text": "What colour?"}, {"type": "image", "image": tiny_png_url()}]
    body = {"model": llm_server.model, "messages": [{"role": "user", "content": broken}], "max_tokens": 4}
    refused = httpx.post(f"{llm_server.base_url}/chat/completions", json=body, timeout=60)
    assert refused.status_code >= 400 and "validation error" in refused.text
