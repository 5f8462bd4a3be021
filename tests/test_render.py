"""The runbook: header with bounds, Mermaid diagram, one section per wave, one task item per step.

Plans are built by hand so these tests do not depend on the planners.
"""

from __future__ import annotations

import re

from reorg.model import Instance, Metrics, Plan, PlanOptions, Scope, Step, StepKind
from reorg.render import (
    DIAGRAM_MAX_NODES,
    StepText,
    describe_step,
    render_mermaid,
    render_runbook,
    step_dependencies,
    step_title,
)

K = StepKind
CURRENT_SHA = "0123456789abcdef" * 4
TARGET_SHA = "fedcba9876543210" * 4
INSTANCE = Instance(
    bindings=(),
    goals=(),
    current_path="data/current.csv",
    target_path="data/target.csv",
    current_sha256=CURRENT_SHA,
    target_sha256=TARGET_SHA,
)

# A swap on dev through a temp port, a retirement on mac-mini, and a chain on dev:
#   wave 1: search 3021 -> temp 39000, voxtral retires 8100
#   wave 2: media 3012 -> 3021 (search left it)
#   wave 3: search temp -> 3012 (media left it), notify 3040 -> 3013
STEPS = (
    Step(1, 1, "mana-search", "dev", 3021, 39000, K.TO_TEMP),
    Step(2, 1, "vllm-voxtral", "mac-mini", 8100, None, K.RETIRE),
    Step(3, 2, "mana-media", "dev", 3012, 3021, K.MOVE),
    Step(4, 3, "mana-notify", "dev", 3040, 3013, K.MOVE),
    Step(5, 3, "mana-search", "dev", 39000, 3012, K.FROM_TEMP),
)
METRICS = Metrics(moves=5, temp_moves=1, waves=3, lower_bound_moves=4, lower_bound_waves=2, optimal=False, pairs_split=0)
PLAN = Plan("cpsat", PlanOptions(), STEPS, METRICS, notes=("pair digits kept together",))


def runbook(plan: Plan = PLAN) -> str:
    return render_runbook(plan, INSTANCE, "demo", "plans/demo.json")


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines() if line.startswith("|")]


def test_task_item_per_step_in_the_exact_format():
    tasks = [line for line in runbook().splitlines() if line.startswith("- [ ] ")]
    # grouped by wave, then host (mac-mini's retirement after dev's step 1 in wave 1)
    assert tasks == [
        "- [ ] 1. mana-search: 3021 → 39000 (temp)",
        "- [ ] 2. vllm-voxtral: retire 8100",
        "- [ ] 3. mana-media: 3012 → 3021",
        "- [ ] 4. mana-notify: 3040 → 3013",
        "- [ ] 5. mana-search: 39000 (temp) → 3012",
    ]


def test_every_step_has_before_change_after_and_undo_where_not_plain():
    lines = runbook().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("- [ ] "):
            subs = [s.split(":")[0] for s in lines[i + 1 : i + 5] if s.startswith("  - ")]
            plain = line.startswith(("- [ ] 3.", "- [ ] 4."))  # moves of running bindings
            assert subs == ["  - Before", "  - Change", "  - After"] + ([] if plain else ["  - Undo"]), line
    assert "A step's Undo, where it names none: set the old port back the same way" in runbook()


def test_one_section_per_wave_with_step_counts_and_a_heading_per_host():
    headings = [line for line in runbook().splitlines() if line.startswith(("## Wave ", "### "))]
    assert headings == [
        "## Wave 1: 2 steps (dev 1, mac-mini 1)",
        "### Wave 1 on dev",
        "### Wave 1 on mac-mini",
        "## Wave 2: 1 step (dev 1)",
        "### Wave 2 on dev",
        "## Wave 3: 2 steps (dev 2)",
        "### Wave 3 on dev",
    ]


def test_sections_hold_their_waves_steps():
    text = runbook()
    wave2 = text.split("## Wave 2: 1 step")[1].split("## Wave 3")[0]
    assert "- [ ] 3. mana-media: 3012 → 3021" in wave2
    assert "- [ ] 4." not in wave2


