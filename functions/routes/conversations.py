"""Every agent action on one conversation, `/api/conversations/{id}/*`: messages and notes,
the customer's card, accepting or declining an offer, picking, consulting, transferring (and
whom to), typing, ending (wrap-up), closing and reopening. An agent acts only on its own
conversations: others are 404."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from functions.dependencies import AgentCaller, Services
from functions.problems import WORK_ACTION_PROBLEMS, problem_responses
from shared.domain.conversations import MessageForAgents
from shared.services.agent_work import CustomerCard, WorkView
from shared.services.collaboration import ConsultCandidate, TransferTarget, TransferTargets
from shared.services.typing import AgentTypingView

router = APIRouter(prefix="/api", tags=["conversations"])


class AttachmentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attachment_id: str = Field(min_length=1, max_length=64)


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    internal: bool = Field(default=False, description="an internal note: agents only")
    media: list[AttachmentRef] = Field(
        default_factory=list,
        max_length=10,
        description="files uploaded to the conversation (POST .../attachments) to send with "
        "the reply: on chat, and on SMS as MMS where the provider sends it (Twilio); where the "
        "channel cannot, the reply is refused (422), never sent without them",
    )


class CustomerChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, description="one of the card's candidates")


class ConsultRequest(BaseModel):
    agent_id: str = Field(min_length=1)


@router.get("/conversations/{conversation_id}/messages", responses=problem_responses(404))
async def conversation_messages(
    conversation_id: str, caller: AgentCaller, services: Services
) -> list[MessageForAgents]:
    return list(await services.agent_work.messages(caller.subject, conversation_id))


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses={**WORK_ACTION_PROBLEMS, **problem_responses((422, "Files cannot be sent"))},
)
async def post_message(
    conversation_id: str, new: NewMessage, caller: AgentCaller, services: Services
) -> MessageForAgents:
    return await services.agent_work.post_message(
        caller.subject,
        conversation_id,
        new.text,
        internal=new.internal,
        attachment_ids=[ref.attachment_id for ref in new.media],
    )


@router.get("/conversations/{conversation_id}/customer", responses=problem_responses(404))
async def customer_card(
    conversation_id: str, caller: AgentCaller, services: Services
) -> CustomerCard:
    """Who the customer is: the identified record or the candidates, pre-chat answers and
    context variables."""
    return await services.agent_work.customer_card(caller.subject, conversation_id)


@router.put(
    "/conversations/{conversation_id}/customer",
    responses={**WORK_ACTION_PROBLEMS, **problem_responses((403, "A consultant cannot choose"))},
)
async def identify_customer(
    conversation_id: str, choice: CustomerChoice, caller: AgentCaller, services: Services
) -> CustomerCard:
    """The primary agent picks which candidate record the customer is."""
    return await services.agent_work.identify_customer(
        caller.subject, conversation_id, choice.customer_id
    )


@router.get("/conversations/{conversation_id}/transfer-targets", responses=WORK_ACTION_PROBLEMS)
async def transfer_targets(
    conversation_id: str, caller: AgentCaller, services: Services
) -> TransferTargets:
    """Queues and agents the primary agent may transfer to, by name."""
    return await services.collaboration.transfer_targets(caller.subject, conversation_id)


@router.get("/conversations/{conversation_id}/consult-candidates", responses=WORK_ACTION_PROBLEMS)
async def consult_candidates(
    conversation_id: str, caller: AgentCaller, services: Services
) -> list[ConsultCandidate]:
    return await services.collaboration.consult_candidates(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/consult", responses=WORK_ACTION_PROBLEMS)
async def consult(
    conversation_id: str, request: ConsultRequest, caller: AgentCaller, services: Services
) -> WorkView:
    return await services.collaboration.consult(caller.subject, conversation_id, request.agent_id)


@router.post(
    "/conversations/{conversation_id}/consult/leave",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=WORK_ACTION_PROBLEMS,
)
async def leave_consult(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    await services.collaboration.leave_consult(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/transfer", responses=WORK_ACTION_PROBLEMS)
async def transfer(
    conversation_id: str, target: TransferTarget, caller: AgentCaller, services: Services
) -> WorkView:
    return await services.collaboration.transfer(caller.subject, conversation_id, target)


@router.post("/conversations/{conversation_id}/end", responses=WORK_ACTION_PROBLEMS)
async def end(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.collaboration.end(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/reopen", responses=WORK_ACTION_PROBLEMS)
async def reopen(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.collaboration.reopen(caller.subject, conversation_id)


@router.post(
    "/conversations/{conversation_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=WORK_ACTION_PROBLEMS,
)
async def agent_typing(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    """The primary agent is typing: the customer sees it for a few seconds; repeat while
    typing."""
    await services.typing.agent_types(caller.subject, conversation_id)


@router.get("/conversations/{conversation_id}/typing", responses=problem_responses(404))
async def customer_typing(
    conversation_id: str, caller: AgentCaller, services: Services
) -> AgentTypingView:
    """Whether the customer is typing now."""
    return await services.typing.agent_view(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/accept", responses=WORK_ACTION_PROBLEMS)
async def accept_offer(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.assignments.accept(caller.subject, conversation_id)


@router.post(
    "/conversations/{conversation_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=WORK_ACTION_PROBLEMS,
)
async def decline_offer(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    await services.assignments.decline(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/pick", responses=WORK_ACTION_PROBLEMS)
async def pick(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.assignments.pick(caller.subject, conversation_id)


@router.post(
    "/conversations/{conversation_id}/close",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=WORK_ACTION_PROBLEMS,
)
async def close(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    await services.assignments.close(caller.subject, conversation_id)
