"""Opening hours in the OpenStreetMap ``opening_hours`` syntax, as a weekly open/closed matrix.

The census of services for homeless people (pact art. 14) keeps each service's hours as an OSM
``opening_hours`` string (https://wiki.openstreetmap.org/wiki/Key:opening_hours/specification),
the format public data sets and OSM already use. This module parses the subset needed for a
typical week and turns it into a minute-by-minute matrix (7 days x 1,440 minutes), from which the
hours x days charts and the "hours without any open service" of :mod:`geo.services.homeless` are computed.

Supported
---------
* weekdays ``Mo Tu We Th Fr Sa Su``, ranges (``Mo-Fr``, wrapping ``Fr-Mo``) and lists
  (``Mo,We,Fr``, ``Mo-We,Fr``);
* months ``Jan`` … ``Dec``, ranges (wrapping ``Dec-Mar``) and lists: a rule limited to some months
  is in force only when the week is evaluated for one of them (the ``month`` argument);
* time ranges ``HH:MM-HH:MM``, several per rule (``09:00-12:00,15:00-18:00``), ends up to
  ``48:00``; a range ending at or before its start runs **past midnight** (``19:30-08:00``): the
  part after midnight belongs to the day the range starts, and spills into the next day (Sunday
  into Monday, the week being typical);
* ``24/7``; the modifiers ``off``/``closed`` and ``open``; a selector without times means the
  whole day; comments in double quotes are ignored; a ``:`` after a selector is tolerated;
* rule separators: ``;`` (normal rule) and ``,`` between rules (additional rule).

Semantics (as the specification and the reference implementation opening_hours.js): rules are
read left to right; a **normal** rule replaces everything earlier rules said about the days it
selects; an **additional** rule adds its time ranges (or, with ``off``, closes them) without
resetting the day. So ``Mo-Fr 09:00-12:00; Tu,Th 15:00-18:00`` is closed on Tuesday and Thursday
mornings (the second rule overrides them); ``Mo-Fr 09:00-12:00, Tu,Th 15:00-18:00`` keeps the
mornings. :attr:`OpeningHours.notes` says when a rule overrides days of an earlier one, since a
census editor may not mean it.

Not supported (an Italian :class:`OpeningHoursError` names the part): public or school holidays
as the only selector are ignored for the typical week (``PH off``: noted), week numbers, dates,
nth weekdays (``Mo[1]``), open ends (``18:00+``), events (``sunrise``), fallback rules (``||``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

#: Weekday codes of the OSM syntax, Monday first (the matrix's row order).
DAYS: tuple[str, ...] = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
#: Italian short labels of the weekdays, in :data:`DAYS` order.
DAY_LABELS: tuple[str, ...] = ("lun", "mar", "mer", "gio", "ven", "sab", "dom")
#: Month codes of the OSM syntax, January first (``month`` arguments are 1-12).
MONTHS: tuple[str, ...] = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_LABELS: tuple[str, ...] = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
                                 "settembre", "ottobre", "novembre", "dicembre")
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>"[^"]*")
  | (?P<always>24/7)
  | (?P<time>\d{1,2}:\d{2})
  | (?P<number>\d+)
  | (?P<fallback>\|\|)
  | (?P<word>[A-Za-z]+)
  | (?P<punct>[-,;:+\[\]])
  | (?P<other>.)
    """,
    re.VERBOSE,
)
_DAY_INDEX = {d.lower(): i for i, d in enumerate(DAYS)}
_MONTH_INDEX = {m.lower(): i + 1 for i, m in enumerate(MONTHS)}
_HOLIDAYS = {"ph", "sh"}
_MODIFIERS = {"off": "off", "closed": "off", "open": "open", "unknown": "unknown"}
_UNSUPPORTED_WORDS = {
    "week": "i numeri di settimana", "sunrise": "gli orari legati al sole", "sunset": "gli orari legati al sole",
    "dawn": "gli orari legati al sole", "dusk": "gli orari legati al sole", "easter": "le date mobili",
}


class OpeningHoursError(ValueError):
    """An ``opening_hours`` string outside the supported syntax; the message is Italian."""


