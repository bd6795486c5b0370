"""The demo organization: a plumbing, HVAC, electrical and cleaning business with a realistic catalog,
customers and a year of invoices in every status.

Contract:
- Deterministic: the same arguments (and the same `today`) always produce the same data. Every random
  choice comes from `random.Random` seeded with a fixed string, never from the global generator.
- Prefix-stable: asking for fewer items or customers yields the first ones of a longer run, so a
  second run with a larger count only adds.
- Idempotent: `seed_demo` creates what is missing and never changes or duplicates what exists. Items are
  recognised by code, customers by email, the user by username; invoices are topped up to the asked
  number (the organization's invoice count), each one created, sent and paid through the invoice
  services inside one transaction, so an interrupted run resumes where it stopped.
- Items and customers are bulk-inserted, without announcements: a new organization has no provider
  connection to tell, and if a later run adds to one that has, the sync sweep finds the new records
  (out of date is a state, not a message). Invoices and payments go through invoices.services, so
  numbers, totals, statuses and announcements are exactly what a user's clicks would produce.
"""

import datetime
import itertools
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction

from catalog.models import Item
from invoices import services as invoice_services
from invoices.models import Customer, Invoice, Payment

from .models import Membership, Organization

SEED = "blueclerk-demo-v1"
DEMO_NAME = "Demo Plumbing & HVAC"
CENT = Decimal("0.01")

# The catalog ----------------------------------------------------------------------------------------
# Each entry: (trade, kind, base name, price range in dollars, qualifier lists). Names are the base
# followed by one choice of every qualifier list in parentheses, e.g. "Water heater flush (40 gal)".

GAL = ["30 gal", "40 gal", "50 gal", "75 gal", "80 gal"]
WHEN = ["standard hours", "after-hours", "weekend", "emergency"]
STORIES = ["1 story", "2 story", "3 story"]
PIPE = ["1/2 in", "3/4 in", "1 in", "1-1/4 in"]
DRAIN = ["1-1/2 in", "2 in", "3 in", "4 in"]
TONS = ["1.5 ton", "2 ton", "2.5 ton", "3 ton", "3.5 ton", "4 ton", "5 ton"]
FILTERS = ["14x20x1", "16x20x1", "16x25x1", "20x20x1", "20x25x1", "16x25x4", "20x25x4", "20x25x5"]
AMPS = ["15 A", "20 A", "30 A", "40 A", "50 A", "60 A"]
BRANDS_ELEC = ["Square D", "Eaton", "Siemens", "Leviton"]
SQFT = ["up to 1,000 sq ft", "1,000-2,000 sq ft", "2,000-3,000 sq ft", "3,000-4,000 sq ft", "over 4,000 sq ft"]

