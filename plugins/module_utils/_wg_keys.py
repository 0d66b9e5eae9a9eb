# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""WireGuard key material: generation (X25519 through cryptography) and pure byte helpers.

A private module of the fakevpc.vpc collection: its interface may change without notice.
Keys are what `wg genkey`, `wg pubkey` and `wg genpsk` print: base64 of 32 bytes.
"""

from __future__ import annotations

import base64
import binascii
import os

try:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError:
    X25519PrivateKey = None

KEY_LENGTH = 32


def decode_key(text):
    """Return the 32 bytes of a base64 key, or None when text is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError, AttributeError):
        return None
    return raw if len(raw) == KEY_LENGTH else None


def encode_key(raw):
    return base64.b64encode(raw).decode("ascii")


def clamp_private_key(raw):
    """Clamp a Curve25519 secret as `wg genkey` does (and as WireGuard stores it)."""
    clamped = bytearray(raw)
    clamped[0] &= 248
    clamped[31] = (clamped[31] & 127) | 64
    return bytes(clamped)


def generate_private_key():
    """A new private key, clamped, base64."""
    return encode_key(clamp_private_key(os.urandom(KEY_LENGTH)))


def generate_preshared_key():
    """A new preshared key: 32 random bytes, base64."""
    return encode_key(os.urandom(KEY_LENGTH))


def public_key(private_key):
    """The public key of a base64 private key, base64. Needs the cryptography library."""
    raw = decode_key(private_key)
    if raw is None:
        raise ValueError("not a WireGuard key: base64 of 32 bytes expected")
    public = X25519PrivateKey.from_private_bytes(raw).public_key()
    return encode_key(public.public_bytes(Encoding.Raw, PublicFormat.Raw))
