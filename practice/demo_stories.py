"""The invented people of the demo practice and the scripts their sessions return to."""

from __future__ import annotations

import random

CRITIC = {
    "key": "focal",
    "name": "Braces for criticism whenever she achieves something",
    "wish": "to be recognised for what she has done",
    "response_of_other": "finds the flaw, or looks past it",
    "response_of_self": "plays it down, then feels empty and quietly furious",
    "origin": "a father who corrected every school report before reading it",
    "status": "focal",
    "figures": ["father", "boss", "partner", "father"],
    "weight": 0.6,
    "ro_negative": (0.9, 0.35),
    "transference_as": "father",
    "transference_text": "Expected me to find fault with the plan she had brought.",
}

CARER = {
    "key": "carer",
    "name": "Looks after everyone, then resents being taken for granted",
    "wish": "to be cared for without having to ask",
    "response_of_other": "takes the help as a matter of course",
    "response_of_self": "gives more, then withdraws and goes cold",
    "origin": "eldest child of an often-ill mother",
    "status": "working",
    "figures": ["partner", "mother", "sister"],
    "weight": 0.35,
    "ro_negative": (0.8, 0.6),
}

CHOSEN = {
    "key": "merged",
    "name": "Expects the manager to humiliate him in front of others",
    "wish": "to be taken seriously",
    "response_of_other": "mocks or dismisses",
    "response_of_self": "stays silent, rehearses the scene for days",
    "origin": "teasing by an older brother",
    "status": "hypothesis",
    "figures": ["boss"],
    "weight": 0.45,
    "ro_negative": (0.9, 0.9),
}

OUTSIDER = {
    "key": "focal",
    "name": "Keeps people at arm's length so he cannot be dropped",
    "wish": "to belong without risk",
    "response_of_other": "drifts away or forgets him",
    "response_of_self": "leaves first, tells himself he did not care",
    "origin": "a mother who left when he was seven",
    "status": "focal",
    "figures": ["mother", "ex", "friend", "boss"],
    "weight": 0.55,
    "ro_negative": (0.85, 0.4),
    "transference_as": "mother",
    "transference_text": "Wondered aloud whether I would notice if he stopped coming.",
}

WAITER = {
    "key": "waits",
    "name": "Waits to be chosen rather than asking",
    "wish": "to be wanted",
    "response_of_other": "does not notice the wish",
    "response_of_self": "waits, then concludes he is not wanted",
    "origin": "unclear so far",
    "status": "hypothesis",
    "figures": ["friend", "ex"],
    "weight": 0.2,
    "ro_negative": (0.7, 0.7),
}

FAMILY = [
    ("father", "Dad", "father"),
    ("mother", "Mum", "mother"),
    ("partner", "Noor (partner)", "partner"),
    ("boss", "Ms Albrecht (manager)", "authority"),
    ("sister", "Ebba (younger sister)", "sibling"),
]
OTHERS = [
    ("mother", "His mother", "mother"),
    ("ex", "Lio (former partner)", "ex_partner"),
    ("friend", "Tamsin (old friend)", "friend"),
    ("boss", "The team lead", "authority"),
]

CLIENTS = [
    {
        "first_name": "Marlow",
        "last_name": "Feathertop",
        "clinician": "ilse",
        "weekday": 0,
        "hour": 9,
        "figures": FAMILY,
        "scripts": [CRITIC, CARER],
        "enactments": {
            14: "I corrected a date she gave; she went quiet for the rest of the hour.",
            31: "I ran five minutes over; she apologised for taking my time.",
        },
        "ruptures": {15: "withdrawal", 33: "confrontation"},
    },
    {
        "first_name": "Juniper",
        "last_name": "Ashgrove",
        "clinician": "ilse",
        "weekday": 2,
        "hour": 14,
        "figures": FAMILY,
        "scripts": [{**CRITIC, "weight": 0.5}, CHOSEN, {**CARER, "weight": 0.25}],
        "merge_after": 20,
        "enactments": {22: "I praised the new job; she spent the session listing its flaws."},
        "ruptures": {23: "withdrawal"},
    },
    {
        "first_name": "Otto",
        "last_name": "Brindlewick",
        "clinician": "tomas",
        "weekday": 1,
        "hour": 17,
        "figures": OTHERS,
        "scripts": [OUTSIDER, WAITER],
        "enactments": {18: "I forgot to confirm the holiday dates; he said it did not matter."},
        "ruptures": {19: "withdrawal", 37: "mixed"},
    },
    {
        "first_name": "Saffi",
        "last_name": "Larkspur",
        "clinician": "tomas",
        "weekday": 3,
        "hour": 11,
        "figures": OTHERS,
        "scripts": [{**OUTSIDER, "weight": 0.4}, {**WAITER, "weight": 0.35}],
        "enactments": {27: "We both let the last ten minutes drift into small talk."},
        "ruptures": {28: "confrontation"},
    },
]

SUMMARIES = [
    "Mostly about the week at work; came back twice to the same conversation.",
    "Quieter session; long pauses, then a story from school.",
    "Talked about a family visit and how tired it left her.",
    "Brought a dream; we stayed with how it ended.",
    "Started late and spoke fast; settled in the second half.",
]
PLANS = [
    "Stay with the pattern as it shows up here.",
    "Come back to the episode with the manager.",
    "Notice the pull to reassure.",
]


def narrative(session: int, rng: random.Random) -> dict:
    """A short, invented session narrative."""
    return {
        "summary": f"Session {session}. {rng.choice(SUMMARIES)}",
        "plan": rng.choice(PLANS),
    }