@dataclass(frozen=True)
class Rule:
    """One rule of an ``opening_hours`` string.

    ``months``/``days``: selected months (1-12) and weekdays (0 = Monday), None for "all";
    ``intervals``: (start, end) in minutes from the day's midnight, ``end`` up to 2,880 (the next
    day); ``off``: the rule closes; ``additional``: joined to the previous rule by ``,``;
    ``holidays_only``: only public/school holidays selected (ignored in a typical week).
    """

    text: str
    months: frozenset[int] | None = None
    days: frozenset[int] | None = None
    intervals: tuple[tuple[int, int], ...] = ((0, MINUTES_PER_DAY),)
    off: bool = False
    additional: bool = False
    holidays_only: bool = False

    def applies(self, month: int) -> bool:
        return not self.holidays_only and (self.months is None or month in self.months)


@dataclass(frozen=True)
class OpeningHours:
    """A parsed ``opening_hours`` string: its rules and Italian notes for the census editor."""

    text: str
    rules: tuple[Rule, ...]
    notes: tuple[str, ...] = field(default=())

    def minutes(self, *, month: int) -> np.ndarray:
        """Open (True) or closed, per weekday (rows, Monday first) and minute of the day.

        Parameters
        ----------
        month
            Month of the typical week, 1-12: rules limited to other months are not in force.

        Returns
        -------
        numpy.ndarray
            Boolean array of shape (7, 1440).
        """
        if not 1 <= int(month) <= 12:
            raise ValueError(f"mese non valido: {month}")
        owned: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for rule in self.rules:
            if not rule.applies(int(month)):
                continue
            for d in sorted(rule.days if rule.days is not None else range(7)):
                if not rule.additional:
                    owned[d] = [] if rule.off else list(rule.intervals)
                elif rule.off:
                    owned[d] = _subtract(owned[d], rule.intervals)
                else:
                    owned[d] = owned[d] + list(rule.intervals)
        out = np.zeros((7, MINUTES_PER_DAY), dtype=bool)
        for d, intervals in enumerate(owned):
            for start, end in intervals:
                out[d, start:min(end, MINUTES_PER_DAY)] = True
                if end > MINUTES_PER_DAY:
                    out[(d + 1) % 7, 0:end - MINUTES_PER_DAY] = True
        return out

    def matrix(self, *, month: int, slot_minutes: int = 60) -> np.ndarray:
        """Share of each time slot (0-1) the service is open: shape (7, 1440 / ``slot_minutes``).

        ``slot_minutes`` must divide 1,440 (60: hours, 30: half hours).
        """
        return slot_shares(self.minutes(month=month), slot_minutes)

    def weekly_minutes(self, *, month: int) -> int:
        """Minutes open in the typical week of ``month`` (10,080 = always open)."""
        return int(self.minutes(month=month).sum())

    def always_open(self, *, month: int) -> bool:
        return self.weekly_minutes(month=month) == MINUTES_PER_WEEK