CATALOG = [
    # Plumbing services
    ("plumbing", "service", "Water heater flush", (95, 160), [GAL, ["gas", "electric"]]),
    (
        "plumbing",
        "service",
        "Water heater installation",
        (1200, 2600),
        [GAL, ["gas", "electric"], ["standard hours", "same day"]],
    ),
    ("plumbing", "service", "Water heater repair", (150, 420), [GAL, ["gas", "electric"], WHEN]),
    ("plumbing", "service", "Tankless water heater descale", (175, 260), [["indoor", "outdoor"], WHEN]),
    (
        "plumbing",
        "service",
        "Drain cleaning",
        (99, 260),
        [["kitchen sink", "bathroom sink", "tub", "shower", "floor drain", "laundry"], WHEN],
    ),
    ("plumbing", "service", "Main line hydro-jetting", (350, 750), [["up to 50 ft", "50-100 ft", "over 100 ft"], WHEN]),
    ("plumbing", "service", "Sewer camera inspection", (199, 399), [["up to 50 ft", "50-100 ft", "over 100 ft"], WHEN]),
    ("plumbing", "service", "Toilet installation", (225, 480), [["standard", "comfort height", "wall-hung", "dual flush"], WHEN]),
    (
        "plumbing",
        "service",
        "Toilet repair",
        (95, 240),
        [["fill valve", "flapper", "wax ring", "flush handle", "supply line"], WHEN],
    ),
    ("plumbing", "service", "Faucet installation", (150, 320), [["kitchen", "bathroom", "bar", "utility", "tub"], WHEN]),
    ("plumbing", "service", "Faucet repair", (85, 190), [["kitchen", "bathroom", "bar", "utility", "tub"], WHEN]),
    ("plumbing", "service", "Garbage disposal installation", (185, 420), [["1/3 hp", "1/2 hp", "3/4 hp", "1 hp"], WHEN]),
    (
        "plumbing",
        "service",
        "Sump pump replacement",
        (450, 1100),
        [["1/4 hp", "1/3 hp", "1/2 hp", "3/4 hp"], ["pedestal", "submersible"], WHEN],
    ),
    ("plumbing", "service", "Leak detection", (150, 450), [["kitchen", "bathroom", "crawl space", "slab", "yard line"], WHEN]),
    ("plumbing", "service", "Pipe repair", (140, 520), [["copper", "PEX", "galvanized", "CPVC", "cast iron"], PIPE, WHEN]),
    (
        "plumbing",
        "service",
        "Whole-house repipe",
        (4500, 12500),
        [["PEX", "copper"], ["1 bath", "2 bath", "3 bath", "4 bath"], STORIES],
    ),
    ("plumbing", "service", "Backflow test", (75, 150), [["residential", "commercial"], PIPE]),
    (
        "plumbing",
        "service",
        "Gas line installation",
        (300, 1200),
        [["range", "dryer", "water heater", "grill", "fireplace", "generator"], ["up to 10 ft", "10-25 ft", "25-50 ft"]],
    ),
    ("plumbing", "service", "Shower valve replacement", (280, 650), [["single handle", "two handle", "thermostatic"], WHEN]),
    (
        "plumbing",
        "service",
        "Water softener installation",
        (650, 1800),
        [["32,000 grain", "48,000 grain", "64,000 grain", "80,000 grain"], ["standard hours", "same day"]],
    ),
    ("plumbing", "service", "Expansion tank installation", (220, 420), [["2 gal", "4.5 gal", "5 gal"], WHEN]),
    ("plumbing", "service", "Pressure reducing valve replacement", (260, 520), [PIPE, WHEN]),
    ("plumbing", "service", "Hose bib replacement", (120, 260), [["standard", "frost-free"], PIPE[:2], WHEN]),
    # Plumbing parts
    ("plumbing", "product", "PEX pipe", (6, 95), [PIPE, ["red", "blue", "white"], ["10 ft", "25 ft", "100 ft"]]),
    ("plumbing", "product", "Copper pipe", (18, 160), [PIPE, ["type L", "type M"], ["2 ft", "5 ft", "10 ft"]]),
    ("plumbing", "product", "Copper elbow 90°", (2, 14), [PIPE, ["sweat", "press"]]),
    ("plumbing", "product", "Copper tee", (3, 18), [PIPE, ["sweat", "press"]]),
    ("plumbing", "product", "Ball valve", (9, 65), [PIPE, ["brass", "PVC", "stainless"], ["threaded", "sweat", "push-fit"]]),
    ("plumbing", "product", "PVC pipe", (4, 48), [DRAIN, ["schedule 40", "schedule 80"], ["2 ft", "5 ft", "10 ft"]]),
    ("plumbing", "product", "P-trap", (6, 28), [DRAIN[:2], ["PVC", "ABS", "chrome brass"]]),
    ("plumbing", "product", "Toilet flapper", (5, 22), [["2 in", "3 in", "4 in"], ["universal", "adjustable", "water-saving"]]),
    ("plumbing", "product", "Wax ring", (4, 15), [["standard", "extra thick", "with horn"], ["3 in", "4 in"]]),
    (
        "plumbing",
        "product",
        "Supply line",
        (6, 24),
        [["toilet", "faucet", "dishwasher", "ice maker"], ["12 in", "16 in", "20 in", "24 in"], ["braided", "PEX"]],
    ),
    ("plumbing", "product", "Water heater anode rod", (25, 65), [["magnesium", "aluminum", "powered"], ["33 in", "44 in"]]),
    (
        "plumbing",
        "product",
        "Shutoff valve",
        (8, 32),
        [["quarter-turn", "multi-turn"], ["compression", "push-fit", "sweat"], PIPE[:2]],
    ),
    # HVAC services
    ("hvac", "service", "AC tune-up", (89, 189), [["central", "heat pump", "mini-split"], WHEN]),
    ("hvac", "service", "Furnace tune-up", (89, 189), [["gas", "electric", "oil"], WHEN]),
    (
        "hvac",
        "service",
        "AC repair",
        (150, 650),
        [["capacitor", "contactor", "fan motor", "refrigerant leak", "thermostat wiring"], WHEN],
    ),
    (
        "hvac",
        "service",
        "Furnace repair",
        (150, 700),
        [["igniter", "flame sensor", "blower motor", "inducer motor", "control board"], WHEN],
    ),
    ("hvac", "service", "AC installation", (3800, 8900), [TONS, ["14 SEER2", "16 SEER2", "18 SEER2"]]),
    ("hvac", "service", "Heat pump installation", (4500, 11000), [TONS, ["15 SEER2", "17 SEER2", "20 SEER2"]]),
    (
        "hvac",
        "service",
        "Furnace installation",
        (2800, 6800),
        [["60,000 BTU", "80,000 BTU", "100,000 BTU", "120,000 BTU"], ["80% AFUE", "96% AFUE", "98% AFUE"]],
    ),
    (
        "hvac",
        "service",
        "Mini-split installation",
        (1800, 5200),
        [["9,000 BTU", "12,000 BTU", "18,000 BTU", "24,000 BTU"], ["1 zone", "2 zone", "3 zone", "4 zone"]],
    ),
    (
        "hvac",
        "service",
        "Refrigerant recharge",
        (180, 620),
        [["R-410A", "R-454B", "R-32"], ["1 lb", "2 lb", "3 lb", "4 lb", "5 lb"]],
    ),
    (
        "hvac",
        "service",
        "Ductwork repair",
        (250, 1400),
        [["attic", "crawl space", "basement", "garage"], ["up to 10 ft", "10-25 ft", "25-50 ft"]],
    ),
    (
        "hvac",
        "service",
        "Thermostat installation",
        (120, 380),
        [["programmable", "smart", "Wi-Fi", "line voltage"], ["1 stage", "2 stage", "heat pump"]],
    ),
    (
        "hvac",
        "service",
        "Maintenance plan",
        (150, 420),
        [["silver", "gold", "platinum"], ["1 system", "2 systems", "3 systems"], ["annual", "semiannual"]],
    ),
    # HVAC parts
    ("hvac", "product", "Air filter", (8, 55), [FILTERS, ["MERV 8", "MERV 11", "MERV 13"]]),
    (
        "hvac",
        "product",
        "Run capacitor",
        (18, 65),
        [["25/5 µF", "30/5 µF", "35/5 µF", "40/5 µF", "45/5 µF", "55/5 µF"], ["370 V", "440 V"]],
    ),
    ("hvac", "product", "Contactor", (22, 60), [["single-pole", "double-pole"], ["30 A", "40 A"], ["24 V coil", "120 V coil"]]),
    (
        "hvac",
        "product",
        "Condenser fan motor",
        (110, 320),
        [["1/6 hp", "1/5 hp", "1/4 hp", "1/3 hp", "1/2 hp"], ["825 rpm", "1075 rpm"]],
    ),
    ("hvac", "product", "Hot surface igniter", (25, 85), [["silicon carbide", "silicon nitride"], ["80 V", "120 V"]]),
    ("hvac", "product", "Flex duct", (20, 140), [["4 in", "6 in", "8 in", "10 in", "12 in"], ["R-6", "R-8"], ["25 ft"]]),
    ("hvac", "product", "Condensate pump", (60, 160), [["115 V", "230 V"], ["with safety switch", "without safety switch"]]),
    # Electrical services
    ("electrical", "service", "Outlet installation", (95, 240), [["standard", "GFCI", "USB", "20 A dedicated", "outdoor"], WHEN]),
    (
        "electrical",
        "service",
        "Light fixture installation",
        (110, 420),
        [["ceiling", "wall sconce", "recessed", "chandelier", "pendant", "exterior"], WHEN],
    ),
    ("electrical", "service", "Ceiling fan installation", (150, 380), [["existing box", "new box", "high ceiling"], WHEN]),
    (
        "electrical",
        "service",
        "Panel upgrade",
        (1800, 4500),
        [["100 A", "150 A", "200 A", "400 A"], ["same location", "relocated"]],
    ),
    ("electrical", "service", "Circuit breaker replacement", (140, 380), [AMPS, ["single-pole", "double-pole"], WHEN]),
    (
        "electrical",
        "service",
        "EV charger installation",
        (650, 2200),
        [["Level 2 32 A", "Level 2 40 A", "Level 2 48 A"], ["garage", "driveway", "carport"]],
    ),
    (
        "electrical",
        "service",
        "Whole-home surge protector installation",
        (350, 650),
        [["Type 1", "Type 2"], ["standard hours", "same day"]],
    ),
    (
        "electrical",
        "service",
        "Generator hookup",
        (600, 2800),
        [["portable interlock", "transfer switch", "standby"], ["7 kW", "14 kW", "22 kW"]],
    ),
    ("electrical", "service", "Electrical troubleshooting", (120, 320), [["first hour", "each additional hour"], WHEN]),
    (
        "electrical",
        "service",
        "Smoke detector installation",
        (75, 160),
        [["battery", "hardwired", "combo CO"], ["1 unit", "3 units", "5 units"]],
    ),
    # Electrical parts
    (
        "electrical",
        "product",
        "Circuit breaker",
        (9, 120),
        [AMPS, ["single-pole", "double-pole", "GFCI", "AFCI"], BRANDS_ELEC[:3]],
    ),
    (
        "electrical",
        "product",
        "NM-B cable",
        (18, 260),
        [["14/2", "12/2", "10/2", "14/3", "12/3", "10/3"], ["25 ft", "50 ft", "100 ft", "250 ft"]],
    ),
    (
        "electrical",
        "product",
        "Receptacle",
        (2, 32),
        [["15 A", "20 A"], ["duplex", "GFCI", "USB", "tamper-resistant"], ["white", "ivory", "black"]],
    ),
    (
        "electrical",
        "product",
        "Light switch",
        (2, 45),
        [["single-pole", "3-way", "4-way", "dimmer", "smart"], ["white", "ivory", "black"], [*BRANDS_ELEC[3:], "Lutron"]],
    ),
    ("electrical", "product", "Wire nut assortment", (6, 24), [["25 pack", "100 pack"], ["small", "medium", "large", "mixed"]]),
    (
        "electrical",
        "product",
        "LED recessed light",
        (12, 48),
        [["4 in", "6 in"], ["2700 K", "3000 K", "4000 K", "5000 K"], ["canless", "retrofit"]],
    ),
    # Cleaning services
    (
        "cleaning",
        "service",
        "Duct cleaning",
        (299, 899),
        [["up to 10 vents", "11-15 vents", "16-20 vents", "21-30 vents"], STORIES[:2]],
    ),
    ("cleaning", "service", "Dryer vent cleaning", (99, 219), [STORIES, ["wall exit", "roof exit"]]),
    (
        "cleaning",
        "service",
        "Carpet cleaning",
        (89, 420),
        [["1 room", "2 rooms", "3 rooms", "4 rooms", "5 rooms", "whole house"], ["steam", "low-moisture"]],
    ),
    (
        "cleaning",
        "service",
        "Window cleaning",
        (120, 520),
        [
            ["up to 10 windows", "11-20 windows", "21-30 windows", "31-40 windows"],
            ["interior", "exterior", "interior & exterior"],
            STORIES,
        ],
    ),
    ("cleaning", "service", "Deep cleaning", (180, 760), [SQFT, ["move-in", "move-out", "seasonal"]]),
    ("cleaning", "service", "Post-construction cleaning", (250, 1400), [SQFT, ["rough", "final", "touch-up"]]),
    ("cleaning", "service", "Office cleaning", (95, 640), [SQFT, ["weekly", "biweekly", "monthly", "one-time"]]),
    (
        "cleaning",
        "service",
        "Pressure washing",
        (150, 650),
        [["driveway", "patio", "deck", "siding", "fence"], ["small", "medium", "large"]],
    ),
    ("cleaning", "service", "Gutter cleaning", (120, 380), [["up to 100 ft", "100-200 ft", "over 200 ft"], STORIES]),
    ("cleaning", "product", "Coil cleaner", (9, 24), [["foaming", "no-rinse", "acid-free"], ["18 oz", "1 gal"]]),
    (
        "cleaning",
        "product",
        "Cleaning concentrate",
        (8, 120),
        [
            ["degreaser", "glass cleaner", "disinfectant", "carpet shampoo", "floor finish"],
            ["32 oz", "1 gal", "5 gal"],
            ["standard", "eco"],
        ],
    ),
    # Equipment and fixtures sold with the work
    (
        "plumbing",
        "product",
        "Water heater",
        (650, 2400),
        [
            GAL,
            ["gas", "electric"],
            ["Rheem", "A. O. Smith", "Bradford White", "State"],
            ["6 yr warranty", "9 yr warranty", "12 yr warranty"],
        ],
    ),
    (
        "plumbing",
        "product",
        "Faucet",
        (90, 480),
        [
            ["kitchen pull-down", "bathroom single-hole", "bathroom widespread", "bar", "utility"],
            ["chrome", "brushed nickel", "matte black", "oil-rubbed bronze", "stainless"],
            ["Moen", "Delta", "Kohler", "Pfister"],
        ],
    ),
    (
        "plumbing",
        "product",
        "Toilet",
        (180, 720),
        [
            ["standard", "comfort height", "dual flush", "one-piece"],
            ["round", "elongated"],
            ["Kohler", "American Standard", "TOTO", "Gerber"],
            ["white", "biscuit"],
        ],
    ),
    (
        "plumbing",
        "product",
        "Garbage disposal",
        (110, 420),
        [["1/3 hp", "1/2 hp", "3/4 hp", "1 hp"], ["InSinkErator", "Waste King", "Moen"]],
    ),
    (
        "plumbing",
        "product",
        "Sump pump",
        (140, 520),
        [["1/4 hp", "1/3 hp", "1/2 hp", "3/4 hp"], ["pedestal", "submersible"], ["Zoeller", "Wayne", "Liberty"]],
    ),
    (
        "plumbing",
        "product",
        "Water softener",
        (450, 1500),
        [["32,000 grain", "48,000 grain", "64,000 grain", "80,000 grain"], ["Culligan", "Fleck", "Morton"]],
    ),
    (
        "plumbing",
        "product",
        "PVC fitting",
        (1, 18),
        [["elbow 90°", "elbow 45°", "tee", "wye", "coupling", "cleanout adapter", "cap"], DRAIN, ["schedule 40", "DWV"]],
    ),
    (
        "plumbing",
        "product",
        "PEX fitting",
        (1, 16),
        [["elbow", "tee", "coupling", "adapter", "stub-out"], PIPE, ["crimp", "expansion", "push-fit"]],
    ),
    (
        "plumbing",
        "product",
        "Brass fitting",
        (3, 24),
        [["nipple", "union", "bushing", "coupling", "cap"], PIPE, ["lead-free", "standard"]],
    ),
    (
        "hvac",
        "product",
        "Condenser",
        (1900, 5200),
        [TONS, ["14 SEER2", "16 SEER2", "18 SEER2"], ["Carrier", "Trane", "Lennox", "Goodman", "Rheem"]],
    ),
    (
        "hvac",
        "product",
        "Heat pump",
        (2400, 6400),
        [TONS, ["15 SEER2", "17 SEER2", "20 SEER2"], ["Carrier", "Trane", "Lennox", "Goodman", "Rheem"]],
    ),
    (
        "hvac",
        "product",
        "Gas furnace",
        (1100, 3800),
        [
            ["60,000 BTU", "80,000 BTU", "100,000 BTU", "120,000 BTU"],
            ["80% AFUE", "96% AFUE", "98% AFUE"],
            ["Carrier", "Trane", "Lennox", "Goodman", "Rheem"],
        ],
    ),
    (
        "hvac",
        "product",
        "Thermostat",
        (25, 280),
        [
            ["Honeywell", "ecobee", "Google Nest", "Emerson", "Lux"],
            ["non-programmable", "programmable", "smart"],
            ["1H/1C", "2H/2C", "heat pump"],
        ],
    ),
    ("hvac", "product", "Air filter multipack", (30, 160), [FILTERS, ["MERV 8", "MERV 11", "MERV 13"], ["6 pack", "12 pack"]]),
    (
        "hvac",
        "product",
        "Duct fitting",
        (4, 45),
        [["boot", "elbow", "wye", "takeoff", "reducer"], ["4 in", "6 in", "8 in", "10 in", "12 in"], ["galvanized", "insulated"]],
    ),
    (
        "electrical",
        "product",
        "Ceiling fan",
        (90, 420),
        [
            ["42 in", "52 in", "60 in"],
            ["white", "brushed nickel", "matte black", "bronze", "wood"],
            ["with light", "without light"],
        ],
    ),
    (
        "electrical",
        "product",
        "Light fixture",
        (35, 380),
        [
            ["flush mount", "semi-flush", "pendant", "vanity 2-light", "vanity 3-light", "wall sconce", "outdoor lantern"],
            ["white", "brushed nickel", "matte black", "bronze", "brass"],
        ],
    ),
    (
        "electrical",
        "product",
        "Conduit",
        (4, 160),
        [
            ["EMT", "PVC", "flexible metal", "liquid-tight"],
            ["1/2 in", "3/4 in", "1 in", "1-1/4 in"],
            ["10 ft", "25 ft", "100 ft"],
        ],
    ),
    (
        "electrical",
        "product",
        "Electrical box",
        (1, 14),
        [
            ["single-gang", "double-gang", "triple-gang", "round ceiling", "fan-rated"],
            ["plastic", "metal"],
            ["new work", "old work"],
        ],
    ),
]

