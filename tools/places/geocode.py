"""The ``geocode`` tool: a place name, coordinates, a bbox or a GeoJSON geometry -> point and bbox.

Place names are resolved offline against GeoNames (:mod:`geovigie.tools.places.gazetteer`); French/English phrasing
("near", "port of", "près de", "le port du", "X, Spain", "X en Espagne") is handled by
:mod:`geovigie.tools.places.text`. With ``GEOVIGIE_GEOCODER=nominatim`` names go to Nominatim through geopy first,
falling back to the offline gazetteer when it fails.

Bbox of a city: a square of half-side r = sqrt(population / (π · 2,500 inhabitants/km²)), clamped to
3-25 km (3.6 km for 100,000 inhabitants, 10 km for 800,000). It is a stand-in for the urban extent, not the
administrative boundary. Countries, US states and regions get the padded extent of their GeoNames towns; natural
features the hand-curated box of :mod:`~geovigie.tools.places.features`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from geovigie.core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from geovigie.core.errors import AmbiguousPlaceError, ConfigError, ToolInputError, UpstreamError
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.places.coordinates import ParsedGeometry, parse_geometry
from geovigie.tools.places.extent import bbox_around
from geovigie.tools.places.features import FEATURE_KINDS
from geovigie.tools.places.gazetteer import (
    MAX_CITY_RADIUS_KM,
    MIN_CITY_RADIUS_KM,
    URBAN_DENSITY_PER_KM2,
    Candidates,
    Gazetteer,
    Place,
    PlaceKind,
    PlaceOption,
    fold,
    get_gazetteer,
    radius_km_for_population,
)
from geovigie.tools.places.text import PlaceMatch, find_place_in_text, split_qualifier, strip_prefixes

__all__ = ["GeocodeInput", "GeocodeResult", "PlaceMatch", "find_place_in_text", "geocode", "resolve_place"]

DEFAULT_POINT_RADIUS_KM = 2.5
"""Half-side of the bbox drawn around raw coordinates when no radius is given."""

ResultKind = Literal[
    "city",
    "country",
    "state",
    "region",
    "lake",
    "river",
    "bay",
    "mountain",
    "forest",
    "place",
    "coordinates",
    "bbox",
    "geojson",
]


class GeocodeInput(BaseModel):
    """Arguments of :func:`geocode`."""

    query: str = Field(
        min_length=1,
        max_length=300,
        description="Place name in French or English ('Orihuela', 'port du Havre', 'Valencia, Spain', "
        "'près de Séville'), coordinates ('38.08, -0.94', '45.87N 14.56E', 'lat 38.1 lon -0.76'), "
        "a bbox 'west,south,east,north' or a GeoJSON geometry/feature.",
    )
    country: str | None = Field(None, description="Restrict to a country: ISO-2 code ('ES') or name ('Spain').")
    region: str | None = Field(
        None,
        max_length=100,
        description="State, province or département the place lies in ('California', 'Vaucluse'): settles "
        "homonyms inside one country.",
    )
    radius_km: float | None = Field(
        None, gt=0, le=100, description="Half-side of the returned bbox in km; default sized from population."
    )


class GeocodeResult(BaseModel):
    """Where a place is."""

    name: str
    country_code: str | None
    country: str | None
    lat: float
    lon: float
    bbox: BBox = Field(description="(west, south, east, north) in EPSG:4326")
    population: int | None = None
    kind: ResultKind
    ambiguous: bool = False
    alternatives: list[PlaceOption] = Field(default_factory=list)
    matched_text: str = Field("", description="The (folded) name or text that matched")
    radius_km: float | None = Field(None, description="Half-side of the bbox when drawn around a point")
    notes: list[str] = Field(default_factory=list)
    source: Literal["geonames", "nominatim", "user input"] = "geonames"


def _from_geometry(geom: ParsedGeometry, radius_km: float | None) -> GeocodeResult:
    if geom.bbox is not None:
        bbox = geom.bbox
        return GeocodeResult(
            name=f"bbox [{bbox[0]:g}, {bbox[1]:g}, {bbox[2]:g}, {bbox[3]:g}]",
            country_code=None,
            country=None,
            lat=round(geom.lat, 6),
            lon=round(geom.lon, 6),
            bbox=bbox,
            kind=geom.kind,
            matched_text=geom.text,
            source="user input",
        )
    radius = radius_km or DEFAULT_POINT_RADIUS_KM
    city, dist = get_gazetteer().nearest_city(geom.lat, geom.lon)
    return GeocodeResult(
        name=f"{geom.lat:.5f}, {geom.lon:.5f}",
        country_code=None,
        country=None,
        lat=geom.lat,
        lon=geom.lon,
        bbox=bbox_around(geom.lat, geom.lon, radius),
        kind=geom.kind,
        matched_text=geom.text,
        radius_km=radius,
        notes=[
            f"Bbox is a ±{radius:g} km square around the point; pass radius_km or a bbox for another extent.",
            f"Nearest GeoNames city: {city.name} ({city.country_code}), {dist:.1f} km away.",
        ],
        source="user input",
    )


def _filters(gaz: Gazetteer, country: str | None, qualifier: str | None) -> list[tuple[str | None, str | None]]:
    """(country, US state) filters to try, from the argument or the qualifier in the text."""
    if country:
        code = gaz.country_code(country)
        if code is None:
            raise ToolInputError(
                f"Unknown country '{country}'.",
                hint="Give an ISO-2 code ('ES') or a country name in English or French.",
            )
        state = gaz.state_code(qualifier) if qualifier and code == "US" else None
        return [("US", state), (code, None)] if state else [(code, None)]  # "Greenville, California" + US
    if qualifier is None:
        return []
    out: list[tuple[str | None, str | None]] = []
    if code := gaz.country_code(qualifier):
        out.append((code, None))
    if state := gaz.state_code(qualifier):
        out.append(("US", state))
    return out


def _lookup(gaz: Gazetteer, query: str, country: str | None) -> tuple[str, Candidates]:
    """First (folded name, candidates) that matches, trying qualifier filters then looser readings."""
    name, qualifier = split_qualifier(query)
    filters = _filters(gaz, country, qualifier)
    unfiltered = (None, None)
    if filters:
        attempts = [(v, f) for v in strip_prefixes(fold(name)) for f in filters]
        if country is None:  # a comma may belong to the name itself
            attempts += [(v, unfiltered) for v in strip_prefixes(fold(query))]
    else:  # no qualifier, or one that names no country ("Orihuela (Alicante)"): try without it too
        attempts = [(v, unfiltered) for v in strip_prefixes(fold(query)) + strip_prefixes(fold(name))]
    for key, (code, state) in attempts:
        cands = gaz.candidates(key, country=code, state=state)
        if cands.places:
            return key, cands
    key = (strip_prefixes(fold(name)) or [""])[-1]
    if not key:
        raise ToolInputError(f"No place name in '{query}'.", hint="Give a place name, coordinates or a bbox.")
    if filters and (elsewhere := gaz.candidates(key).places):
        found = ", ".join(f"{p.name} ({p.country_code})" for p in elsewhere[:5])
        raise ToolInputError(
            f"No place named '{name}' in {country or qualifier}; found: {found}.",
            hint="Check the country, or drop it to see all matches.",
        )
    suggestions = gaz.suggest(key)
    maybe = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    raise ToolInputError(
        f"Unknown place '{query}' in the offline gazetteer (towns of 1,000+ inhabitants, regions, countries, US "
        f"states, major lakes, rivers, bays and mountains).{maybe}",
        hint="Check the spelling, name a nearby larger town, or give coordinates ('lat, lon') or a bbox.",
    )


def _place_bbox(gaz: Gazetteer, place: Place, radius_km: float | None) -> tuple[BBox, float | None, list[str]]:
    """Bbox of a gazetteer place, its half-side when drawn around the point, and a caveat."""
    if place.bbox is not None and not radius_km and place.kind in FEATURE_KINDS:
        what = "its whole course" if place.kind == "river" else "the whole feature"
        caveat = (
            f"Approximate extent of the {place.kind} ({what}): a hand-curated box, not its outline; imagery inside "
            "the box may show land around it. Pass radius_km or a bbox to narrow it."
        )
        return place.bbox, None, [caveat]
    if place.bbox is not None and not radius_km and place.kind == "region":
        caveat = (
            "Approximate extent of the region: the padded box of its towns of 1,000+ inhabitants (GeoNames), not its "
            "boundary. Regions are usually larger than one scene: the analysis runs on the imagery inside it."
        )
        return place.bbox, None, [caveat]
    if place.bbox is not None and not radius_km:
        caveat = (
            f"Approximate bbox: padded extent of the {place.kind}'s GeoNames cities of {gaz.min_population:,}+ "
            "inhabitants; far larger than one scene, narrow it to a city or a bbox. The point is "
            + ("the capital." if place.kind == "country" else "the bbox centre.")
        )
        return place.bbox, None, [caveat]
    if radius_km:
        return bbox_around(place.lat, place.lon, radius_km), radius_km, []
    radius = radius_km_for_population(place.population)
    caveat = (
        f"Bbox is a ±{radius:.1f} km square sized from population (urban extent at "
        f"{URBAN_DENSITY_PER_KM2:,.0f} inhabitants/km², clamped {MIN_CITY_RADIUS_KM:g}-{MAX_CITY_RADIUS_KM:g} km), "
        "not the administrative boundary; pass radius_km to change it."
    )
    return bbox_around(place.lat, place.lon, radius), radius, [caveat]


def resolve_place(query: str, country: str | None = None, *, radius_km: float | None = None) -> GeocodeResult:
    """Resolve a place phrase offline, without raising on ambiguity (the planner inspects ``alternatives``).

    Args:
        query: name, coordinates, bbox or GeoJSON (see :class:`GeocodeInput`).
        country: ISO-2 code or country name to filter on.
        radius_km: half-side of the bbox around a city or point (default: sized from population).

    Returns:
        The best match; ``ambiguous`` is True when the name fits places in different countries of similar
        population (e.g. Valencia, Spain vs Valencia, Venezuela).

    Raises:
        ToolInputError: unknown place (with suggestions), unknown country, malformed geometry.
    """
    if (geometry := parse_geometry(query)) is not None:
        return _from_geometry(geometry, radius_km)
    gaz = get_gazetteer()
    key, cands = _lookup(gaz, query, country)
    best = cands.places[0]
    bbox, radius, notes = _place_bbox(gaz, best, radius_km)
    return GeocodeResult(
        name=best.name,
        country_code=best.country_code,
        country=gaz.country_name(best.country_code),
        lat=round(best.lat, 5),
        lon=round(best.lon, 5),
        bbox=bbox,
        population=best.population if best.kind in ("city", "country", "region") else None,
        kind=best.kind,
        ambiguous=cands.ambiguous,
        alternatives=[gaz.option(p) for p in cands.places[1:6]],
        matched_text=key,
        radius_km=round(radius, 2) if radius else None,
        notes=notes,
    )


def _online(query: str, country: str | None, *, radius_km: float | None, timeout_s: float) -> GeocodeResult | None:
    """Nominatim through geopy; None when it finds nothing.

    Raises:
        ConfigError: geopy is not installed.
        UpstreamError: the service failed or timed out.
    """
    try:
        from geopy.exc import GeopyError
        from geopy.geocoders import Nominatim
    except ImportError as exc:
        raise ConfigError(
            "GEOVIGIE_GEOCODER=nominatim needs geopy, which is not installed.",
            hint="Run `pip install geovigie[online]`, or set GEOVIGIE_GEOCODER=offline.",
        ) from exc
    codes = get_gazetteer().country_code(country) if country else None
    try:
        locations = Nominatim(user_agent="geovigie", timeout=timeout_s).geocode(
            query, exactly_one=False, limit=6, addressdetails=True, language="en", country_codes=codes
        )
    except GeopyError as exc:
        raise UpstreamError(f"Nominatim geocoding failed: {exc}.", hint="Retry later or use coordinates.") from exc
    if not locations:
        return None
    first, address = locations[0], locations[0].raw.get("address", {})
    lat, lon = float(first.latitude), float(first.longitude)
    south, north, west, east = (float(v) for v in first.raw["boundingbox"])
    try:
        bbox = bbox_around(lat, lon, radius_km) if radius_km else validate_bbox((west, south, east, north))
    except ToolInputError:  # a point-like OSM node, or a box across the antimeridian
        bbox = bbox_around(lat, lon, DEFAULT_POINT_RADIUS_KM)
    return GeocodeResult(
        name=str(first.raw.get("name") or first.address),
        country_code=str(address.get("country_code", "")).upper() or None,
        country=address.get("country"),
        lat=lat,
        lon=lon,
        bbox=bbox,
        kind=_osm_kind(first.raw),
        alternatives=[_osm_option(loc) for loc in locations[1:]],
        matched_text=query,
        notes=[f"Nominatim (OpenStreetMap): {first.address}. Bbox is the OSM object's extent."],
        source="nominatim",
    )


def _osm_kind(raw: dict[str, Any]) -> PlaceKind | Literal["place"]:
    kind = str(raw.get("addresstype", ""))
    if kind in ("country", "state"):
        return kind  # type: ignore[return-value]
    return "city" if kind in ("city", "town", "village", "municipality") else "place"


def _osm_option(loc: Any) -> PlaceOption:
    address = loc.raw.get("address", {})
    kind = _osm_kind(loc.raw)
    return PlaceOption(
        name=str(loc.raw.get("name") or loc.address),
        kind="city" if kind == "place" else kind,
        country_code=str(address.get("country_code", "")).upper(),
        country=str(address.get("country", "")),
        lat=float(loc.latitude),
        lon=float(loc.longitude),
    )


def _summary(r: GeocodeResult) -> str:
    where = f"{r.name} ({r.country_code})" if r.country_code else r.name
    box = "[" + ", ".join(f"{v:.4f}" for v in r.bbox) + "]"
    size = ""
    if r.radius_km and r.population:
        size = f" (radius ~{r.radius_km:.0f} km from population {r.population:,})"
    elif r.radius_km:
        size = f" (±{r.radius_km:g} km)"
    text = f"{where}: {r.lat:.4f}, {r.lon:.4f}; bbox {box}{size}."
    if r.alternatives:
        text += " Alternatives: " + ", ".join(f"{a.name} ({a.country_code})" for a in r.alternatives[:4]) + "."
    return text


def _ambiguity_error(result: GeocodeResult) -> AmbiguousPlaceError:
    options = [(result.name, result.country_code or "", result.country or "", result.population)]
    options += [(a.name, a.country_code, a.country, a.population) for a in result.alternatives]
    listed = "; ".join(f"{n} ({cc}, {c}, pop. {p:,})" if p else f"{n} ({cc}, {c})" for n, cc, c, p in options)
    examples = " or ".join(f"'{n}, {c}'" for n, _, c, _ in options[:2])
    return AmbiguousPlaceError(
        f"'{result.matched_text}' is ambiguous: {listed}.",
        hint=f"Ask which one is meant, then add the country: query={examples} (or country='{result.country_code}').",
    )


@geo_tool(name="geocode", input_model=GeocodeInput)
def geocode(args: GeocodeInput, ctx: ToolContext) -> ToolOutput[GeocodeResult]:
    """Find where a place is: its point, a bbox sized to it, its country and other places of that name.

    Use it first whenever the user names a place, to get the bbox that imagery tools need. Accepts French
    or English names with phrasing such as "near X", "port of X", "près de X", "le port du Havre",
    "X, Spain", "X en Espagne"; raw coordinates ("38.08, -0.94", "45.87N 14.56E"); a bbox
    "west,south,east,north"; or a GeoJSON geometry. Knows towns of 1,000+ inhabitants, regions and
    departments ("Gironde", "Bretagne", "Andalousie"), countries, US states and major lakes, rivers, bays,
    deltas, mountains and forests ("Lac Léman", "la Loire", "Bassin d'Arcachon", "Etna"); ``kind`` says which.
    A city's bbox is sized from its population (3-25 km half-side; set radius_km to override); regions,
    countries and natural features get an approximate extent that is usually larger than one scene.
    If the name fits several places in different countries (Valencia: Spain or Venezuela) it fails
    with the options: ask the user or retry with the country; a state, province or département the user
    names ("Greenville, California") goes in ``region``. Returns name, country, lat/lon, bbox
    (west, south, east, north), population and alternatives.
    """
    result: GeocodeResult | None = None
    notes: list[str] = []
    query = f"{args.query}, {args.region}" if args.region else args.query  # the qualifier reader settles it
    if ctx.settings.geocoder == "nominatim" and parse_geometry(args.query) is None:
        try:
            result = _online(query, args.country, radius_km=args.radius_km, timeout_s=ctx.settings.stac_timeout_s)
            if result is None:
                notes.append("Nominatim found nothing; used the offline gazetteer.")
        except UpstreamError as exc:
            notes.append(f"{exc.message} Used the offline gazetteer instead.")
            try:
                result = resolve_place(query, args.country, radius_km=args.radius_km)
            except ToolInputError as offline_exc:
                raise UpstreamError(f"{exc.message} {offline_exc.message}", hint=exc.hint) from offline_exc
    if result is None:
        try:
            result = resolve_place(query, args.country, radius_km=args.radius_km)
        except ToolInputError:
            if not args.region:
                raise
            result = resolve_place(args.query, args.country, radius_km=args.radius_km)  # a region it lacks
            notes.append(f"Region '{args.region}' not found in the offline gazetteer; ignored.")
    if result.ambiguous:
        raise _ambiguity_error(result)
    gaz_version = get_gazetteer().version
    method = {"geonames": f"offline gazetteer ({gaz_version})", "nominatim": "Nominatim (OpenStreetMap) via geopy"}
    population = result.population
    figures = [Figure(name="population", value=float(population), unit="inhabitants")] if population else []
    return ToolOutput[GeocodeResult](
        summary=_summary(result),
        result=result,
        provenance=Provenance(
            tool="geocode",
            method=method.get(result.source, "parsed from the query"),
            crs="EPSG:4326",
            aoi_bbox=result.bbox,
            parameters=args.model_dump(),
            sources=[result.source] if result.source != "user input" else [],
        ),
        figures=figures,
        notes=notes + result.notes,
    )
