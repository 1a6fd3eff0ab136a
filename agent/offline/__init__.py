"""The offline planner: deterministic French/English understanding and plan templates.

The offline planner: deterministic French/English understanding of a question (intents, places, dates,
objects, image mentions), plan templates (playbooks) and their execution, decisions (call, clarify, abstain,
finish), scene choice, and the answer composer, presented to the graph as a chat model.

May import ``geovigie.core``, ``geovigie.tools`` and the agent runtime's state; the runtime reaches it through this
face.
"""

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.decisions import Abstain, Clarify, Decision, ToolCall
from geovigie.agent.offline.item_facts import ItemFacts, facts_of
from geovigie.agent.offline.model import OfflinePlanner
from geovigie.agent.offline.playbook_tool import make_run_playbook
from geovigie.agent.offline.playbooks import next_step
from geovigie.agent.offline.understanding import Understanding, understand

__all__ = [
    "Abstain",
    "Clarify",
    "Decision",
    "ItemFacts",
    "OfflinePlanner",
    "ToolCall",
    "Understanding",
    "facts_of",
    "fold",
    "make_run_playbook",
    "next_step",
    "understand",
]
