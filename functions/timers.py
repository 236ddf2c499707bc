"""Timer triggers, on NCRONTAB schedules (seconds first)."""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import get_container

blueprint = func.Blueprint()


@blueprint.timer_trigger(arg_name="timer", schedule="*/30 * * * * *", run_on_startup=False)
async def routing_sweep(timer: func.TimerRequest) -> None:
    services = await get_container()
    await services.routing.sweep()


@blueprint.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
async def capacity_reconcile(timer: func.TimerRequest) -> None:
    services = await get_container()
    await services.routing.reconcile_capacity()
