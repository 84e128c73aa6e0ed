"""The decoding rules, one file each. A plan lists the rule objects of a request; the decoding
loop applies them in that order. To add a constraint: a new file with a Rule subclass (see
base.py) and its test, then build it where requests are planned (writing/plan_common.py)."""

from .base import NEG_INF, Env, ReadTables, Rule, Step, block
from .ci_rhyme import MAX_CHAINS, CiRhyme
from .end_after_period import EndAfterPeriod
from .line_start import LineStart
from .no_copy import NoCopy, corpus_tables, extend_hash, line_hash
from .no_repeat import NoRepeat
from .position_mask import PositionMask
from .rhyme import Rhyme
from .rhyme_reading import RhymeReading
from .theme import THEME_FADE, Theme

__all__ = ["MAX_CHAINS", "NEG_INF", "THEME_FADE", "CiRhyme", "EndAfterPeriod", "Env", "LineStart", "NoCopy",
           "NoRepeat", "PositionMask", "ReadTables",
           "Rhyme", "RhymeReading", "Rule", "Step", "Theme", "block", "corpus_tables", "extend_hash", "line_hash"]