def slot_shares(minutes: np.ndarray, slot_minutes: int) -> np.ndarray:
    """Mean of a (7, 1440) minute matrix over slots of ``slot_minutes``: shape (7, 1440 / slot)."""
    if slot_minutes <= 0 or MINUTES_PER_DAY % slot_minutes:
        raise ValueError(f"la durata della fascia deve dividere 1440 minuti: {slot_minutes}")
    arr = np.asarray(minutes, dtype=np.float64)
    return arr.reshape(arr.shape[0], MINUTES_PER_DAY // slot_minutes, slot_minutes).mean(axis=2)


def _subtract(intervals: list[tuple[int, int]], remove: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    out = list(intervals)
    for r0, r1 in remove:
        nxt = []
        for s, e in out:
            if e <= r0 or s >= r1:
                nxt.append((s, e))
                continue
            if s < r0:
                nxt.append((s, r0))
            if e > r1:
                nxt.append((r1, e))
        out = nxt
    return out


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------

@dataclass
class _Tok:
    kind: str
    value: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        value = m.group()
        if kind in ("space", "comment"):
            continue
        if kind == "other":
            raise OpeningHoursError(f"carattere non ammesso «{value}» in posizione {m.start() + 1}")
        if kind == "number":
            raise OpeningHoursError(
                f"numero «{value}» in posizione {m.start() + 1}: date, settimane e giorni ennesimi non sono gestiti"
            )
        if value == "[":
            raise OpeningHoursError("i giorni ennesimi del mese («Mo[1]») non sono gestiti")
        if kind == "fallback":
            raise OpeningHoursError("le regole di riserva «||» non sono gestite: usare «;» tra le regole")
        if kind == "word":
            low = value.lower()
            if low in _DAY_INDEX:
                kind = "day"
            elif low in _MONTH_INDEX:
                kind = "month"
            elif low in _HOLIDAYS:
                kind = "holiday"
            elif low in _MODIFIERS:
                kind = "modifier"
            elif low in _UNSUPPORTED_WORDS:
                raise OpeningHoursError(f"{_UNSUPPORTED_WORDS[low]} («{value}») non sono gestiti")
            else:
                raise OpeningHoursError(
                    f"parola non riconosciuta «{value}»: giorni Mo Tu We Th Fr Sa Su, mesi Jan … Dec, "
                    "oppure off, closed, open"
                )
        tokens.append(_Tok(kind, value, m.start()))
    return tokens


def _minutes(value: str, *, end: bool) -> int:
    hours, minutes = (int(p) for p in value.split(":"))
    if minutes >= 60 or hours > 48 or (not end and hours >= 24) or (end and hours * 60 + minutes > 2 * 1440):
        raise OpeningHoursError(f"orario non valido «{value}»")
    return hours * 60 + minutes


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_punct(self, value: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok.kind == "punct" and tok.value == value

    def fail(self, tok: _Tok | None, what: str) -> OpeningHoursError:
        where = f"«{tok.value}» in posizione {tok.pos + 1}" if tok else "la fine del testo"
        return OpeningHoursError(f"{what}: trovato {where}")

    # -- selectors -------------------------------------------------------------------------
    def _range_list(self, kind: str, index: dict[str, int], size: int, first: int) -> frozenset[int]:
        """``A[-B](,C[-D])*`` for days (0-based, size 7) or months (1-based, size 12)."""
        selected: set[int] = set()
        while True:
            tok = self.take()
            start = index[tok.value.lower()]
            stop = start
            if self.is_punct("-"):
                self.take()
                nxt = self.peek()
                if nxt is None or nxt.kind != kind:
                    raise self.fail(nxt, "intervallo incompleto")
                stop = index[self.take().value.lower()]
            span = (stop - start) % size
            selected.update(first + (start - first + s) % size for s in range(span + 1))
            if self.is_punct(",") and (nxt := self.peek(1)) is not None and nxt.kind == kind:
                self.take()
                continue
            return frozenset(selected)

    def _days(self) -> tuple[frozenset[int] | None, bool]:
        """Weekdays and holidays; returns (days or None if only holidays, holidays_seen)."""
        days: set[int] = set()
        holidays = False
        while True:
            tok = self.peek()
            if tok is not None and tok.kind == "holiday":
                self.take()
                holidays = True
            elif tok is not None and tok.kind == "day":
                days |= self._range_list("day", _DAY_INDEX, 7, 0)
            else:
                raise self.fail(tok, "atteso un giorno della settimana")
            nxt = self.peek(1)
            if self.is_punct(",") and nxt is not None and nxt.kind in ("day", "holiday"):
                self.take()
                continue
            return (frozenset(days) if days else None), holidays

    def _times(self) -> tuple[tuple[int, int], ...]:
        intervals = []
        while True:
            start_tok = self.take()
            if self.is_punct("+"):
                raise OpeningHoursError("gli orari senza fine («18:00+») non sono gestiti")
            if not self.is_punct("-"):
                raise self.fail(self.peek(), f"atteso «-» dopo {start_tok.value}")
            self.take()
            end_tok = self.peek()
            if end_tok is None or end_tok.kind != "time":
                raise self.fail(end_tok, "atteso l'orario di chiusura")
            self.take()
            start = _minutes(start_tok.value, end=False)
            end = _minutes(end_tok.value, end=True)
            if end <= start:
                end += MINUTES_PER_DAY  # past midnight
            if end - start > MINUTES_PER_DAY:
                raise OpeningHoursError(f"intervallo più lungo di 24 ore: {start_tok.value}-{end_tok.value}")
            intervals.append((start, end))
            if self.is_punct(",") and (nxt := self.peek(1)) is not None and nxt.kind == "time":
                self.take()
                continue
            return tuple(intervals)

    # -- rules -----------------------------------------------------------------------------
    def rule(self, additional: bool) -> Rule | None:
        start = self.peek()
        if start is None:
            return None
        months = days = None
        holidays = False
        intervals: tuple[tuple[int, int], ...] | None = None
        modifier = None
        tok = self.peek()
        if tok is not None and tok.kind == "always":
            self.take()
            intervals = ((0, MINUTES_PER_DAY),)
        else:
            if tok is not None and tok.kind == "month":
                months = self._range_list("month", _MONTH_INDEX, 12, 1)
            if self.is_punct(":"):
                self.take()
            tok = self.peek()
            if tok is not None and tok.kind in ("day", "holiday"):
                days, holidays = self._days()
            if self.is_punct(":"):
                self.take()
            tok = self.peek()
            if tok is not None and tok.kind == "time":
                intervals = self._times()
        tok = self.peek()
        if tok is not None and tok.kind == "modifier":
            modifier = _MODIFIERS[self.take().value.lower()]
        end = self.peek()
        stop = end.pos if end is not None else len(self.text)
        text = self.text[start.pos:stop].strip().rstrip(",;").strip()
        if months is None and days is None and not holidays and intervals is None and modifier is None:
            raise self.fail(start, "attesa una regola (giorni, orari, 24/7 oppure off)")
        return Rule(
            text=text,
            months=months,
            days=days,
            intervals=intervals if intervals is not None else ((0, MINUTES_PER_DAY),),
            off=modifier in ("off", "unknown"),
            additional=additional,
            holidays_only=holidays and days is None,
        )

    def parse(self) -> list[Rule]:
        rules: list[Rule] = []
        additional = False
        while self.peek() is not None:
            if self.is_punct(";"):
                self.take()
                additional = False
                continue
            rule = self.rule(additional)
            if rule is not None:
                rules.append(rule)
            tok = self.peek()
            if tok is None:
                break
            if self.is_punct(";"):
                self.take()
                additional = False
            elif self.is_punct(","):
                self.take()
                additional = True
            else:
                raise self.fail(tok, "atteso «;» tra due regole")
        return rules


def _day_list(days: frozenset[int] | None) -> str:
    return ", ".join(DAY_LABELS[d] for d in sorted(days if days is not None else range(7)))


def _notes(rules: list[Rule]) -> tuple[str, ...]:
    notes = []
    for j, rule in enumerate(rules):
        if rule.holidays_only:
            notes.append(f"La regola «{rule.text}» riguarda solo i festivi: ignorata nella settimana tipo.")
            continue
        if rule.additional or rule.off:
            continue
        mine = set(rule.days if rule.days is not None else range(7))
        overridden: set[int] = set()
        for earlier in rules[:j]:
            if earlier.holidays_only or earlier.off:
                continue
            same_season = earlier.months is None or rule.months is None or bool(earlier.months & rule.months)
            if same_season:
                overridden |= mine & set(earlier.days if earlier.days is not None else range(7))
        if overridden:
            notes.append(
                f"La regola «{rule.text}» sostituisce gli orari precedenti di {_day_list(frozenset(overridden))} "
                "(sintassi OSM: per aggiungere orari allo stesso giorno separare le regole con «,» invece di «;»)."
            )
    return tuple(notes)


def parse_opening_hours(text: str) -> OpeningHours:
    """Parse an OSM ``opening_hours`` string (the subset in the module notes).

    Raises
    ------
    OpeningHoursError
        With an Italian message naming the unsupported or malformed part.
    """
    if text is None or not str(text).strip():
        raise OpeningHoursError("orario vuoto")
    text = str(text).strip()
    rules = _Parser(text).parse()
    if not rules:
        raise OpeningHoursError("nessuna regola nell'orario")
    return OpeningHours(text=text, rules=tuple(rules), notes=_notes(rules))


def open_matrix(text: str, *, month: int, slot_minutes: int = 60) -> np.ndarray:
    """Share of each slot open, (7, 1440 / ``slot_minutes``), for an ``opening_hours`` string."""
    return parse_opening_hours(text).matrix(month=month, slot_minutes=slot_minutes)


def check_opening_hours(text: str) -> str | None:
    """None when ``text`` parses, else the Italian error (for forms)."""
    try:
        parse_opening_hours(text)
    except OpeningHoursError as exc:
        return str(exc)
    return None
