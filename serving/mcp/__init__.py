"""The Model Context Protocol server: GeoVigie's tools, a whole-question ``ask`` and its records, for other agents.

Owns ``geovigie mcp``: every tool of the registry (its JSON schema and docstring) plus ``ask`` (a question through
the agent: answer text, figures, provenance and artifact links), resources for the catalog, a thread's artifacts
and the artifact files, progress notifications from the tools' ``ctx.progress``, and the two transports of the
official SDK (stdio, streamable HTTP). Over HTTP the same API keys and rate limits as the HTTP service apply
(``serving/api/security.py``). Built on a turn service from ``serving/api``; nothing below ``serving`` imports it.
"""

from geovigie.serving.mcp.http import mcp_http_app
from geovigie.serving.mcp.server import ASK_TOOL, build_server, run_stdio

__all__ = ["ASK_TOOL", "build_server", "mcp_http_app", "run_stdio"]