def test_header_has_full_hashes_options_and_metrics_beside_bounds():
    text = runbook()
    rows = table_rows(text)
    assert ["current", "data/current.csv", CURRENT_SHA] in rows
    assert ["target", "data/target.csv", TARGET_SHA] in rows
    assert ["figure", "plan", "lower bound"] in rows
    assert ["moves", "5", "4"] in rows
    assert ["waves", "3", "2"] in rows
    assert ["temp moves", "1", ""] in rows
    assert ["pairs split", "0", ""] in rows
    assert ["optimal", "no", ""] in rows
    assert "Options: scope host, temp_ports 39000-39099, max_per_wave none," in text
    assert "- pair digits kept together" in text


def test_before_you_start_says_how_to_execute():
    text = runbook()
    before = text.split("## Before you start")[1].split("\n## ")[0]
    assert "reorg hosts init --plan plans/demo.json" in before
    assert "reorg status --plan plans/demo.json" in before
    assert "reorg next N --plan plans/demo.json" in before
    for command in ("reorg done", "reorg undo", "reorg check", "--here HOST"):
        assert command in before


def test_runbook_is_deterministic_and_undated():
    assert runbook() == runbook()
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", runbook())
    assert runbook().endswith("\n") and not runbook().endswith("\n\n")


def test_mermaid_has_a_subgraph_per_wave_and_a_node_per_waiting_step():
    text = runbook()
    block = text.split("```mermaid\n")[1].split("```")[0]
    assert block.startswith("flowchart")
    assert re.findall(r"subgraph (w\d+)\[", block) == ["w1", "w2", "w3"]
    # steps that wait or are waited for get a node; the others are counted per wave
    assert sorted(re.findall(r"^\s+(s\d+)\[", block, re.M)) == ["s1", "s3", "s5"]
    assert '    w1x["and 1 more step that waits for no step"]' in block.splitlines()
    assert '    w3x["and 1 more step that waits for no step"]' in block.splitlines()
    # media waits for search to leave 3021; search's from-temp waits for media to leave 3012.
    assert "  s1 --> s3" in block.splitlines()
    assert "  s3 --> s5" in block.splitlines()
    assert "  s1 -.-> s5" in block.splitlines()
    assert "s4" not in block.split("end\n")[-1]  # notify waits for nobody


def test_dependencies_host_scope_ignore_other_hosts():
    steps = (
        Step(1, 1, "a", "h1", 3000, 3001, K.MOVE),
        Step(2, 2, "b", "h2", 3005, 3000, K.MOVE),  # 3000 on h2 was never held
        Step(3, 2, "c", "h1", 3002, 3000, K.MOVE),  # waits for a on h1
    )
    assert step_dependencies(steps, Scope.HOST) == {(1, 3): False}


def test_dependencies_global_scope_cross_hosts_but_not_own_service():
    steps = (
        Step(1, 1, "a", "h1", 3000, 3001, K.MOVE),
        Step(2, 2, "b", "h2", 3005, 3000, K.MOVE),  # another service left 3000 on h1: waits
        Step(3, 2, "a", "h3", 3006, 3000, K.MOVE),  # its own binding on h1 never blocks it
    )
    assert step_dependencies(steps, Scope.GLOBAL) == {(1, 2): False}


def test_dependencies_host_scope_count_only_the_latest_holder():
    steps = (
        Step(1, 1, "a", "h", 3000, 3001, K.MOVE),
        Step(2, 2, "b", "h", 3002, 3000, K.MOVE),
        Step(3, 3, "b", "h", 3000, 39000, K.TO_TEMP),
        Step(4, 4, "c", "h", 3003, 3000, K.MOVE),
    )
    deps = step_dependencies(steps, Scope.HOST)
    assert (1, 4) not in deps
    assert deps == {(1, 2): False, (3, 4): False}


def test_dependencies_collision_both_holders_must_leave():
    steps = (
        Step(1, 1, "a", "h", 3015, 3001, K.MOVE),
        Step(2, 2, "b", "h", 3015, 3002, K.MOVE),
        Step(3, 3, "c", "h", 3003, 3015, K.MOVE),
    )
    assert step_dependencies(steps, Scope.HOST) == {(1, 3): False, (2, 3): False}


