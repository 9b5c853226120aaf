"""Token lifecycle figures for ``bench/run.py`` (loaded by ``load_extensions``).

* ``GET access-token (fresh)``: the read path, no refresh (a req/s scenario).

The refresh stampede and the worker's throughput have scripts of their own, which run the
production server settings and worker processes: ``bench/stampede.py``, ``bench/worker.py``.
"""

from __future__ import annotations

from typing import Any

from bench.run import Request, Scenario, scenario


@scenario
def lifecycle_scenarios(ctx: dict[str, Any]) -> list[Scenario]:
    auth = {"Authorization": f"Bearer {ctx['key']}"}
    path = f"/api/v2/o/{ctx['organisation_id']}/connections/{ctx['connection_id']}/access-token"
    return [("GET access-token (fresh)", lambda: Request("GET", path, headers=auth))]
