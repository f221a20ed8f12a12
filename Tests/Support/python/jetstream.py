"""An independent JetStream client for cellos' sink tests (nats-py from PyPI).

  jetstream.py URL create STREAM SUBJECTS  add a file-storage stream on SUBJECTS
  jetstream.py URL read STREAM SUBJECT     print every message of STREAM on SUBJECT,
                                           in stream order: <seq> <Nats-Msg-Id> <data>
"""
import asyncio
import sys

import nats
from nats.js.api import StorageType


async def main(url, command, stream, subject):
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    js = nc.jetstream()
    if command == "create":
        await js.add_stream(name=stream, subjects=[subject], storage=StorageType.FILE)
    elif command == "read":
        # Just after a restart JetStream may still be recovering the stream.
        for attempt in range(50):
            try:
                info = await js.stream_info(stream)
                break
            except Exception:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
        # Direct reads by sequence: what the stream stored, nothing a consumer adds.
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            if msg.subject != subject:
                continue
            msg_id = (msg.headers or {}).get("Nats-Msg-Id", "-")
            sys.stdout.write(f"{seq} {msg_id} {msg.data.decode()}\n")
    await nc.close()


asyncio.run(main(*sys.argv[1:5]))