def test_temp_port_reuse_links_from_temp_to_next_to_temp():
    steps = (
        Step(1, 1, "a", "h", 3000, 39000, K.TO_TEMP),
        Step(2, 2, "b", "h", 3001, 3000, K.MOVE),
        Step(3, 3, "a", "h", 39000, 3001, K.FROM_TEMP),
        Step(4, 4, "c", "h", 3005, 39000, K.TO_TEMP),
    )
    deps = step_dependencies(steps, Scope.HOST)
    assert deps[(1, 3)] is True
    assert deps[(3, 4)] is False


def big_plan(steps_per_wave: int, waves: int) -> Plan:
    steps = []
    n = 0
    for w in range(1, waves + 1):
        for i in range(steps_per_wave):
            n += 1
            port = 3000 + n
            steps.append(Step(n, w, f"svc{n}", f"h{i}", port, port + 10000, K.MOVE))
    metrics = Metrics(n, 0, waves, n, waves, True, 0)
    return Plan("greedy", PlanOptions(), tuple(steps), metrics)


def test_big_plan_gets_one_node_per_wave():
    block = render_mermaid(big_plan(steps_per_wave=30, waves=8))
    assert "subgraph" not in block
    assert re.findall(r"^\s+(b\d+)\[", block, re.M) == [f"b{i}" for i in range(8)]
    assert "Wave 3: 30 steps (30 move)" in block


def test_plan_with_many_waves_bands_them():
    block = render_mermaid(big_plan(steps_per_wave=1, waves=1000))
    nodes = re.findall(r"^\s+(b\d+)\[", block, re.M)
    assert 1 < len(nodes) <= DIAGRAM_MAX_NODES
    assert "Waves 1-25: 25 steps" in block


def test_compact_diagram_links_waves_that_wait_on_each_other():
    steps = [Step(i, i, f"s{i}", "h", 3000 + i, 3000 + i - 1, K.MOVE) for i in range(2, 300)]
    steps = [Step(1, 1, "s1", "h", 3001, 2999, K.MOVE)] + steps
    plan = Plan("greedy", PlanOptions(), tuple(steps), Metrics(299, 0, 299, 299, 299, True, 0))
    block = render_mermaid(plan)
    assert "  b0 -->|1| b1" in block.splitlines()


def test_empty_plan_renders():
    plan = Plan("greedy", PlanOptions(), (), Metrics(0, 0, 0, 0, 0, True, 0))
    text = runbook(plan)
    assert "```mermaid" not in text  # no diagram, no caption
    assert "Nothing to do" in text
    assert "- [ ] " not in text


def test_describe_step_texts_per_kind():
    move = describe_step(STEPS[2], Scope.HOST)
    assert isinstance(move, StepText)
    assert move.title == "3. mana-media on dev: 3012 → 3021"
    assert "`nc -z -w 2 dev 3021 && ! nc -z -w 2 dev 3012`" in move.verify
    assert "back from 3021 to 3012 the same way" in move.rollback
    assert "clients" in move.change
    assert "`! nc -z -w 2 dev 3021`" in move.precheck

    retire = describe_step(STEPS[1], Scope.HOST)
    assert "`! nc -z -w 2 mac-mini 8100`" in retire.verify
    assert "stop and disable it" in retire.change
    assert "start it on 8100" in retire.rollback

    to_temp = describe_step(STEPS[0], Scope.HOST)
    assert "back from temp 39000 to 3021" in to_temp.rollback

    from_temp = describe_step(STEPS[4], Scope.HOST, original_port=3021)
    assert "back from 3012 to temp 39000" in from_temp.rollback
    assert "3021" in from_temp.rollback


def test_describe_step_global_scope_mentions_every_host():
    text = describe_step(STEPS[2], Scope.GLOBAL)
    assert "any host" in text.precheck
    assert "any host" not in describe_step(STEPS[2], Scope.HOST).precheck


def test_runbook_from_temp_rollback_names_original_port():
    text = runbook()
    item = text.split("- [ ] 5.")[1]
    assert "returns it to its original port 3021" in item


def test_step_title_names_the_host_and_the_runbook_its_heading():
    assert step_title(STEPS[2]) == "3. mana-media on dev: 3012 → 3021"
    assert step_title(STEPS[1]) == "2. vllm-voxtral on mac-mini: retire 8100 (stop it; frees the port)"
    item = runbook().split("### Wave 2 on dev")[1]
    assert item.lstrip().startswith("- [ ] 3. mana-media: 3012 → 3021")
