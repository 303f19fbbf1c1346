"""A real SMTP server for rollbook's mail tests (Debian's python3-aiosmtpd).

Usage: /usr/bin/python3 tests/smtp_sink.py PORT DIR

Listens on 127.0.0.1:PORT and prints "listening" once it accepts connections. Each message
accepted is written to DIR as NNNNNN.json (numbered in arrival order, continuing after the files
already there, so a restarted server keeps counting), with the envelope recipients, the headers
the tests check, and both bodies decoded by Python's email package (quoted-printable and base64
undone). A recipient whose address starts with "refuse" is refused for good (550, naming the
address, as real servers do); one that starts with "busy" gets a 451 (try again later).
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = len([n for n in os.listdir(out) if n.endswith(".json")])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("refuse"):
            return "550 5.1.1 <%s>: Recipient address rejected: no such mailbox" % address
        if local.startswith("busy"):
            return "451 4.3.0 <%s>: mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        record = {
            "rcpt": envelope.rcpt_tos,
            "mail_from": envelope.mail_from,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "reply_to": str(message["Reply-To"] or ""),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "content_type": message.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        self.count += 1
        name = "%06d.json" % self.count
        tmp = os.path.join(self.out, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out, name))
        print("accepted " + name, flush=True)
        return "250 2.0.0 Message accepted"


async def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    handler = Sink(out)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", port)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
