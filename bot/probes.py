"""Does Slack answer, does Tencent Meeting accept our credentials: the cheapest calls that tell.

Shared by `python -m bot check` and `/replays status`. Each returns a short line when the system
answers and raises `RuntimeError` with what is wrong when it does not: Slack `auth.test`, and one
Tencent call whose answer tells a rejected credential apart from a merely unknown meeting or user
(it counts against the call budget like any other).
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.meeting import errors
from bot.meeting.client import TencentMeetingClient


async def slack_reachable(client: AsyncWebClient) -> str:
    try:
        response = await client.auth_test()
    except SlackApiError as error:
        raise RuntimeError(
            f"auth.test refused the bot token: {error.response.get('error')}"
        ) from None
    return f"auth.test ok (team {response.get('team')}, bot user {response.get('user_id')})"


async def tencent_reachable(client: TencentMeetingClient, operator: str | None) -> str:
    try:
        if operator:
            await client.user_detail(operator, operator_id=operator)
            return f"credentials accepted; operator {operator} found"
        await client.replays_by_code("000000000", userid="replays-bot-check")
    except errors.CredentialsError as error:
        raise RuntimeError(f"credentials rejected ({error})") from None
    except errors.UserNotRegisteredError:
        if operator:
            raise RuntimeError(
                f"TENCENT_MEETING_OPERATOR_ID {operator} is not a user of the enterprise"
            ) from None
    except (errors.MeetingNotFoundError, errors.NotCreatorError):
        pass
    except errors.TencentMeetingError as error:
        raise RuntimeError(str(error)) from None
    return "credentials accepted"
