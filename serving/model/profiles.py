"""vLLM serving profiles: which model, which parser, which multimodal limits."""

from __future__ import annotations

from pydantic import BaseModel, Field


class VllmProfile(BaseModel):
    """Everything needed to build a ``vllm serve`` command for one vision-language model."""

    name: str
    model: str
    """Hugging Face id or local path of the weights."""
    served_model_name: str = "geovlm"
    tool_call_parser: str | None = "hermes"
    enable_auto_tool_choice: bool = True
    max_model_len: int = 32768
    images_per_prompt: int = Field(default=4, ge=0, le=32)
    gpu_memory_utilization: float = Field(default=0.90, gt=0.0, le=1.0)
    tensor_parallel_size: int = Field(default=1, ge=1)
    trust_remote_code: bool = False
    chat_template: str | None = None
    mm_processor_kwargs: dict[str, int] = Field(default_factory=dict)
    """Qwen pixel budget, e.g. {"min_pixels": 200704, "max_pixels": 1003520}."""
    notes: str = ""


PROFILES: dict[str, VllmProfile] = {
    "qwen2.5-vl-7b": VllmProfile(
        name="qwen2.5-vl-7b",
        model="Qwen/Qwen2.5-VL-7B-Instruct",
        tool_call_parser="hermes",
        max_model_len=32768,
        mm_processor_kwargs={"min_pixels": 200704, "max_pixels": 1003520},
        notes="Default. Tool calling via the hermes parser (Qwen2.5 family). ~16 GB of weights in bf16.",
    ),
    "qwen3-vl-8b": VllmProfile(
        name="qwen3-vl-8b",
        model="Qwen/Qwen3-VL-8B-Instruct",
        tool_call_parser="hermes",
        max_model_len=32768,
        notes="Needs --tool-call-parser hermes (vLLM answers 400 otherwise); smoke-test tool calls first.",
    ),
    "internvl3-8b": VllmProfile(
        name="internvl3-8b",
        model="OpenGVLab/InternVL3-8B",
        tool_call_parser="internlm",
        trust_remote_code=True,
        max_model_len=16384,
        notes="InternVL chat model; remote code required; internlm tool parser.",
    ),
}
DEFAULT_PROFILE = "qwen2.5-vl-7b"
