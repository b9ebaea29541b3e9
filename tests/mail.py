"""The handler of the real local SMTP server (aiosmtpd) that mail tests send to."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default


class Inbox:
    """Keeps every delivered message, and its envelope recipients at the same index."""

    def __init__(self):
        self.messages = []
        self.recipients = []

    async def handle_DATA(self, server, session, envelope):
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"
