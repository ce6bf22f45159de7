#!/usr/bin/python3
# A raw ECDSA signature (r || s, as PKCS#11 returns it) on stdin as DER on stdout.
import sys
raw = sys.stdin.buffer.read()
n = len(raw) // 2


def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + bytes([len(b)]) + b


body = der_int(raw[:n]) + der_int(raw[n:])
sys.stdout.buffer.write(b"\x30" + bytes([len(body)]) + body)
