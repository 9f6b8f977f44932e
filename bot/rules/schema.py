"""The rules format (version 1): entities and watchlists, as users write them in YAML."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Language = Literal["ar", "en"]
EntityType = Literal["person", "organization", "place", "law", "resolution", "event", "topic"]


class ContextRule(BaseModel):
    """What the entity's ambiguous aliases need to count as a mention (see bot/extract/context.py)."""

    model_config = ConfigDict(extra="forbid")

    aliases: dict[Language, list[Text]] = Field(default_factory=dict)  # forms decided per mention, from evidence
    likely: dict[Language, list[Text]] = Field(default_factory=dict)  # the same, but kept without evidence
    confirm: dict[Language, list[Text]] = Field(default_factory=dict)  # cues near the mention that confirm
    refute: dict[Language, list[Text]] = Field(default_factory=dict)  # cues near the mention that refute
    confirm_entities: list[Id] = Field(default_factory=list)  # entities in the item that confirm
    refute_entities: list[Id] = Field(default_factory=list)  # entities in the item that refute
    window: int = Field(default=5, ge=0, le=50)  # words either side searched for cues
    otherwise: Literal["keep", "drop"] = "drop"  # without evidence (``likely`` forms: always keep)

    @model_validator(mode="after")
    def _some_forms(self) -> ContextRule:
        if not any(self.aliases.values()) and not any(self.likely.values()):
            raise ValueError("context needs 'aliases' or 'likely' forms")
        return self


class EntityRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    type: EntityType
    names: dict[Language, Text] = Field(min_length=1)
    aliases: dict[Language, list[Text]] = Field(default_factory=dict)
    resolution: int | None = Field(default=None, gt=0, lt=100000)
    urgent: bool = False
    match_case: bool = False  # Latin-script forms match only as written (or in capitals): Turkey, not turkey
    exclude: dict[Language, list[Text]] = Field(default_factory=dict)  # phrases that are not this entity
    context: ContextRule | None = None  # ambiguous aliases, decided per mention
    description: str | None = None

    @model_validator(mode="after")
    def _resolution_matches_type(self) -> EntityRule:
        if self.type == "resolution" and self.resolution is None:
            raise ValueError("an entity of type resolution needs 'resolution: <number>'")
        if self.type != "resolution" and self.resolution is not None:
            raise ValueError("'resolution:' is only for entities of type resolution")
        return self


class WatchlistRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    names: dict[Language, Text] = Field(min_length=1)
    any: list[Id] = Field(default_factory=list)
    all: list[Id] = Field(default_factory=list)
    none: list[Id] = Field(default_factory=list)
    urgent: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> WatchlistRule:
        if not self.any and not self.all:
            raise ValueError("a watchlist needs at least one entity in 'any' or 'all'")
        return self


TOP_LEVEL_KEYS = ("version", "entities", "watchlists")
