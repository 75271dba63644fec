"""An SMTP server that misbehaves on purpose, for Docket's mail tests.

Built on aiosmtpd (the same server as the well-behaved tests, with a
handler of our own). It stores every message it accepts in <maildir>/new/
as one file, like aiosmtpd's Mailbox handler, and:

  --refuse ADDRESS   answers 550 to RCPT TO:<ADDRESS> (a permanent refusal)
  --defer N          answers 451 to the first N DATA commands (transient)
  --drop N           closes the connection in the middle of the first N DATA

Usage: python faulty_smtp.py --port PORT --maildir DIR [options]
"""

import argparse
import asyncio
import os
import uuid

from aiosmtpd.controller import Controller


class Faulty:
    def __init__(self, maildir, refuse, defer, drop):
        self.maildir = maildir
        self.refuse = set(refuse)
        self.defer = defer
        self.drop = drop
        os.makedirs(os.path.join(maildir, "new"), exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop > 0:
            self.drop -= 1
            server.transport.close()
            return "421 closing"
        if self.defer > 0:
            self.defer -= 1
            return "451 4.3.0 try again later"
        name = os.path.join(self.maildir, "new", uuid.uuid4().hex)
        with open(name + ".tmp", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        os.rename(name + ".tmp", name)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--defer", type=int, default=0)
    parser.add_argument("--drop", type=int, default=0)
    args = parser.parse_args()
    handler = Faulty(args.maildir, args.refuse, args.defer, args.drop)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port, enable_SMTPUTF8=True)
    controller.start()
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
