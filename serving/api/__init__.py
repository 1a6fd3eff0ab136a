"""The agent as an HTTP service (FastAPI): ask, chat (SSE), OpenAI-compatible completions, threads, catalog."""
