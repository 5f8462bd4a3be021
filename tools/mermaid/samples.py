"""Write Markdown files holding the diagrams `reorg/render/diagram.py` draws in every shape, for
check.mjs: per-step nodes with waits, a temp swap (dotted arrow), retirements, hostile names, a big
plan drawn per wave, and one banded over many waves. Usage: python samples.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reorg.model import Metrics, Plan, PlanOptions, Step, StepKind  # noqa: E402
from reorg.render.diagram import render_mermaid  # noqa: E402

K = StepKind


def plan(steps: list[Step]) -> Plan:
    waves = max(s.wave for s in steps)
    return Plan("greedy", PlanOptions(), tuple(steps), Metrics(len(steps), 0, waves, len(steps), waves, True, 0))


def samples() -> dict[str, Plan]:
    swap = [
        Step(1, 1, "a", "h", 3021, 39000, K.TO_TEMP),
        Step(2, 1, "r", "h", 8100, None, K.RETIRE),
        Step(3, 2, "b", "h", 3012, 3021, K.MOVE),
        Step(4, 3, "a", "h", 39000, 3012, K.FROM_TEMP),
    ]
    names = ['q"]; click s1 call x', "<script>x</script>", "1. list", "- item", "# h", "`code`", "a&b", "x\n- [x] y"]
    # a chain, so that every hostile name gets a node: each binds the port the one before frees
    hostile = [Step(i + 1, i + 1, n, "h;1", 4001 + i, 4000 + i, K.MOVE) for i, n in enumerate(names)]
    per_wave = [Step(n, 1 + (n - 1) // 30, f"svc{n}", f"h{n % 30}", 3000 + n, 13000 + n, K.MOVE) for n in range(1, 241)]
    chain = [Step(1, 1, "s1", "h", 3001, 2999, K.MOVE)]
    chain += [Step(i, i, f"s{i}", "h", 3000 + i, 3000 + i - 1, K.MOVE) for i in range(2, 300)]
    return {"swap": plan(swap), "hostile": plan(hostile), "per-wave": plan(per_wave), "banded": plan(chain)}


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, p in samples().items():
        (out / f"{name}.md").write_text(render_mermaid(p), encoding="utf-8")


if __name__ == "__main__":
    main()
