"""Timer triggers, on NCRONTAB schedules (seconds first)."""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import get_container

blueprint = func.Blueprint()


@blueprint.timer_trigger(arg_name="timer", schedule="*/30 * * * * *", run_on_startup=False)
async def routing_sweep(timer: func.TimerRequest) -> None:
    services = await get_container()
    await services.routing.sweep()
    await services.queue_metrics.record_backlogs()


@blueprint.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
async def capacity_reconcile(timer: func.TimerRequest) -> None:
    services = await get_container()
    await services.routing.reconcile_capacity()


# Presence: disconnection grace, inactivity and the admin's default, every 30 s.
@blueprint.timer_trigger(arg_name="timer", schedule="15,45 * * * * *", run_on_startup=False)
async def presence_refresh(timer: func.TimerRequest) -> None:
    services = await get_container()
    await services.agent_work.refresh_presence()


# Figures: today's (and any unfinalized day's) aggregates per queue and agent.
@blueprint.timer_trigger(arg_name="timer", schedule="5 * * * * *", run_on_startup=False)
async def figures_aggregate(timer: func.TimerRequest) -> None:
    services = await get_container()
    await services.figures.aggregate()
