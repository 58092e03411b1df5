"""The signals' lines for the bulletin's 存在问题 section, when the city chooses to show them (pure).

The bulletin (通报) calls ``problem_lines`` with the signals and the districts of its rows; each line names the
district and the kind of signal in Chinese and counts the signals, so a 通报 never lists entities by name. A
signal officials dismissed is left out; one they confirmed is said to be confirmed (docs/detectors.md)."""

from collections import Counter
from collections.abc import Iterable, Mapping

from .records import SIGNAL_KINDS, SIGNAL_KINDS_ZH, Signal


def problem_lines(signals: Iterable[Signal], districts: Mapping[str, str],
                  marks: Mapping[str, str] | None = None) -> list[str]:
    """One line per district with signals: ``districts`` maps each code to its name, in the bulletin's order;
    ``marks`` maps a signal id to ``confirmed`` or ``dismissed`` (unmarked: still open)."""
    marks = marks or {}
    counts: dict[str, Counter] = {code: Counter() for code in districts}
    confirmed: dict[str, int] = Counter()
    for signal in signals:
        mark = marks.get(signal.signal_id)
        if mark == "dismissed":
            continue
        for code in signal.districts:
            if code in counts:
                counts[code][signal.kind] += 1
                confirmed[code] += mark == "confirmed"
    lines = []
    for code, name in districts.items():
        if not counts[code]:
            continue
        parts = "、".join(f"{SIGNAL_KINDS_ZH[k]}{counts[code][k]}条" for k in SIGNAL_KINDS if counts[code][k])
        total = sum(counts[code].values())
        tail = f"，其中{confirmed[code]}条经核实确认" if confirmed[code] else "，待核实"
        lines.append(f"{name}：数据分析发现疑点{total}条（{parts}）{tail}。")
    return lines
