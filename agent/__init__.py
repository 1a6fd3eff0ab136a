"""The agent: the LangGraph runtime every planner shares, and the offline planner.

The agent: the LangGraph runtime that every planner shares (state, graph, events, finalize, answer, LLM
planner, checkpointer, runner) and, in ``offline``, the deterministic French/English planner.

May import ``geovigie.core`` and ``geovigie.tools``; never ``serving`` or ``ui``.
"""
