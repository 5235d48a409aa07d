"""The command vocabulary: colours, shapes and their synonyms.

One table serves the parser, the synthetic camera, the simulator and the data
generator, so a word the parser knows is a thing the world can show.
"""

from __future__ import annotations

# Canonical colour name -> RGB in [0, 1].
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.10, 0.10),
    "green": (0.10, 0.70, 0.15),
    "blue": (0.10, 0.25, 0.90),
    "yellow": (0.95, 0.85, 0.10),
    "orange": (1.00, 0.50, 0.05),
    "purple": (0.55, 0.15, 0.75),
    "cyan": (0.10, 0.80, 0.85),
    "white": (0.92, 0.92, 0.92),
    "black": (0.06, 0.06, 0.06),
}

COLOUR_SYNONYMS: dict[str, str] = {
    "crimson": "red", "scarlet": "red", "violet": "purple", "magenta": "purple",
    "lime": "green", "navy": "blue", "turquoise": "cyan", "gold": "yellow", "golden": "yellow",
    "teal": "cyan", "dark": "black",
}

# Canonical shape name -> words that name it.
SHAPES: dict[str, tuple[str, ...]] = {
    "ball": ("ball", "sphere", "orb", "globe"),
    "box": ("box", "cube", "block", "crate"),
    "cylinder": ("cylinder", "can", "tube", "barrel", "drum", "pillar"),
    "cone": ("cone",),
    "capsule": ("capsule", "pill"),
}

# More words a speaker might use (none is held out): the command language understands them, and
# training re-words commands with them (mm_robot.training.phrasing).
# Unambiguous in the XKCD colour survey (not "amber": yellow or orange?).
EXTRA_COLOUR_WORDS: dict[str, tuple[str, ...]] = {
    "red": ("ruby", "cherry"), "green": ("emerald", "grass green"),
    "blue": ("azure", "royal blue"), "yellow": ("lemon", "canary yellow"),
    "orange": ("tangerine", "pumpkin"), "purple": ("lavender", "plum"), "cyan": ("aqua", "aquamarine"),
    "white": ("snow white", "ivory"), "black": ("jet black", "ebony", "coal black"),
}
EXTRA_SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "ball": ("round ball", "bouncy ball", "marble", "bowling ball", "beach ball"),
    "box": ("cuboid", "brick", "square box", "carton", "chest", "parcel"),
    "cylinder": ("column", "canister", "post", "pipe", "tin", "bin"),
    "cone": ("traffic cone", "pylon", "funnel", "party hat"),
    "capsule": ("tablet", "lozenge", "pellet", "pod"),
}

SHAPE_WORDS: dict[str, str] = {word: shape for shape, words in SHAPES.items() for word in words}
SHAPE_WORDS.update({word + "s": shape for word, shape in list(SHAPE_WORDS.items())})
SHAPE_WORDS["boxes"] = "box"

STOP_WORDS: tuple[str, ...] = ("stop", "halt", "freeze", "wait", "abort", "cancel", "hold on",
                               "stay", "don't move", "do not move", "emergency")

# Words that pick an object by the sound it makes ("go to the beeping one", "the ball that is making
# a sound", "the one you hear"): in the world, any object that emits a sound (mm_robot.sim.sound).
# Nouns name a thing by themselves ("go to the noise"); the rest describe one.
SOUND_NOUNS: tuple[str, ...] = ("sound", "sounds", "noise", "noises", "beep", "beeps", "beeper", "buzzer",
                                "alarm", "ringer", "tone", "ringtone", "siren", "hum", "buzz", "chime",
                                "ring")
SOUND_WORDS: tuple[str, ...] = SOUND_NOUNS + (
    "beeping", "bleeping", "ringing", "buzzing", "humming", "whistling", "chirping", "chiming", "pinging",
    "hissing", "talking", "speaking", "sounding", "noisy", "loud", "louder", "loudest", "audible",
    "hear", "hears", "heard", "hearing", "emitting", "emits", "playing")


def colour_of(word: str) -> str | None:
    word = word.lower()
    if word in COLOURS:
        return word
    return COLOUR_SYNONYMS.get(word)


def shape_of(word: str) -> str | None:
    return SHAPE_WORDS.get(word.lower())
