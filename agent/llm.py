"""The LLM planner: any OpenAI-compatible chat endpoint with tool calling (vLLM, llama.cpp, Ollama, OpenAI)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI

from geovigie.agent.graph import PlannerModel
from geovigie.core.errors import ConfigError
from geovigie.core.settings import Settings
from geovigie.tools.base import GeoTool


def openai_tool_specs(tools: Mapping[str, GeoTool[Any]]) -> list[dict[str, Any]]:
    """OpenAI ``tools`` definitions generated from the registry (name, docstring, JSON schema)."""
    specs = []
    for tool in tools.values():
        schema = tool.json_schema()
        schema.pop("title", None)
        specs.append(
            {
                "type": "function",
                "function": {"name": tool.name, "description": tool.description, "parameters": schema},
            }
        )
    return specs


class CompatChatOpenAI(ChatOpenAI):
    """ChatOpenAI that sends ``content: ""`` instead of null on assistant tool-call messages.

    llama.cpp's server answers HTTP 500 to ``content: null`` (what langchain-openai sends on the turn after
    a tool call); vLLM and OpenAI accept both, so the empty string is the portable choice.
    """

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload


def chat_model(settings: Settings, *, base_url: str | None = None, model: str | None = None) -> ChatOpenAI:
    """A chat model on the configured endpoint.

    Raises:
        ConfigError: when no endpoint is configured.
    """
    url = base_url or settings.llm_base_url
    if not url:
        raise ConfigError("No LLM endpoint configured.", hint="Set GEOVIGIE_LLM_BASE_URL (e.g. http://host:8000/v1).")
    return CompatChatOpenAI(
        base_url=url,
        model=model or settings.llm_model,
        api_key=settings.llm_api_key,  # type: ignore[arg-type]
        timeout=settings.llm_timeout_s,
        max_retries=1,
        temperature=0.0,
    )


def cap_answer(message: AIMessage, limit: int) -> AIMessage:
    """An LLM message whose text is at most ``limit`` characters (a runaway model cannot flood the thread)."""
    text = message.content
    if not isinstance(text, str) or len(text) <= limit:
        return message
    cut = text[:limit].rstrip() + f"\n\n… (answer cut at {limit:,} characters: GEOVIGIE_LLM_MAX_ANSWER_CHARS)"
    return message.model_copy(update={"content": cut})


def llm_planner(settings: Settings, tools: Mapping[str, GeoTool[Any]]) -> PlannerModel:
    """The production planner: the endpoint's model bound to the tool registry, its answers capped in size."""
    bound = chat_model(settings).bind_tools(openai_tool_specs(tools))
    limit = settings.llm_max_answer_chars
    return bound | RunnableLambda(lambda message: cap_answer(message, limit))  # type: ignore[return-value]
