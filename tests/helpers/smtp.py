"""A small real SMTP server on a loopback port, for the worker's tests: the worker
subprocess sends through Django's SMTP backend to it, and the test reads what arrived.

`hold()` makes it keep the next message without answering the end of its data, so a
worker can be killed while it is sending (the server has the message, the worker never
hears it was accepted).
"""

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message


@dataclass
class Mailbox:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # While the gate is closed every message is taken and its "250" waits for the gate:
    # senders pile up mid-send, so a test can see how many send at the same time.
    gate: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0

    def __post_init__(self) -> None:
        self.gate.set()

    def hold(self) -> None:
        self.holding.set()

    def close_gate(self) -> None:
        self.gate.clear()

    def open_gate(self) -> None:
        self.gate.set()

    def senders_waiting(self) -> int:
        with self.lock:
            return self.waiting

    def recipients(self) -> list[str]:
        with self.lock:
            return [message["To"] for message in self.messages]


def _handler(mailbox: Mailbox) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")
            self.wfile.flush()

        def handle(self) -> None:
            self.reply("220 localhost test SMTP")
            while line := self.rfile.readline():
                command = line.strip().decode(errors="replace").upper()
                if command.startswith(("EHLO", "HELO")):
                    self.reply("250 localhost")
                elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                    self.reply("250 OK")
                elif command == "DATA":
                    self.reply("354 end with .")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    with mailbox.lock:
                        mailbox.messages.append(message_from_bytes(data))
                    if mailbox.holding.is_set():
                        mailbox.holding.clear()
                        mailbox.held.set()
                        mailbox.release.wait(timeout=60)
                        return  # the connection drops without a reply
                    if not mailbox.gate.is_set():
                        with mailbox.lock:
                            mailbox.waiting += 1
                        mailbox.gate.wait(timeout=60)
                        with mailbox.lock:
                            mailbox.waiting -= 1
                    self.reply("250 queued")
                elif command == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")

    return Handler


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    server = _Server((mailbox.host, 0), _handler(mailbox))
    mailbox.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mailbox
    finally:
        mailbox.release.set()
        mailbox.gate.set()
        server.shutdown()
        server.server_close()
