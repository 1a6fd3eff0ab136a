"""Model serving: the vLLM launcher (GPU hosts) — never imports the agent."""