# Services are sold to three kinds of customer; commercial and multi-family work is priced higher.
SEGMENTS = [("", Decimal("1.00")), ("Commercial ", Decimal("1.25")), ("Multi-family ", Decimal("1.15"))]

TRADE_CODES = {"plumbing": "PLB", "hvac": "HVC", "electrical": "ELE", "cleaning": "CLN"}
TRADE_NAMES = {"plumbing": "Plumbing", "hvac": "HVAC", "electrical": "Electrical", "cleaning": "Cleaning"}


@dataclass(frozen=True)
class DemoItem:
    name: str
    code: str
    description: str
    unit_price: Decimal
    kind: str
    trade: str


def _price(rng, low, high, step, factor=Decimal("1.00")):
    """A price between low and high (times factor), rising with the qualifiers' positions, ending in .00, .50, .95, .99 or 4/9."""
    base = (low + (high - low) * min(1.0, step * 0.12 + rng.random() * 0.35)) * float(factor)
    if base >= 100:
        return Decimal(int(base / 5) * 5 + rng.choice((0, 4, 9)) - 5).quantize(CENT)
    return (Decimal(int(base)) + Decimal(rng.choice(("0.00", "0.50", "0.95", "0.99")))).quantize(CENT)


def _lower_first(text):
    """'Water heater' -> 'water heater', but 'AC tune-up' and 'PEX pipe' keep their acronym."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def item_universe():
    """Every distinct catalog item the demo knows (about 4,700), in a fixed order."""
    items = []
    counters = dict.fromkeys(TRADE_CODES, 0)
    for trade, kind, base, (low, high), qualifiers in CATALOG:
        segments = SEGMENTS if kind == "service" else SEGMENTS[:1]
        for (segment, factor), choice in itertools.product(segments, itertools.product(*qualifiers)):
            counters[trade] += 1
            what = ", ".join(choice)
            name = f"{segment}{_lower_first(base) if segment else base} ({what})"
            rng = random.Random(f"{SEED}:item:{name}")
            step = sum(q.index(c) for q, c in zip(qualifiers, choice, strict=True))
            if kind == "service":
                code = f"{TRADE_CODES[trade]}-S{counters[trade]:04d}"
                description = f"{TRADE_NAMES[trade]}: {_lower_first(name)}. Labor and standard materials included."
            else:
                code = f"{TRADE_CODES[trade]}-P{counters[trade]:04d}"
                description = f"{TRADE_NAMES[trade]} part: {_lower_first(base)}, {what}."
            items.append(
                DemoItem(
                    name=name,
                    code=code,
                    description=description,
                    unit_price=_price(rng, low, high, step, factor),
                    kind=kind,
                    trade=trade,
                )
            )
    return items


def demo_items(count):
    """`count` distinct items: a fixed shuffle of the universe, so any count is a prefix of a larger one."""
    universe = item_universe()
    if count > len(universe):
        raise ValueError(f"The demo catalog has {len(universe)} distinct items; {count} were asked for.")
    random.Random(f"{SEED}:catalog-order").shuffle(universe)
    return universe[:count]


# Customers ------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret "
    "Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa "
    "George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy Jacob "
    "Kathleen Gary Angela Nicholas Dorothy Eric Shirley Jonathan Emma Luis Sofia Mei Priya Omar Fatima Hiroshi Ana"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Patel Kim Chen Okafor Schmidt Novak O'Brien Kowalski Haddad Tanaka"
).split()
COMPANY_FIRST = (
    "Riverside Oakwood Summit Lakeview Maple Cedar Harbor Pinecrest Northgate Brookside Willow Granite Prairie "
    "Silverline Meadowbrook Elmwood Highland Bayview Sunset Redwood Stonebridge Fairview Westfield Ironwood"
).split()
COMPANY_KIND = [
    "Property Management",
    "Dental",
    "Family Practice",
    "Apartments",
    "Coffee Roasters",
    "Bakery",
    "Veterinary Clinic",
    "Self Storage",
    "Auto Repair",
    "Realty",
    "Fitness",
    "Montessori School",
    "Brewing Co.",
    "HOA",
    "Senior Living",
    "Hardware",
    "Law Office",
    "Diner",
]
STREETS = (
    "Maple Oak Pine Cedar Elm Walnut Chestnut Willow Birch Spruce Hickory Main Church Mill Park Lake Hill "
    "Sunset Highland Franklin Washington Lincoln Jefferson Madison Jackson Ridge Valley Meadow Forest Spring"
).split()
STREET_KINDS = ["St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl"]
# City, state, ZIP prefix, area code.
CITIES = [
    ("Springfield", "IL", "627", "217"),
    ("Columbus", "OH", "432", "614"),
    ("Austin", "TX", "787", "512"),
    ("Raleigh", "NC", "276", "919"),
    ("Boise", "ID", "837", "208"),
    ("Madison", "WI", "537", "608"),
    ("Tucson", "AZ", "857", "520"),
    ("Richmond", "VA", "232", "804"),
    ("Spokane", "WA", "992", "509"),
    ("Omaha", "NE", "681", "402"),
    ("Knoxville", "TN", "379", "865"),
    ("Des Moines", "IA", "503", "515"),
]
EMAIL_DOMAINS = ["example.com", "example.net", "example.org"]


def _slugify(text):
    return "".join(ch for ch in text.lower() if ch.isalnum())


def demo_customers(count):
    """`count` customer dicts (fields of invoices.Customer); emails are unique and at reserved domains."""
    rng = random.Random(f"{SEED}:customers")
    customers, emails, names = [], set(), set()
    while len(customers) < count:
        city, region, zip_prefix, area = rng.choice(CITIES)
        if rng.random() < 0.3:
            company = f"{rng.choice(COMPANY_FIRST)} {rng.choice(COMPANY_KIND)}"
            contact = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            display_name = company
            local = f"{contact.split()[0].lower()}.{_slugify(contact.split()[1])}"
            domain = f"{_slugify(company)}.example.com"
        else:
            company = ""
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            display_name = f"{first} {last}"
            local = f"{first.lower()}.{_slugify(last)}"
            domain = rng.choice(EMAIL_DOMAINS)
        if display_name in names:
            # Two different households may share a name; the business tells them apart by street.
            display_name = f"{display_name} ({city})"
            if display_name in names:
                continue
        email = f"{local}@{domain}"
        n = 2
        while email in emails:
            email = f"{local}{n}@{domain}"
            n += 1
        names.add(display_name)
        emails.add(email)
        line2 = rng.choice(["", "", "", f"Suite {rng.randint(100, 450)}" if company else f"Apt {rng.randint(1, 40)}"])
        customers.append(
            {
                "display_name": display_name,
                "company": company,
                "email": email,
                # 555-0100..0199 are the numbers reserved for fiction.
                "phone": f"({area}) 555-01{rng.randint(0, 99):02d}",
                "billing_line1": f"{rng.randint(100, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}",
                "billing_line2": line2,
                "billing_city": city,
                "billing_region": region,
                "billing_postal_code": f"{zip_prefix}{rng.randint(1, 99):02d}",
                "billing_country": "US",
            }
        )
    return customers


# Invoices -------------------------------------------------------------------------------------------


@dataclass
class InvoicePlan:
    """What one demo invoice will be: its lines and what happens to it after it is created."""

    customer_index: int
    issue_date: datetime.date
    due_date: datetime.date
    lines: list  # [(item_index, quantity)]
    status: str
    payments: list = field(default_factory=list)  # [(date, fraction of total or None for the rest, method, reference)]
    notes: str = ""


NOTES = [
    "",
    "",
    "",
    "Thank you for your business!",
    "Gate code 4512. Dog in backyard.",
    "Warranty: 1 year parts and labor.",
    "Customer supplied fixture.",
    "Access through side door; call 15 minutes ahead.",
]


def _reference(rng, method):
    if method == Payment.Method.CHECK:
        return f"Check {rng.randint(1001, 9999)}"
    if method == Payment.Method.CARD:
        return f"Card ending {rng.randint(1000, 9999)}"
    if method == Payment.Method.BANK_TRANSFER:
        return f"ACH {rng.randint(100000, 999999)}"
    return ""


def demo_invoice_plans(count, *, customers, items, today):
    """`count` invoice plans over the past year, oldest first, in every status with full and partial payments.

    `items` are the DemoItems available; lines mostly use services, with some parts beside them.
    """
    rng = random.Random(f"{SEED}:invoices")
    services = [i for i, item in enumerate(items) if item.kind == "service"] or list(range(len(items)))
    supplies = [i for i, item in enumerate(items) if item.kind == "product" and item.unit_price < 200] or services
    equipment = [i for i, item in enumerate(items) if item.kind == "product" and item.unit_price >= 200] or services
    methods = [Payment.Method.CARD, Payment.Method.CARD, Payment.Method.CHECK, Payment.Method.BANK_TRANSFER, Payment.Method.CASH]
    plans = []
    for _ in range(count):
        age = int(rng.triangular(0, 365, 0))  # more recent work than old
        issue = today - datetime.timedelta(days=age)
        due = issue + datetime.timedelta(days=rng.choice((15, 30, 30, 30, 45)))
        # A visit: the main service, then supplies used, sometimes a unit installed or a second service.
        lines = [(rng.choice(services), 1)]
        for _ in range(rng.randint(1, 4)):
            kind = rng.random()
            if kind < 0.6:
                lines.append((rng.choice(supplies), rng.choice((1, 1, 2, 3, 4, 6, 10))))
            elif kind < 0.7:
                lines.append((rng.choice(equipment), 1))
            else:
                lines.append((rng.choice(services), 1))
        roll = rng.random()
        # Recent work is still being written up or waiting for payment; old work is mostly paid.
        if age <= 30 and roll < 0.45:
            status = Invoice.Status.DRAFT
        elif roll < 0.05:
            status = Invoice.Status.VOID
        elif roll < 0.05 + max(0.12, 0.8 - age / 90):
            status = Invoice.Status.SENT
        else:
            status = Invoice.Status.PAID
        plan = InvoicePlan(
            customer_index=rng.randrange(customers),
            issue_date=issue,
            due_date=due,
            lines=lines,
            status=status,
            notes=rng.choice(NOTES),
        )
        if status in (Invoice.Status.SENT, Invoice.Status.PAID):
            paid_on = min(today, issue + datetime.timedelta(days=rng.randint(0, 40)))
            method = rng.choice(methods)
            if status == Invoice.Status.PAID and rng.random() < 0.25:
                # A deposit, then the rest.
                first = min(today, issue + datetime.timedelta(days=rng.randint(0, 10)))
                plan.payments.append((first, rng.choice((0.25, 0.3, 0.5)), method, _reference(rng, method)))
                method = rng.choice(methods)
                plan.payments.append((max(first, paid_on), None, method, _reference(rng, method)))
            elif status == Invoice.Status.PAID:
                plan.payments.append((paid_on, None, method, _reference(rng, method)))
            elif rng.random() < 0.3:
                plan.payments.append((paid_on, rng.choice((0.2, 0.25, 0.4, 0.5)), method, _reference(rng, method)))
        plans.append(plan)
    plans.sort(key=lambda p: p.issue_date)
    return plans


# Seeding --------------------------------------------------------------------------------------------


@dataclass
class SeedReport:
    organization: Organization
    organization_created: bool = False
    user_created: bool = False
    password_reset: bool = False
    membership_created: bool = False
    items_created: int = 0
    items_existing: int = 0
    customers_created: int = 0
    customers_existing: int = 0
    invoices_created: int = 0
    invoices_existing: int = 0
    payments_created: int = 0

    def lines(self, username, password):
        org = self.organization
        return [
            f"Organization '{org.name}' (slug {org.slug}): {'created' if self.organization_created else 'already there'}",
            f"Login {username} / {password}: "
            + ("created" if self.user_created else "password reset" if self.password_reset else "already there")
            + (", added as owner" if self.membership_created else ""),
            f"Items: {self.items_created} created, {self.items_existing} already there",
            f"Customers: {self.customers_created} created, {self.customers_existing} already there",
            f"Invoices: {self.invoices_created} created ({self.payments_created} payments), {self.invoices_existing} already there",
        ]


def _ensure_user(report, *, organization, username, password):
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, email=f"{username}@example.com", first_name="Demo", last_name="Owner", is_staff=True)
        user.set_password(password)
        user.save()
        report.user_created = True
    else:
        # Only touch what is wrong, so a second run leaves the row as it was.
        changed = []
        if not user.check_password(password):
            user.set_password(password)
            changed.append("password")
            report.password_reset = True
        if not user.is_staff or not user.is_active:
            user.is_staff = user.is_active = True
            changed += ["is_staff", "is_active"]
        if changed:
            user.save(update_fields=changed)
    # Django admin shows a model to a non-superuser only with its model permissions; the admin itself
    # keeps every page scoped to the user's organizations.
    wanted = Permission.objects.filter(content_type__app_label__in=["blueclerk", "catalog", "invoices", "integrations"])
    missing = wanted.exclude(pk__in=user.user_permissions.values("pk"))
    if missing.exists():
        user.user_permissions.add(*missing)
    _, report.membership_created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": Membership.Role.OWNER}
    )
    return user


def _seed_items(report, organization, count):
    wanted = demo_items(count)
    # Skip what exists by code, and names someone already used by hand (names are unique per organization).
    rows = Item.objects.filter(organization=organization).values_list("code", "name")
    existing_codes = {code for code, _ in rows}
    existing_names = {name.lower() for _, name in rows}
    new = [
        Item(
            organization=organization,
            name=d.name,
            code=d.code,
            description=d.description,
            unit_price=d.unit_price,
            kind=d.kind,
        )
        for d in wanted
        if d.code not in existing_codes and d.name.lower() not in existing_names
    ]
    Item.objects.bulk_create(new, batch_size=500)
    report.items_created = len(new)
    report.items_existing = len(wanted) - len(new)
    return wanted


def _seed_customers(report, organization, count):
    wanted = demo_customers(count)
    existing = set(Customer.objects.filter(organization=organization).values_list("email", flat=True))
    new = [Customer(organization=organization, **c) for c in wanted if c["email"] not in existing]
    Customer.objects.bulk_create(new, batch_size=500)
    report.customers_created = len(new)
    report.customers_existing = len(wanted) - len(new)
    return wanted


def _seed_invoices(report, organization, count, *, items, customers, today):
    if not items or not customers:
        raise ValueError("Invoices need at least one item and one customer.")
    existing = Invoice.objects.filter(organization=organization).count()
    report.invoices_existing = min(existing, count)
    plans = demo_invoice_plans(count, customers=len(customers), items=items, today=today)[existing:]
    if not plans:
        return
    item_rows = {
        i.code: i
        for i in Item.objects.filter(organization=organization, code__in={items[k].code for p in plans for k, _ in p.lines})
    }
    customer_rows = {
        c.email: c
        for c in Customer.objects.filter(
            organization=organization, email__in={customers[p.customer_index]["email"] for p in plans}
        )
    }
    for plan in plans:
        # One transaction per invoice: it exists with all its payments, or not at all (resumable).
        with transaction.atomic():
            invoice = invoice_services.invoice_create(
                organization=organization,
                customer=customer_rows[customers[plan.customer_index]["email"]],
                lines=[{"item": item_rows[items[k].code], "quantity": qty} for k, qty in plan.lines],
                issue_date=plan.issue_date,
                due_date=plan.due_date,
                notes=plan.notes,
            )
            if plan.status == Invoice.Status.VOID:
                invoice_services.invoice_void(invoice=invoice)
            elif plan.status != Invoice.Status.DRAFT:
                invoice_services.invoice_mark_sent(invoice=invoice)
                for date, fraction, method, reference in plan.payments:
                    if fraction is None:
                        invoice_services.invoice_mark_paid(invoice=invoice, date=date, method=method, reference=reference)
                    else:
                        amount = (invoice.total * Decimal(str(fraction))).quantize(CENT)
                        invoice_services.payment_record(
                            invoice=invoice, amount=amount, date=date, method=method, reference=reference
                        )
                    report.payments_created += 1
        report.invoices_created += 1


def seed_demo(*, slug="demo", items=3629, customers=250, invoices=400, username="demo", password="demo", today=None):  # noqa: S107 (the published demo login)
    """Create (or complete) the demo organization. Returns a SeedReport of what was created."""
    today = today or datetime.date.today()
    with transaction.atomic():
        organization, created = Organization.objects.get_or_create(slug=slug, defaults={"name": DEMO_NAME, "currency": "USD"})
        report = SeedReport(organization=organization, organization_created=created)
        _ensure_user(report, organization=organization, username=username, password=password)
        item_specs = _seed_items(report, organization, items)
        customer_specs = _seed_customers(report, organization, customers)
    if invoices:
        _seed_invoices(report, organization, invoices, items=item_specs, customers=customer_specs, today=today)
    return report
