"""Prefect 3 side of `npm run bench:peers`: a long-lived process that runs one flow per request.

Reads lines `<shape> <n>` on stdin (shape: chain or fan), runs that flow of no-op tasks on Prefect's
ephemeral API server (SQLite under PREFECT_HOME) and answers one JSON line per request:
{"shape", "n", "wall_ms", "persisted_ms", "task_runs"}: wall_ms when the flow call returns, persisted_ms when
the server has recorded all n task runs as completed (Prefect records task runs from events, in the background,
so the flow can return before they are stored; Maestro stores each step before the next may start).
The first line it writes is {"ready": true, "prefect": <version>} after a warm-up flow, so server start-up and
imports are never measured.
"""

import json
import sys
import time

import prefect
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    TaskRunFilter,
    TaskRunFilterFlowRunId,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

PERSIST_TIMEOUT_S = 300


@task
def noop(_upstream=None):
    return None


@flow(name="bench-chain", log_prints=False)
def chain(n: int) -> int:
    # Each task takes the previous one's result: a chain of n dependent task runs.
    upstream = None
    for _ in range(n):
        upstream = noop(upstream)
    return n


@flow(name="bench-fan", log_prints=False)
def fan(n: int) -> int:
    # One root, n - 2 tasks after it, one join after them all: the same documents as Maestro's fan.
    root = noop.submit()
    middle = noop.map([root] * (n - 2))
    noop.submit(wait_for=middle).result()
    return n


FLOWS = {"chain": chain, "fan": fan}


def wait_until_recorded(client, flow_run_id, n):
    """Until the server holds n completed task runs of the flow run: asks for the n-th one only."""
    completed = TaskRunFilter(
        flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]),
        state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.COMPLETED])),
    )
    deadline = time.monotonic() + PERSIST_TIMEOUT_S
    while time.monotonic() < deadline:
        if client.read_task_runs(task_run_filter=completed, limit=1, offset=n - 1):
            return True
        time.sleep(0.02)
    return False


def answer(payload):
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main():
    chain(50)
    fan(50)
    answer({"ready": True, "prefect": prefect.__version__, "python": sys.version.split()[0]})
    with get_client(sync_client=True) as client:
        for line in sys.stdin:
            shape, n = line.split()
            n = int(n)
            started = time.perf_counter()
            state = FLOWS[shape](n, return_state=True)
            wall_ms = (time.perf_counter() - started) * 1000
            recorded = wait_until_recorded(client, state.state_details.flow_run_id, n)
            persisted_ms = round((time.perf_counter() - started) * 1000, 1) if recorded else None
            answer(
                {"shape": shape, "n": n, "wall_ms": round(wall_ms, 1), "persisted_ms": persisted_ms, "task_runs": n}
            )


if __name__ == "__main__":
    main()
