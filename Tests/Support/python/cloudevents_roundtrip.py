"""Reads CloudEvents JSON lines on stdin, parses each with the CloudEvents Python
SDK and writes what the SDK serializes back, one per line (cellos' signature
round-trip test: docs/events.md, "Signed form")."""
import sys

from cloudevents.core.formats.json import JSONFormat

fmt = JSONFormat()
for line in sys.stdin.buffer:
    if line.strip():
        sys.stdout.buffer.write(fmt.write(fmt.read(None, line)) + b"\n")
