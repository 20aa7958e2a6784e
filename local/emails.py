"""The alert emails, as SNS's email protocol would deliver them: one .eml file per email, and the terminal.

`email_file` builds the message an email subscriber gets for one publish (subject, text, SNS's footer);
`bench/demo.py` writes its replay's emails with it. `EmailWriter` is the local runtime's mailbox: it reads
what the alerts topic received (moto keeps every publish), writes `NN-name.eml` for each email subscriber's
copy into the output folder and prints it.
"""

from __future__ import annotations

import email
import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

from local.stack import ACCOUNT, REGION, Stack

log = logging.getLogger("greeter.local")
SENDER = "Greeter <no-reply@sns.amazonaws.com>"  # SNS email: the topic's DisplayName, AWS's sender address
SNS_FOOTER = (
    "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below "
    "to unsubscribe:\nhttps://sns.{region}.amazonaws.com/unsubscribe.html?SubscriptionArn={subscription}"
    "&Endpoint={endpoint}\n\nPlease do not reply directly to this email. If you have any questions or comments "
    "regarding this email, please contact us at https://aws.amazon.com/support\n"
)
_SUBJECT_NAME = re.compile(r"^Greeter: (.+?) is at ")


def email_file(alert: dict, sent_at: float, recipient: str, subscription_arn: str, time_zone: str) -> EmailMessage:
    """The email SNS would deliver to one subscriber for one published alert (email protocol: subject and text)."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = SENDER
    message["To"] = recipient
    message["Subject"] = alert["subject"]
    message["Date"] = format_datetime(datetime.fromtimestamp(sent_at, ZoneInfo(time_zone)))
    message["Message-ID"] = make_msgid(domain="email.amazonses.com")
    footer = SNS_FOOTER.format(region=REGION, subscription=subscription_arn, endpoint=recipient)
    message.set_content(alert["message"] + footer, cte="8bit")
    return message


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def describe(path: Path) -> str:
    """An .eml file as the terminal shows it: the headers a person reads, then the text without SNS's footer."""
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    lines = [f"=== {path.name} " + "=" * max(3, 70 - len(path.name))]
    lines += [f"{header + ':':<9}{message[header]}" for header in ("From", "To", "Date", "Subject")]
    body = message.get_content().replace("\r\n", "\n")
    lines += ["", body.split("\n--\n")[0].rstrip(), ""]
    return "\n".join(lines)


class EmailWriter:
    """Writes each email the alerts topic sends to its email subscribers as output/NN-name.eml, and prints it."""

    def __init__(self, stack: Stack, output: Path, echo: Callable[[str], None], topic: str = "AlertsTopic") -> None:
        self.stack = stack
        self.output = output
        self.echo = echo
        self.topic_arn = stack.ref(topic)
        self.time_zone = stack.parameters["StoreTimeZone"]
        self.written: list[Path] = sorted(output.glob("[0-9]*.eml"))
        self._seen = 0
        self._lock = threading.Lock()

    def _number(self) -> int:
        numbers = [int(m[1]) for p in self.output.glob("*.eml") if (m := re.match(r"(\d+)-", p.name))]
        return max(numbers, default=0) + 1

    def check(self) -> list[Path]:
        """Write the emails for what was published since the last check."""
        from moto.sns.models import sns_backends

        with self._lock:
            topic = sns_backends[ACCOUNT][REGION].topics[self.topic_arn]
            notifications = list(topic.sent_notifications[self._seen :])
            self._seen += len(notifications)
            if not notifications:
                return []
            subscribers = [
                s
                for s in sns_backends[ACCOUNT][REGION].subscriptions.values()
                if s.topic.arn == self.topic_arn and s.protocol == "email"
            ]
            written = []
            for _message_id, message, subject, _attributes, *_ in notifications:
                alert = {"subject": subject or "", "message": message}
                found = _SUBJECT_NAME.match(alert["subject"])
                name = slug(found[1]) if found else "alert"
                for copy, subscriber in enumerate(subscribers):
                    suffix = f"-to-{slug(subscriber.endpoint)}" if copy else ""
                    path = self.output / f"{self._number():02d}-{name}{suffix}.eml"
                    sent = email_file(
                        alert, datetime.now().timestamp(), subscriber.endpoint, subscriber.arn, self.time_zone
                    )
                    temporary = path.with_suffix(".eml.partial")
                    temporary.write_bytes(bytes(sent))
                    temporary.replace(path)  # whole files only: a reader never sees half an email
                    written.append(path)
                    self.echo(describe(path))
            self.written += written
            return written
