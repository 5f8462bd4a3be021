"""A hypothesis strategy that builds instances from named shapes: swaps, cycles, chains.

Test code only. ``drawn()`` in test_properties draws goals from random permutations, which
gives irregular interlocks but rarely a clean shape (a cycle of three or more in 3 of 400
draws). ``shaped()`` composes each host from parts drawn by name, so every shape comes up
often; with the default arguments, measured over 2000 derandomized draws (``python
tests/shapes.py``): a swap in 39%, a cycle of 3 or 4 in 32%, a chain of two or more waiting
movers in 48%, a retirement in 24%, a collision in 13%, two hosts in 30%, a pair in 30%.

Each part uses its own run of ports on its host; with ``shared_numbers`` every host starts at
the same port (so under global scope the hosts interlock), otherwise hosts use disjoint ranges.
Service names restart per host (``a``, ``b``, ...), as in a fleet where one service runs on
several machines. ``Shaped.expected`` is the hand count of the clean theory for the instance
(host scope, no cap, no pairs, enough temp ports): fewest moves n + c, and the fewest waves
of such a plan, max(longest chain, longest cycle + 1), where a chain of k waiting movers
takes k waves and a swap or a k-cycle k + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from bruteforce import instance_of
from reorg.model import Instance

# (kind, movers, moves with the fewest temps, waves of the fewest-move plan)
PARTS = {
    "swap": (2, 3, 3),
    "cycle3": (3, 4, 4),
    "cycle4": (4, 5, 5),
    "chain1": (1, 1, 1),
    "chain2": (2, 2, 2),
    "chain3": (3, 3, 3),
    "retire-chain": (2, 2, 2),  # r retires, a takes its port: a waits one wave
    "retire": (1, 1, 1),
    "keep": (0, 0, 0),
    "collide": (1, 1, 1),  # two bindings share a port now; one moves away, one keeps it
}
WEIGHTED = (
    ["swap"] * 3 + ["cycle3"] * 2 + ["cycle4"] + ["chain2"] * 2 + ["chain3"] * 2 + ["chain1"]
    + ["retire-chain", "retire", "keep", "collide"]
)


@dataclass(frozen=True)
class Shaped:
    instance: Instance
    parts: tuple[tuple[str, str], ...]  # (host, kind)
    clean: bool  # no collision: the clean theory applies under host scope
    expected: tuple[int, int]  # (n + c, fewest waves of a fewest-move plan), by hand

    @property
    def kinds(self) -> set[str]:
        return {kind for _, kind in self.parts}


def _rows(kind: str, host: str, names, port: int) -> list[str]:
    take = lambda: next(names)  # noqa: E731
    if kind == "swap":
        a, b = take(), take()
        return [f"{a} {host} {port} {port + 1}", f"{b} {host} {port + 1} {port}"]
    if kind.startswith("cycle"):
        k = int(kind[-1])
        return [f"{take()} {host} {port + i} {port + (i + 1) % k}" for i in range(k)]
    if kind.startswith("chain"):
        k = int(kind[-1])
        return [f"{take()} {host} {port + i} {port + i + 1}" for i in range(k)]
    if kind == "retire-chain":
        return [f"{take()} {host} {port} -", f"{take()} {host} {port + 1} {port}"]
    if kind == "retire":
        return [f"{take()} {host} {port} -"]
    if kind == "keep":
        return [f"{take()} {host} {port} {port}"]
    if kind == "collide":
        return [f"{take()} {host} {port} {port + 1}", f"{take()} {host} {port} {port}"]
    raise ValueError(kind)


@st.composite
def shaped(draw, max_movers: int = 5, max_hosts: int = 2, pairs: bool = True) -> Shaped:
    """Up to ``max_hosts`` hosts, each a few parts, at most ``max_movers`` movers in all."""
    hosts = [f"h{k + 1}" for k in range(draw(st.integers(1, max_hosts)))]
    shared_numbers = draw(st.booleans())
    rows: list[str] = []
    parts: list[tuple[str, str]] = []
    movers = moves = waves = 0
    for k, host in enumerate(hosts):
        names = iter("abcdefghijklmnop")
        port = 1 if shared_numbers else 1 + 100 * k
        for kind in draw(st.lists(st.sampled_from(WEIGHTED), min_size=1, max_size=3)):
            need, part_moves, part_waves = PARTS[kind]
            if movers + need > max_movers:
                continue
            rows += _rows(kind, host, names, port)
            parts.append((host, kind))
            port += 5
            movers += need
            moves += part_moves
            waves = max(waves, part_waves)
    if not rows:
        rows, parts = [f"a {hosts[0]} 1 1"], [(hosts[0], "keep")]
    services = sorted({row.split()[0] for row in rows})
    chosen: list[tuple[str, str]] = []
    if pairs and len(services) >= 2 and draw(st.integers(0, 2)) == 0:
        front, back = draw(st.permutations(services))[:2]
        chosen.append((front, back))
    clean = all(kind != "collide" for _, kind in parts)
    return Shaped(instance_of(*rows, pairs=chosen), tuple(parts), clean, (moves, waves))


def _measure(draws: int = 2000) -> None:
    """Print how often each shape comes up (the figures in the module docstring)."""


    counts: dict[str, int] = {}
    seen = 0

    @st.composite
    def sample(draw):
        return draw(shaped())

    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=draws, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(sample())
    def collect(case: Shaped) -> None:
        nonlocal seen
        seen += 1
        kinds = case.kinds
        facts = {
            "swap": "swap" in kinds,
            "cycle3+": bool(kinds & {"cycle3", "cycle4"}),
            "chain2+": bool(kinds & {"chain2", "chain3", "retire-chain"}),
            "retire": bool(kinds & {"retire", "retire-chain"}),
            "collide": "collide" in kinds,
            "two hosts": len({h for h, _ in case.parts}) > 1,
            "pair": bool(case.instance.pairs),
        }
        for name, present in facts.items():
            counts[name] = counts.get(name, 0) + present

    collect()
    for name, count in counts.items():
        print(f"{name:10} {count:5} of {seen} ({100 * count / seen:.0f}%)")


if __name__ == "__main__":
    _measure()
