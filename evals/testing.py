"""Test doubles for evaluation runs, importable by worker processes.

Eval workers start from a fork server, so whatever a run hands them (the solver's model factory, a pool task
function) must be importable by name: these live here rather than in test modules. They are also handy to
check a private suite's wiring without a model endpoint (like inspect's ``mockllm``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult


class ScriptedGeocodeLLM(BaseChatModel):
    """Calls ``geocode`` on Nantes once, then answers; reports token usage like an OpenAI endpoint."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        usage = {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110}
        if any(isinstance(m, ToolMessage) for m in messages):
            reply = AIMessage(content="Nantes is in France.", usage_metadata=usage)  # type: ignore[arg-type]
        else:
            call = {"name": "geocode", "args": {"query": "Nantes"}, "id": "c1", "type": "tool_call"}
            reply = AIMessage(content="", tool_calls=[call], usage_metadata=usage)  # type: ignore[arg-type, list-item]
        return ChatResult(generations=[ChatGeneration(message=reply)])


def scripted_geocode_factory(ctx: Any, tools: Any) -> BaseChatModel:
    """Model factory for ``RunOptions.model_factory``: a :class:`ScriptedGeocodeLLM`."""
    return ScriptedGeocodeLLM()


def pool_probe(task: tuple[str, float]) -> str:
    """A pool task that answers, sleeps or kills its worker (to check timeouts and crash recovery)."""
    kind, value = task
    if kind == "sleep":
        time.sleep(value)
    if kind == "die":
        os._exit(3)
    return f"{kind}:{value}"
