"""``stacks.progress.ProgressTracker`` fed real Pulumi engine event objects: counts, steps, and the
resources still in flight that a stall report names."""

from __future__ import annotations

from pulumi.automation import EngineEvent, OpType, ResourcePreEvent, ResOutputsEvent, StepEventMetadata
from pulumi.automation.events import ResOpFailedEvent

from stacks.progress import ProgressTracker
from stacks.types import Progress

_TYPES = {"svc": "kubernetes:core/v1:Service", "job": "kubernetes:batch/v1:Job"}


def _meta(name: str, kind: str, op: OpType = OpType.CREATE) -> StepEventMetadata:
    urn = f"urn:pulumi:s::p::storestack:Store${_TYPES[kind]}::{name}"
    return StepEventMetadata(op=op, urn=urn, type=_TYPES[kind], provider="")


def test_in_flight_lists_what_started_and_has_not_finished() -> None:
    seen: list[Progress] = []
    tracker = ProgressTracker(operation="up", known_total=0, callback=seen.append)
    tracker.on_event(EngineEvent(1, 0, resource_pre_event=ResourcePreEvent(_meta("web", "svc"))))
    tracker.on_event(EngineEvent(2, 0, resource_pre_event=ResourcePreEvent(_meta("setup", "job"))))
    assert seen[-1].in_flight == ("creating Service web", "creating Job setup")
    tracker.on_event(EngineEvent(3, 0, res_outputs_event=ResOutputsEvent(_meta("web", "svc"))))
    assert seen[-1].step == "done Service web"
    assert seen[-1].in_flight == ("creating Job setup",)
    assert (seen[-1].done, seen[-1].total) == (1, 2)
    tracker.on_event(EngineEvent(4, 0, res_op_failed_event=ResOpFailedEvent(_meta("setup", "job"), 1, 1)))
    assert seen[-1].step == "failed Job setup" and seen[-1].in_flight == ()
