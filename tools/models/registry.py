"""The registry of model cards: one name, one card.

:func:`get_card` and :func:`list_cards` read the cards of :mod:`~geovigie.tools.models.known` plus any added at
run time with :func:`register_card` (tests, plug-ins, a model trained here).
"""

from __future__ import annotations

from geovigie.core.errors import ToolInputError
from geovigie.tools.models.cards import ModelCard
from geovigie.tools.models.known import CARDS

_EXTRA: dict[str, ModelCard] = {}


def register_card(card: ModelCard, *, replace: bool = False) -> ModelCard:
    """Add a card to the registry and return it, so a module can define and register a card in one line.

    Raises:
        ToolInputError: a different card already has this name and ``replace`` is False.
    """
    known = _all()
    if card.name in known and known[card.name] != card and not replace:
        raise ToolInputError(f"A model card named {card.name!r} is already registered.", hint="Pick another name.")
    _EXTRA[card.name] = card
    return card


def unregister_card(name: str) -> None:
    """Remove a card added with :func:`register_card` (built-in cards stay)."""
    _EXTRA.pop(name, None)


def _all() -> dict[str, ModelCard]:
    cards = {card.name: card for card in CARDS}
    cards.update(_EXTRA)
    return cards


def list_cards() -> list[ModelCard]:
    """Every known card, built-in first, in registration order."""
    return list(_all().values())


def get_card(name: str) -> ModelCard:
    """The card of a model by name.

    Raises:
        ToolInputError: no such model.
    """
    cards = _all()
    if name not in cards:
        raise ToolInputError(f"Unknown model {name!r}.", hint=f"Known models: {', '.join(sorted(cards))}.")
    return cards[name]
