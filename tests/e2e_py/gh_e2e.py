#!/usr/bin/python3
"""Independent Python implementation of the Gatehouse end-to-end encryption protocol, version 1.

Written from docs/e2e-protocol.md alone (no C++ source was read), with RFC 9180 HPKE base mode
implemented here from the RFC on top of python3-cryptography's X25519, Ed25519, HMAC/HKDF and
AES-GCM primitives.  Section numbers in comments refer to docs/e2e-protocol.md.

The library is the top half of the file; the command line (`authority-init`, `keygen`, `enroll`,
`revoke`, `seal`, `open`, `publish`, `subscribe`) and a minimal MQTT 3.1.1 client are the bottom
half.  Run `/usr/bin/python3 gh_e2e.py --help`.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import socket
import struct
import sys
import time

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

U64_MAX = 2 ** 64 - 1

# ---------------------------------------------------------------------------------------------
# errors and byte helpers
# ---------------------------------------------------------------------------------------------


class E2EError(Exception):
    """A rejected input; `reason` is one of the spec's drop reasons (section 7) or a local one."""

    def __init__(self, reason, detail=""):
        super().__init__("%s: %s" % (reason, detail) if detail else reason)
        self.reason = reason
        self.detail = detail


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def i64(v):
    return struct.pack(">q", v)


def str8(b):
    if len(b) > 0xFF:
        raise E2EError("parse", "str8 too long")
    return u8(len(b)) + b


def str16(b):
    if len(b) > 0xFFFF:
        raise E2EError("parse", "str16 too long")
    return u16(len(b)) + b


def sha256(b):
    return hashlib.sha256(b).digest()


def fingerprint(pub):
    """Section 2: SHA256(key), 32 bytes."""
    return sha256(pub)


def authority_key_id(ak_pub):
    """Section 3.1: first 8 bytes of SHA256(AK.pub)."""
    return sha256(ak_pub)[:8]


class Reader:
    """Strict big-endian reader: any read past the end or any leftover byte is a parse error."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise E2EError("parse", "length past the end")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def str8(self):
        return self.take(self.u8())

    def str16(self):
        return self.take(self.u16())

    def end(self):
        if self.pos != len(self.data):
            raise E2EError("parse", "trailing bytes")


# ---------------------------------------------------------------------------------------------
# validation of ids, topics and topic filters (section 2 and 3.1)
# ---------------------------------------------------------------------------------------------

_ID_RE = re.compile(rb"\A[A-Za-z0-9_.:\-]{1,64}\Z")


def valid_id(b):
    return isinstance(b, (bytes, bytearray)) and _ID_RE.match(bytes(b)) is not None


def _utf8(b):
    try:
        return bytes(b).decode("utf-8")
    except UnicodeDecodeError:
        return None


def valid_topic(b):
    """1 to 1024 bytes of UTF-8 without NUL, '+' or '#'."""
    if not 1 <= len(b) <= 1024 or _utf8(b) is None:
        return False
    return b"\x00" not in b and b"+" not in b and b"#" not in b


def valid_filter(b):
    """An MQTT topic filter of 1 to 1024 bytes: '+' is a whole level, '#' a whole last level."""
    if not 1 <= len(b) <= 1024 or _utf8(b) is None or b"\x00" in b:
        return False
    levels = bytes(b).split(b"/")
    for i, lv in enumerate(levels):
        if b"+" in lv and lv != b"+":
            return False
        if b"#" in lv and (lv != b"#" or i != len(levels) - 1):
            return False
    return True


def topic_matches(filt, topic):
    """MQTT matching; '#' as the last level matches its parent level and everything below.
    (No special rule for topics that start with '$': the spec does not mention one.)"""
    f = bytes(filt).split(b"/")
    t = bytes(topic).split(b"/")
    for i, lv in enumerate(f):
        if lv == b"#":
            return len(t) >= i
        if i >= len(t):
            return False
        if lv != b"+" and lv != t[i]:
            return False
    return len(f) == len(t)


def _b(x):
    """Accept str or bytes for ids and topics; the wire form is UTF-8."""
    return x.encode("utf-8") if isinstance(x, str) else bytes(x)


# ---------------------------------------------------------------------------------------------
# X25519 low-order points
# ---------------------------------------------------------------------------------------------

_PROBE = X25519PrivateKey.from_private_bytes(bytes([0x42] * 32))


def is_low_order_x25519(pub):
    """True when `pub` (32 bytes) is a low-order point.  Every clamped scalar is a multiple of the
    cofactor 8, so X25519(k, P) is all zero for any k exactly when P's order divides 8 (this
    covers the non-canonical encodings and the masked top bit as RFC 7748 decodes them)."""
    if len(pub) != 32:
        return True
    try:
        _PROBE.exchange(X25519PublicKey.from_public_bytes(bytes(pub)))
    except ValueError:
        return True
    return False


# ---------------------------------------------------------------------------------------------
# RFC 9180 HPKE, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128/256-GCM
# ---------------------------------------------------------------------------------------------

KEM_X25519_SHA256 = 0x0020
KDF_HKDF_SHA256 = 0x0001
AEAD_AES128GCM = 0x0001
AEAD_AES256GCM = 0x0002
_AEAD_NK = {AEAD_AES128GCM: 16, AEAD_AES256GCM: 32}
_NN = 12
_NH = 32


def hkdf_extract(salt, ikm):
    if not salt:
        salt = b"\x00" * _NH
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


def _labeled_extract(suite_id, salt, label, ikm):
    return hkdf_extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(suite_id, prk, label, info, length):
    return hkdf_expand(prk, u16(length) + b"HPKE-v1" + suite_id + label + info, length)


_KEM_SUITE = b"KEM" + u16(KEM_X25519_SHA256)


def _hpke_suite(aead_id):
    return b"HPKE" + u16(KEM_X25519_SHA256) + u16(KDF_HKDF_SHA256) + u16(aead_id)


def _x25519_pub(sk_bytes):
    return X25519PrivateKey.from_private_bytes(sk_bytes).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def hpke_derive_key_pair(ikm):
    """RFC 9180 7.1.3 DeriveKeyPair for X25519: returns (skX, pkX) as raw bytes."""
    dkp_prk = _labeled_extract(_KEM_SUITE, b"", b"dkp_prk", ikm)
    sk = _labeled_expand(_KEM_SUITE, dkp_prk, b"sk", b"", 32)
    return sk, _x25519_pub(sk)


def _dh(sk_bytes, pk_bytes):
    try:
        return X25519PrivateKey.from_private_bytes(sk_bytes).exchange(
            X25519PublicKey.from_public_bytes(pk_bytes))
    except ValueError as e:  # all-zero shared secret (low-order point)
        raise E2EError("low_order", str(e))


def _extract_and_expand(dh, kem_context):
    eae_prk = _labeled_extract(_KEM_SUITE, b"", b"eae_prk", dh)
    return _labeled_expand(_KEM_SUITE, eae_prk, b"shared_secret", kem_context, 32)


def hpke_encap(pkR, skE=None):
    """DHKEM Encap; `skE` (raw 32 bytes) only for known-answer tests."""
    if skE is None:
        skE = X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption())
    pkE = _x25519_pub(skE)
    dh = _dh(skE, pkR)
    return _extract_and_expand(dh, pkE + pkR), pkE


def hpke_decap(enc, skR):
    dh = _dh(skR, enc)
    return _extract_and_expand(dh, enc + _x25519_pub(skR))


class HPKEContext:
    def __init__(self, aead_id, key, base_nonce, exporter_secret):
        self.aead_id = aead_id
        self.key = key
        self.base_nonce = base_nonce
        self.exporter_secret = exporter_secret
        self.seq = 0

    def _nonce(self):
        s = self.seq.to_bytes(_NN, "big")
        return bytes(a ^ b for a, b in zip(self.base_nonce, s))

    def seal(self, aad, pt):
        ct = AESGCM(self.key).encrypt(self._nonce(), pt, aad)
        self.seq += 1
        return ct

    def open(self, aad, ct):
        try:
            pt = AESGCM(self.key).decrypt(self._nonce(), ct, aad)
        except InvalidTag:
            raise E2EError("decrypt", "HPKE open failed")
        self.seq += 1
        return pt

    def export(self, exporter_context, length):
        return _labeled_expand(_hpke_suite(self.aead_id), self.exporter_secret, b"sec",
                               exporter_context, length)


def hpke_key_schedule_base(aead_id, shared_secret, info):
    suite = _hpke_suite(aead_id)
    psk_id_hash = _labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite, b"", b"info_hash", info)
    ksc = u8(0) + psk_id_hash + info_hash
    secret = _labeled_extract(suite, shared_secret, b"secret", b"")
    key = _labeled_expand(suite, secret, b"key", ksc, _AEAD_NK[aead_id])
    base_nonce = _labeled_expand(suite, secret, b"base_nonce", ksc, _NN)
    exporter_secret = _labeled_expand(suite, secret, b"exp", ksc, _NH)
    return HPKEContext(aead_id, key, base_nonce, exporter_secret)


def hpke_setup_base_s(pkR, info, aead_id=AEAD_AES256GCM, skE=None):
    shared_secret, enc = hpke_encap(pkR, skE)
    return enc, hpke_key_schedule_base(aead_id, shared_secret, info)


def hpke_setup_base_r(enc, skR, info, aead_id=AEAD_AES256GCM):
    return hpke_key_schedule_base(aead_id, hpke_decap(enc, skR), info)


def hpke_seal_base(pkR, info, aad, pt, aead_id=AEAD_AES256GCM):
    enc, ctx = hpke_setup_base_s(pkR, info, aead_id)
    return enc, ctx.seal(aad, pt)


def hpke_open_base(enc, skR, info, aad, ct, aead_id=AEAD_AES256GCM):
    return hpke_setup_base_r(enc, skR, info, aead_id).open(aad, ct)


# ---------------------------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------------------------


def ed25519_private(raw):
    return Ed25519PrivateKey.from_private_bytes(bytes(raw))


def ed25519_public_bytes(priv):
    return priv.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)


def x25519_private(raw):
    return X25519PrivateKey.from_private_bytes(bytes(raw))


def x25519_public_bytes(priv):
    return priv.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)


def private_raw(priv):
    return priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                              serialization.NoEncryption())


def ed25519_verify(pub, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(bytes(pub)).verify(bytes(sig), bytes(msg))
        return True
    except (InvalidSignature, ValueError):
        return False


# ---------------------------------------------------------------------------------------------
# 3.1 certificates
# ---------------------------------------------------------------------------------------------

ROLE_SUBSCRIBER = 1
ROLE_PUBLISHER = 2
CERT_MAX = 8192
CERT_LABEL = b"gh-e2e-cert-v1"
CRL_LABEL = b"gh-e2e-crl-v1"


class Certificate:
    __slots__ = ("raw", "role", "serial", "id", "key", "not_before", "not_after", "filters",
                 "akid", "signature", "signed")

    def id_str(self):
        return self.id.decode("ascii")

    def allows(self, topic):
        return any(topic_matches(f, _b(topic)) for f in self.filters)

    def __repr__(self):
        return "Certificate(role=%d, serial=%d, id=%r)" % (self.role, self.serial, self.id)


def issue_certificate(ak_priv, role, serial, ident, key, not_before, not_after, filters):
    """Returns the certificate bytes, signed by the authority's Ed25519 private key."""
    ident = _b(ident)
    filters = [_b(f) for f in filters]
    if role not in (ROLE_SUBSCRIBER, ROLE_PUBLISHER):
        raise E2EError("certificate", "role")
    if not valid_id(ident):
        raise E2EError("certificate", "id")
    if len(key) != 32:
        raise E2EError("certificate", "key length")
    if role == ROLE_SUBSCRIBER and is_low_order_x25519(key):
        raise E2EError("certificate", "low-order subscriber key")
    if not not_before < not_after:
        raise E2EError("certificate", "not_before >= not_after")
    if not 1 <= len(filters) <= 32 or not all(valid_filter(f) for f in filters):
        raise E2EError("certificate", "filters")
    body = b"GHC" + u8(1) + u8(role) + u64(serial) + str8(ident) + bytes(key) \
        + i64(not_before) + i64(not_after) + u8(len(filters)) \
        + b"".join(str16(f) for f in filters) + authority_key_id(ed25519_public_bytes(ak_priv))
    sig = ak_priv.sign(CERT_LABEL + body)
    cert = body + sig
    if len(cert) > CERT_MAX:
        raise E2EError("certificate", "longer than 8192 bytes")
    return cert


def parse_certificate(data):
    data = bytes(data)
    if len(data) > CERT_MAX:
        raise E2EError("parse", "certificate longer than 8192 bytes")
    r = Reader(data)
    if r.take(3) != b"GHC":
        raise E2EError("parse", "certificate magic")
    if r.u8() != 1:
        raise E2EError("parse", "certificate version")
    c = Certificate()
    c.raw = data
    c.role = r.u8()
    if c.role not in (ROLE_SUBSCRIBER, ROLE_PUBLISHER):
        raise E2EError("parse", "certificate role")
    c.serial = r.u64()
    c.id = r.str8()
    if not valid_id(c.id):
        raise E2EError("parse", "certificate id")
    c.key = r.take(32)
    c.not_before = r.i64()
    c.not_after = r.i64()
    if not c.not_before < c.not_after:
        raise E2EError("parse", "certificate validity")
    n = r.u8()
    if not 1 <= n <= 32:
        raise E2EError("parse", "certificate filter count")
    c.filters = []
    for _ in range(n):
        f = r.str16()
        if not valid_filter(f):
            raise E2EError("parse", "certificate filter")
        c.filters.append(f)
    c.akid = r.take(8)
    c.signed = data[:r.pos]
    c.signature = r.take(64)
    r.end()
    return c


def verify_certificate(data, ak_pub, role, topic, now=None, crl=None):
    """Section 3.1; returns the parsed Certificate or raises E2EError('certificate' or 'parse').
    `crl` is a RevocationList (already verified) or None; `topic` None skips the filter check."""
    if now is None:
        now = int(time.time())
    c = data if isinstance(data, Certificate) else parse_certificate(data)
    if c.akid != authority_key_id(ak_pub):
        raise E2EError("certificate", "authority key id")
    if not ed25519_verify(ak_pub, c.signature, CERT_LABEL + c.signed):
        raise E2EError("certificate", "signature")
    if not c.not_before <= now < c.not_after:
        raise E2EError("certificate", "not valid now")
    if crl is not None and crl.revokes(c.serial):
        raise E2EError("certificate", "revoked")
    if c.role != role:
        raise E2EError("certificate", "role")
    if topic is not None and not c.allows(topic):
        raise E2EError("certificate", "topic not allowed")
    if c.role == ROLE_SUBSCRIBER and is_low_order_x25519(c.key):
        raise E2EError("certificate", "low-order key")
    return c


# ---------------------------------------------------------------------------------------------
# 3.2 revocation list
# ---------------------------------------------------------------------------------------------

CRL_MAX_SERIALS = 100000


class RevocationList:
    __slots__ = ("raw", "issued_at", "serials", "_set", "akid", "signature", "signed")

    def revokes(self, serial):
        return serial in self._set


def issue_crl(ak_priv, issued_at, serials):
    serials = sorted(set(serials))
    if len(serials) > CRL_MAX_SERIALS:
        raise E2EError("parse", "too many serials")
    body = b"GHR" + u8(1) + i64(issued_at) + u32(len(serials)) \
        + b"".join(u64(s) for s in serials) + authority_key_id(ed25519_public_bytes(ak_priv))
    return body + ak_priv.sign(CRL_LABEL + body)


def parse_crl(data):
    data = bytes(data)
    r = Reader(data)
    if r.take(3) != b"GHR":
        raise E2EError("parse", "crl magic")
    if r.u8() != 1:
        raise E2EError("parse", "crl version")
    c = RevocationList()
    c.raw = data
    c.issued_at = r.i64()
    n = r.u32()
    if n > CRL_MAX_SERIALS:
        raise E2EError("parse", "crl too many serials")
    c.serials = [r.u64() for _ in range(n)]
    if any(a >= b for a, b in zip(c.serials, c.serials[1:])):
        raise E2EError("parse", "crl serials not ascending and distinct")
    c._set = frozenset(c.serials)
    c.akid = r.take(8)
    c.signed = data[:r.pos]
    c.signature = r.take(64)
    r.end()
    return c


def verify_crl(data, ak_pub):
    c = data if isinstance(data, RevocationList) else parse_crl(data)
    if c.akid != authority_key_id(ak_pub):
        raise E2EError("certificate", "crl authority key id")
    if not ed25519_verify(ak_pub, c.signature, CRL_LABEL + c.signed):
        raise E2EError("signature", "crl signature")
    return c


# ---------------------------------------------------------------------------------------------
# 4. messages
# ---------------------------------------------------------------------------------------------

TYPE_DATA = 1
TYPE_KEYREQ = 2
TYPE_WRAP = 3
DATA_LABEL = b"gh-e2e-data-v1"
AAD_LABEL = b"gh-e2e-aad-v1"
WRAP_LABEL = b"gh-e2e-wrap-v1"
WRAP_INFO_LABEL = b"gatehouse-e2e-wrap-v1"
MAX_PLAINTEXT = 1024 * 1024
SEQ_MAX = 2 ** 64 - 2


def _header(r, want_type):
    if r.take(3) != b"GHE":
        raise E2EError("parse", "magic")
    if r.u8() != 1:
        raise E2EError("parse", "version")
    t = r.u8()
    if t != want_type:
        raise E2EError("parse", "type %d" % t)


def message_type(data):
    """The type byte of a message (1, 2, 3) after checking magic and version, else None."""
    if len(data) >= 5 and data[:3] == b"GHE" and data[3] == 1 and data[4] in (1, 2, 3):
        return data[4]
    return None


class DataMessage:
    __slots__ = ("publisher_id", "epoch", "seq", "ct", "signature", "body")


def data_nonce(iv, publisher_id, seq):
    mask = sha256(publisher_id)[:4] + u64(seq)
    return bytes(a ^ b for a, b in zip(iv, mask))


def data_aad(topic, epoch, seq, publisher_id):
    return AAD_LABEL + str16(topic) + u64(epoch) + u64(seq) + str8(publisher_id)


def encode_data(signing_key, topic, publisher_id, epoch, seq, ck, iv, plaintext):
    topic, publisher_id = _b(topic), _b(publisher_id)
    if not valid_topic(topic) or not valid_id(publisher_id):
        raise E2EError("parse", "topic or publisher id")
    if not 1 <= epoch <= U64_MAX or not 1 <= seq <= U64_MAX:
        raise E2EError("parse", "epoch or seq")
    if len(plaintext) > MAX_PLAINTEXT:
        raise E2EError("parse", "plaintext longer than 1 MiB")
    ct = AESGCM(ck).encrypt(data_nonce(iv, publisher_id, seq), bytes(plaintext),
                            data_aad(topic, epoch, seq, publisher_id))
    body = b"GHE" + u8(1) + u8(TYPE_DATA) + str8(publisher_id) + u64(epoch) + u64(seq) \
        + u32(len(ct)) + ct
    return body + signing_key.sign(DATA_LABEL + str16(topic) + body)


def parse_data(data):
    r = Reader(data)
    _header(r, TYPE_DATA)
    m = DataMessage()
    m.publisher_id = r.str8()
    if not valid_id(m.publisher_id):
        raise E2EError("parse", "publisher id")
    m.epoch = r.u64()
    m.seq = r.u64()
    if m.epoch < 1 or m.seq < 1:
        raise E2EError("parse", "epoch or seq is 0")
    n = r.u32()
    if not 16 <= n <= MAX_PLAINTEXT + 16:
        raise E2EError("parse", "ciphertext length")
    m.ct = r.take(n)
    m.body = r.data[:r.pos]
    m.signature = r.take(64)
    r.end()
    return m


def decrypt_data(m, topic, ck, iv):
    topic = _b(topic)
    if len(m.ct) < 16:
        raise E2EError("decrypt", "short")
    try:
        return AESGCM(ck).decrypt(data_nonce(iv, m.publisher_id, m.seq), m.ct,
                                  data_aad(topic, m.epoch, m.seq, m.publisher_id))
    except InvalidTag:
        raise E2EError("decrypt", "tag")


class KeyRequest:
    __slots__ = ("topic", "cert")


def encode_keyreq(topic, cert):
    topic = _b(topic)
    if not valid_topic(topic):
        raise E2EError("parse", "topic")
    return b"GHE" + u8(1) + u8(TYPE_KEYREQ) + str16(topic) + str16(bytes(cert))


def parse_keyreq(data):
    r = Reader(data)
    _header(r, TYPE_KEYREQ)
    m = KeyRequest()
    m.topic = r.str16()
    if not valid_topic(m.topic):
        raise E2EError("parse", "topic")
    m.cert = r.str16()
    r.end()
    if len(m.cert) > CERT_MAX:
        raise E2EError("parse", "certificate too long")
    return m


class WrapMessage:
    __slots__ = ("topic", "publisher_cert", "fingerprint", "epoch", "enc", "sealed", "signature",
                 "body")


def wrap_info(topic, epoch, fp):
    return WRAP_INFO_LABEL + str16(topic) + u64(epoch) + str8(fp)


def encode_wrap(signing_key, publisher_cert, publisher_id, topic, sub_key, epoch, ck, iv):
    """Section 4.3: HPKE-seal CK || IV for subscriber X25519 key `sub_key` and sign the wrap."""
    topic, publisher_id = _b(topic), _b(publisher_id)
    if epoch < 1:
        raise E2EError("parse", "epoch")
    fp = fingerprint(sub_key)
    enc, sealed = hpke_seal_base(bytes(sub_key), wrap_info(topic, epoch, fp), str8(publisher_id),
                                 bytes(ck) + bytes(iv))
    body = b"GHE" + u8(1) + u8(TYPE_WRAP) + str16(topic) + str16(bytes(publisher_cert)) + fp \
        + u64(epoch) + enc + u16(len(sealed)) + sealed
    return body + signing_key.sign(WRAP_LABEL + body)


def parse_wrap(data):
    r = Reader(data)
    _header(r, TYPE_WRAP)
    m = WrapMessage()
    m.topic = r.str16()
    if not valid_topic(m.topic):
        raise E2EError("parse", "topic")
    m.publisher_cert = r.str16()
    if len(m.publisher_cert) > CERT_MAX:
        raise E2EError("parse", "certificate too long")
    m.fingerprint = r.take(32)
    m.epoch = r.u64()
    if m.epoch < 1:
        raise E2EError("parse", "epoch is 0")
    m.enc = r.take(32)
    m.sealed = r.str16()
    if len(m.sealed) != 60:
        raise E2EError("parse", "sealed length is not 60")
    m.body = r.data[:r.pos]
    m.signature = r.take(64)
    r.end()
    return m


def req_topic(topic):
    return _b(topic) + b"/_e2e/req"


def wrap_topic(topic, subscriber_id):
    return _b(topic) + b"/_e2e/wrap/" + _b(subscriber_id)


# ---------------------------------------------------------------------------------------------
# 6. publisher
# ---------------------------------------------------------------------------------------------


class Outgoing:
    """Something the caller must publish: MQTT topic (bytes), payload, retained flag."""
    __slots__ = ("topic", "payload", "retain")

    def __init__(self, topic, payload, retain):
        self.topic, self.payload, self.retain = topic, payload, retain

    def __repr__(self):
        return "Outgoing(%r, %d bytes, retain=%s)" % (self.topic, len(self.payload), self.retain)


class _Epoch:
    __slots__ = ("number", "ck", "iv", "started", "sealed")


class _Remembered:
    __slots__ = ("cert", "raw", "wrap_cache")


class Publisher:
    """Section 5 (publisher side) and 6.  Wraps to publish accumulate in `outbox`; take them with
    take_outbox() and publish them before the data message seal() returns."""

    def __init__(self, signing_key, cert, ak_pub, state_path, topics, crl=None, now=None,
                 reserve=1000, rekey_interval=24 * 3600, max_messages_per_epoch=2 ** 32 - 1,
                 request_interval=1.0):
        self.sk = signing_key if not isinstance(signing_key, (bytes, bytearray)) \
            else ed25519_private(signing_key)
        self.ak_pub = bytes(ak_pub)
        self.now = now or time.time
        self.crl = verify_crl(crl, self.ak_pub) if isinstance(crl, (bytes, bytearray)) else crl
        self.cert_raw = bytes(cert)
        self.cert = verify_certificate(self.cert_raw, self.ak_pub, ROLE_PUBLISHER, None,
                                       int(self.now()), self.crl)
        if self.cert.key != ed25519_public_bytes(self.sk):
            raise E2EError("certificate", "the certificate is not for this signing key")
        self.id = self.cert.id
        self.reserve = reserve
        self.rekey_interval = rekey_interval
        self.max_messages = max_messages_per_epoch
        self.request_interval = request_interval
        self.state_path = state_path
        self.topics = [_b(t) for t in topics]
        for t in self.topics:
            if not valid_topic(t):
                raise E2EError("parse", "invalid topic %r" % t)
            if not self.cert.allows(t):
                raise E2EError("certificate", "own certificate does not allow %r" % t)
        self.counters = {}
        self.outbox = []
        self.last_answer = {}        # subscriber id -> time of the last answered request
        self.persisted_epochs = {}   # topic -> epoch number (also topics not served now)
        self.subscribers = {}        # topic -> {id: _Remembered}
        self.removed = {}            # topic -> set(id)
        self.stored_subscribers = {}  # topic -> [raw cert] for topics not served now
        self.reserved = 0
        self._load_state()
        self.seq = max(1, self.reserved)
        self.epochs = {}
        for t in self.topics:
            self._new_epoch(t, persist=False)
        self._save_state()
        for t in self.topics:
            self._wrap_all(t)

    # --- state file (6.3) ---
    def _load_state(self):
        if not os.path.exists(self.state_path):
            return
        with open(self.state_path, "rb") as f:
            lines = f.read().split(b"\n")
        version_seen = False
        for line in lines:
            if not line:
                continue
            if line.startswith(b"subscriber."):
                # the value is base64 (may end in '='); the topic may hold '=': take the first
                # split whose value is a certificate
                rest = line[len(b"subscriber."):]
                for i in [m.start() for m in re.finditer(b"=", rest)]:
                    try:
                        raw = base64.b64decode(rest[i + 1:], validate=True)
                        parse_certificate(raw)
                    except (binascii.Error, ValueError, E2EError):
                        continue
                    topic = rest[:i]
                    self._remember_from_state(topic, raw)
                    break
                continue
            if line.startswith(b"removed."):
                topic, _, ident = line[len(b"removed."):].rpartition(b"=")
                self.removed.setdefault(topic, set()).add(ident)
                continue
            key, _, value = line.rpartition(b"=")
            if key == b"version":
                if value != b"1":
                    raise E2EError("state", "unsupported state file version %r" % value)
                version_seen = True
            elif key == b"publisher":
                if value != self.id:
                    raise E2EError("state", "state file is for publisher %r, not %r"
                                   % (value, self.id))
            elif key == b"reserved":
                self.reserved = int(value)
            elif key.startswith(b"epoch."):
                self.persisted_epochs[key[len(b"epoch."):]] = int(value)
            # unknown keys are ignored
        if not version_seen:
            raise E2EError("state", "state file without version=1")

    def _remember_from_state(self, topic, raw):
        if topic not in self.topics:
            self.stored_subscribers.setdefault(topic, []).append(raw)
            return
        try:
            c = verify_certificate(raw, self.ak_pub, ROLE_SUBSCRIBER, topic, int(self.now()),
                                   self.crl)
        except E2EError:
            return  # expired or revoked since: forgotten
        if c.id in self.removed.get(topic, ()):
            return
        self._remember(topic, c)

    def _save_state(self):
        out = [b"version=1", b"publisher=" + self.id, b"reserved=%d" % self.reserved]
        epochs = dict(self.persisted_epochs)
        for t, e in self.epochs.items():
            epochs[t] = e.number
        for t in sorted(epochs):
            out.append(b"epoch." + t + b"=%d" % epochs[t])
        for t in sorted(self.subscribers):
            for ident in sorted(self.subscribers[t]):
                out.append(b"subscriber." + t + b"=" + base64.b64encode(
                    self.subscribers[t][ident].raw))
        for t in sorted(self.stored_subscribers):
            for raw in self.stored_subscribers[t]:
                out.append(b"subscriber." + t + b"=" + base64.b64encode(raw))
        for t in sorted(self.removed):
            for ident in sorted(self.removed[t]):
                out.append(b"removed." + t + b"=" + ident)
        data = b"\n".join(out) + b"\n"
        d = os.path.dirname(os.path.abspath(self.state_path))
        tmp = self.state_path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, self.state_path)
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    # --- epochs (6.1) ---
    def _new_epoch(self, topic, persist=True):
        old = self.epochs.get(topic)
        number = (old.number if old else self.persisted_epochs.get(topic, 0)) + 1
        if number > U64_MAX:
            raise E2EError("state", "epoch overflow")
        e = _Epoch()
        e.number = number
        e.ck = secrets.token_bytes(32)
        e.iv = secrets.token_bytes(12)
        e.started = self.now()
        e.sealed = 0
        self.epochs[topic] = e  # the old CK and IV are dropped with the old object
        self.persisted_epochs[topic] = number
        for r in self.subscribers.get(topic, {}).values():
            r.wrap_cache = None
        if persist:
            self._save_state()
        return e

    def rekey(self, topic):
        """Begin a new epoch for `topic` and queue wraps for every remaining subscriber."""
        topic = _b(topic)
        self._new_epoch(topic)
        self._wrap_all(topic)

    def epoch(self, topic):
        return self.epochs[_b(topic)].number

    def _wrap_all(self, topic):
        now = int(self.now())
        for ident, r in sorted(self.subscribers.get(topic, {}).items()):
            try:
                verify_certificate(r.cert, self.ak_pub, ROLE_SUBSCRIBER, topic, now, self.crl)
            except E2EError:
                continue
            self._send_wrap(topic, r)

    def _send_wrap(self, topic, r):
        e = self.epochs[topic]
        if r.wrap_cache is None or r.wrap_cache[0] != e.number:
            w = encode_wrap(self.sk, self.cert_raw, self.id, topic, r.cert.key, e.number,
                            e.ck, e.iv)
            r.wrap_cache = (e.number, w)
        self.outbox.append(Outgoing(wrap_topic(topic, r.cert.id), r.wrap_cache[1], True))

    def take_outbox(self):
        out, self.outbox = self.outbox, []
        return out

    def _count(self, reason):
        self.counters[reason] = self.counters.get(reason, 0) + 1

    def _remember(self, topic, cert):
        subs = self.subscribers.setdefault(topic, {})
        r = subs.get(cert.id)
        if r is None or r.raw != cert.raw:
            r = _Remembered()
            r.cert, r.raw, r.wrap_cache = cert, cert.raw, None
            subs[cert.id] = r
            return r, True
        return r, False

    # --- key requests (5) ---
    def handle_key_request(self, payload, mqtt_topic=None):
        """Returns 'answered', 'resent' or a drop reason; the wrap goes to the outbox."""
        try:
            m = parse_keyreq(payload)
        except E2EError:
            self._count("parse")
            return "parse"
        if m.topic not in self.topics or (mqtt_topic is not None
                                          and _b(mqtt_topic) != req_topic(m.topic)):
            self._count("topic")
            return "topic"
        try:
            c = verify_certificate(m.cert, self.ak_pub, ROLE_SUBSCRIBER, m.topic,
                                   int(self.now()), self.crl)
        except E2EError:
            self._count("certificate")
            return "certificate"
        if c.id in self.removed.get(m.topic, ()):
            self._count("removed")
            return "removed"
        old = self.subscribers.get(m.topic, {}).get(c.id)
        now = self.now()
        e = self.epochs[m.topic]
        # 5: a subscriber that already has the current epoch's wrap gets it again (no crypto);
        # only requests that need a new wrap are rate limited per subscriber id.
        resend = (old is not None and old.raw == c.raw and old.wrap_cache
                  and old.wrap_cache[0] == e.number)
        last = self.last_answer.get(c.id)
        if not resend and last is not None and now - last < self.request_interval:
            self._count("rate")
            return "rate"
        # wrap before remembering: an HPKE failure (low-order key) drops the request
        try:
            if resend:
                wrap = old.wrap_cache[1]
                status = "resent"
            else:
                wrap = encode_wrap(self.sk, self.cert_raw, self.id, m.topic, c.key, e.number,
                                   e.ck, e.iv)
                status = "answered"
        except E2EError:
            self._count("low_order")
            return "low_order"
        r, changed = self._remember(m.topic, c)
        r.wrap_cache = (e.number, wrap)
        self.last_answer[c.id] = now
        if changed:
            self._save_state()
        self.outbox.append(Outgoing(wrap_topic(m.topic, c.id), wrap, True))
        return status

    # --- removal (6.4) ---
    def remove_subscriber(self, ident, topic=None, operator=True):
        """Forget subscriber `ident` (on `topic` or on every topic), begin new epochs, queue wraps
        for the remaining subscribers.  An operator removal is remembered (removed.<topic>=id).
        Returns the topics that were rekeyed."""
        ident = _b(ident)
        topics = [_b(topic)] if topic is not None else list(self.topics)
        rekeyed = []
        for t in topics:
            had = self.subscribers.get(t, {}).pop(ident, None) is not None
            if operator:
                self.removed.setdefault(t, set()).add(ident)
            if had and t in self.epochs:
                self._new_epoch(t, persist=False)
                rekeyed.append(t)
        self._save_state()
        for t in rekeyed:
            self._wrap_all(t)
        return rekeyed

    def readmit(self, ident, topic=None):
        """Undo an operator removal (the subscriber must send a key request again)."""
        ident = _b(ident)
        for t in ([_b(topic)] if topic is not None else list(self.removed)):
            self.removed.get(t, set()).discard(ident)
        self._save_state()

    def apply_crl(self, crl_bytes):
        """Replace the revocation list by a later one and remove every revoked subscriber."""
        new = verify_crl(crl_bytes, self.ak_pub)
        if self.crl is not None and new.issued_at <= self.crl.issued_at:
            self._count("crl_not_newer")
            return False
        self.crl = new
        for t in list(self.subscribers):
            for ident, r in list(self.subscribers[t].items()):
                if new.revokes(r.cert.serial):
                    self.remove_subscriber(ident, t, operator=False)
        return True

    def tick(self):
        """Time-driven duties: expiring certificates and rekey_interval."""
        now = self.now()
        for t in list(self.subscribers):
            for ident, r in list(self.subscribers[t].items()):
                if now >= r.cert.not_after:
                    self.remove_subscriber(ident, t, operator=False)
        for t, e in list(self.epochs.items()):
            if now - e.started >= self.rekey_interval:
                self.rekey(t)

    # --- sealing (4.1, 6.1, 6.2) ---
    def seal(self, topic, plaintext):
        topic = _b(topic)
        if topic not in self.epochs:
            raise E2EError("topic", "not a topic of this publisher")
        if len(plaintext) > MAX_PLAINTEXT:
            raise E2EError("parse", "plaintext longer than 1 MiB")
        self.tick()
        e = self.epochs[topic]
        if e.sealed >= self.max_messages:
            self.rekey(topic)
            e = self.epochs[topic]
        seq = self.seq
        if seq > SEQ_MAX:
            raise E2EError("exhausted", "sequence numbers exhausted")
        if self.reserved <= seq:
            self.reserved = min(seq + self.reserve, U64_MAX)
            self._save_state()
        data = encode_data(self.sk, topic, self.id, e.number, seq, e.ck, e.iv, plaintext)
        self.seq = seq + 1
        e.sealed += 1
        return data


# ---------------------------------------------------------------------------------------------
# 7. subscriber
# ---------------------------------------------------------------------------------------------

WINDOW = 1024


class ReplayWindow:
    """Highest accepted seq H and a bitmap of [H - 1023, H] (bit i is H - i)."""

    def __init__(self, highest=0, bitmap=0):
        self.highest = highest
        self.bitmap = bitmap

    def check(self, seq):
        """'new', 'duplicate' or 'too_old'."""
        if seq > self.highest:
            return "new"
        diff = self.highest - seq
        if diff >= WINDOW:
            return "too_old"
        return "duplicate" if (self.bitmap >> diff) & 1 else "new"

    def mark(self, seq):
        if seq > self.highest:
            shift = seq - self.highest
            self.bitmap = ((self.bitmap << shift) | 1) & ((1 << WINDOW) - 1) \
                if shift < WINDOW else 1
            self.highest = seq
        else:
            self.bitmap |= 1 << (self.highest - seq)


class OpenResult:
    __slots__ = ("status", "plaintext", "publisher_id", "epoch", "seq", "request")

    def __init__(self, status, plaintext=None, m=None, request=None):
        self.status = status
        self.plaintext = plaintext
        self.publisher_id = m.publisher_id if m is not None else None
        self.epoch = m.epoch if m is not None else None
        self.seq = m.seq if m is not None else None
        self.request = request  # key request bytes to publish on <topic>/_e2e/req, if any

    def __repr__(self):
        return "OpenResult(%s, %r)" % (self.status, self.plaintext)


class Subscriber:
    def __init__(self, private_key, cert, ak_pub, crl=None, now=None, request_interval=1.0):
        self.sk = private_key if not isinstance(private_key, (bytes, bytearray)) \
            else x25519_private(private_key)
        self.sk_raw = private_raw(self.sk)
        self.pub = x25519_public_bytes(self.sk)
        self.fp = fingerprint(self.pub)
        self.ak_pub = bytes(ak_pub)
        self.now = now or time.time
        self.crl = verify_crl(crl, self.ak_pub) if isinstance(crl, (bytes, bytearray)) else crl
        self.cert_raw = bytes(cert)
        self.cert = parse_certificate(self.cert_raw)
        if self.cert.key != self.pub:
            raise E2EError("certificate", "the certificate is not for this key")
        self.id = self.cert.id
        self.request_interval = request_interval
        self.asked = set()        # topics it sent key requests for
        self.last_request = {}    # topic -> time
        self.keys = {}            # (publisher_id, topic) -> {epoch: (ck, iv, publisher_key)}
        self.highest_epoch = {}   # (publisher_id, topic) -> epoch
        self.windows = {}         # publisher_id -> ReplayWindow
        self.counters = {}

    def _count(self, reason):
        self.counters[reason] = self.counters.get(reason, 0) + 1

    def key_request(self, topic, force=True):
        """The key request (4.2) for `topic`, or None when one went out less than a second ago
        and force is False."""
        topic = _b(topic)
        now = self.now()
        last = self.last_request.get(topic)
        if not force and last is not None and now - last < self.request_interval:
            return None
        self.asked.add(topic)
        self.last_request[topic] = now
        return encode_keyreq(topic, self.cert_raw)

    def apply_crl(self, crl_bytes):
        new = verify_crl(crl_bytes, self.ak_pub)
        if self.crl is not None and new.issued_at <= self.crl.issued_at:
            return False
        self.crl = new
        return True

    def handle_wrap(self, payload, topic, mqtt_topic=None):
        """Section 5, subscriber side.  Returns 'ok' or the drop reason."""
        topic = _b(topic)
        try:
            m = parse_wrap(payload)
        except E2EError:
            self._count("parse")
            return "parse"
        if m.topic != topic or topic not in self.asked or m.fingerprint != self.fp or \
                (mqtt_topic is not None and _b(mqtt_topic) != wrap_topic(topic, self.id)):
            self._count("parse")
            return "not_for_me"
        try:
            pc = verify_certificate(m.publisher_cert, self.ak_pub, ROLE_PUBLISHER, topic,
                                    int(self.now()), self.crl)
        except E2EError:
            self._count("certificate")
            return "certificate"
        if not ed25519_verify(pc.key, m.signature, WRAP_LABEL + m.body):
            self._count("signature")
            return "signature"
        k = (pc.id, topic)
        if m.epoch < self.highest_epoch.get(k, 0):
            self._count("old_epoch")
            return "old_epoch"
        try:
            pt = hpke_open_base(m.enc, self.sk_raw, wrap_info(topic, m.epoch, self.fp),
                                str8(pc.id), m.sealed)
        except E2EError:
            self._count("decrypt")
            return "decrypt"
        if len(pt) != 44:
            self._count("decrypt")
            return "decrypt"
        epochs = self.keys.setdefault(k, {})
        epochs[m.epoch] = (pt[:32], pt[32:], pc.key)
        high = max(m.epoch, self.highest_epoch.get(k, 0))
        self.highest_epoch[k] = high
        for e in list(epochs):
            if e < high - 1:
                del epochs[e]
        return "ok"

    def open(self, payload, topic):
        """Section 7.  Returns an OpenResult; status 'ok' carries the plaintext."""
        topic = _b(topic)
        try:
            m = parse_data(payload)
        except E2EError:
            self._count("parse")
            return OpenResult("parse")
        k = (m.publisher_id, topic)
        entry = self.keys.get(k, {}).get(m.epoch)
        if entry is None:
            self._count("no_key")
            req = None
            if m.epoch > self.highest_epoch.get(k, 0):
                req = self.key_request(topic, force=False)
            return OpenResult("no_key", m=m, request=req)
        ck, iv, pkey = entry
        if not ed25519_verify(pkey, m.signature, DATA_LABEL + str16(topic) + m.body):
            self._count("signature")
            return OpenResult("signature", m=m)
        w = self.windows.setdefault(m.publisher_id, ReplayWindow())
        verdict = w.check(m.seq)
        if verdict == "duplicate":
            self._count("replay")
            return OpenResult("duplicate", m=m)
        if verdict == "too_old":
            self._count("too_old")
            return OpenResult("too_old", m=m)
        try:
            pt = decrypt_data(m, topic, ck, iv)
        except E2EError:
            self._count("decrypt")
            return OpenResult("decrypt", m=m)
        w.mark(m.seq)
        return OpenResult("ok", plaintext=pt, m=m)

    def replay_state(self):
        """Text to save across restarts: one 'publisher_id highest bitmap_hex' line each."""
        return "".join("%s %d %x\n" % (p.decode(), w.highest, w.bitmap)
                       for p, w in sorted(self.windows.items()))

    def restore_replay_state(self, text):
        for line in text.splitlines():
            if line.strip():
                p, h, bm = line.split()
                self.windows[p.encode()] = ReplayWindow(int(h), int(bm, 16))


# ---------------------------------------------------------------------------------------------
# minimal MQTT 3.1.1 client (QoS 0 publish/subscribe, retained flag, keepalive)
# ---------------------------------------------------------------------------------------------


class MQTTError(Exception):
    pass


def _varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class MiniMQTT:
    def __init__(self, host, port, client_id, keepalive=30):
        self.host, self.port = host, port
        self.client_id = client_id.encode() if isinstance(client_id, str) else client_id
        self.keepalive = keepalive
        self.sock = None
        self.buf = b""
        self.pending = []     # received (topic, payload, retain)
        self.last_send = 0.0
        self.next_id = 1

    def _send(self, data):
        self.sock.sendall(data)
        self.last_send = time.monotonic()

    def _packet(self, ptype_flags, body):
        return bytes([ptype_flags]) + _varint(len(body)) + body

    def connect(self, timeout=10):
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        body = str16(b"MQTT") + u8(4) + u8(0x02) + u16(self.keepalive) + str16(self.client_id)
        self._send(self._packet(0x10, body))
        t, _, payload = self._read_packet(time.monotonic() + timeout)
        if t != 2 or len(payload) != 2 or payload[1] != 0:
            raise MQTTError("CONNACK refused: %r" % payload)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(min(remaining, 0.5))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not chunk:
            raise MQTTError("connection closed by the broker")
        self.buf += chunk
        return True

    def _try_parse(self):
        if len(self.buf) < 2:
            return None
        mult, length, i = 1, 0, 1
        while True:
            if i >= len(self.buf):
                return None
            b = self.buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
            if i > 4:
                raise MQTTError("bad remaining length")
        if len(self.buf) < i + length:
            return None
        first = self.buf[0]
        body = self.buf[i:i + length]
        self.buf = self.buf[i + length:]
        return first >> 4, first & 0x0F, body

    def _read_packet(self, deadline):
        """Reads packets until a non-PUBLISH one arrives (PUBLISHes are queued)."""
        while True:
            p = self._try_parse()
            if p is None:
                if not self._fill(deadline) and time.monotonic() >= deadline:
                    raise MQTTError("timeout waiting for the broker")
                continue
            if p[0] == 3:
                self._on_publish(p[1], p[2])
                continue
            return p

    def _on_publish(self, flags, body):
        r = Reader(body)
        topic = r.str16()
        qos = (flags >> 1) & 3
        if qos:
            pid = r.u16()
            if qos == 1:
                self._send(self._packet(0x40, u16(pid)))
            elif qos == 2:
                self._send(self._packet(0x50, u16(pid)))
        self.pending.append((topic, body[r.pos:], bool(flags & 1)))

    def subscribe(self, topics, timeout=10):
        pid = self.next_id
        self.next_id += 1
        body = u16(pid) + b"".join(str16(_b(t)) + u8(0) for t in topics)
        self._send(self._packet(0x82, body))
        deadline = time.monotonic() + timeout
        while True:
            t, _, payload = self._read_packet(deadline)
            if t == 9 and payload[:2] == u16(pid):
                if any(x == 0x80 for x in payload[2:]):
                    raise MQTTError("subscription refused")
                return

    def publish(self, topic, payload, retain=False):
        body = str16(_b(topic)) + bytes(payload)
        self._send(self._packet(0x30 | (1 if retain else 0), body))

    def poll(self, timeout):
        """Waits up to `timeout` seconds for messages; returns the list received (maybe empty)."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            if time.monotonic() - self.last_send > self.keepalive / 2:
                self._send(b"\xc0\x00")  # PINGREQ
            p = self._try_parse()
            if p is not None:
                if p[0] == 3:
                    self._on_publish(p[1], p[2])
                continue  # PINGRESP and others
            if not self._fill(deadline) and time.monotonic() >= deadline:
                break
        out, self.pending = self.pending, []
        return out

    def disconnect(self):
        try:
            self._send(b"\xe0\x00")
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data, mode=0o644):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def _log(*a):
    print(*a, file=sys.stderr, flush=True)


def cmd_authority_init(a):
    os.makedirs(a.dir, exist_ok=True)
    if os.path.exists(os.path.join(a.dir, "authority.key")) and not a.force:
        _log("error: %s/authority.key exists (use --force to overwrite)" % a.dir)
        return 2
    ak = Ed25519PrivateKey.generate()
    _write(os.path.join(a.dir, "authority.key"), private_raw(ak), 0o600)
    _write(os.path.join(a.dir, "authority.pub"), ed25519_public_bytes(ak))
    _write(os.path.join(a.dir, "crl.bin"), issue_crl(ak, int(time.time()), []))
    _write(os.path.join(a.dir, "serial"), b"0\n")
    return 0


def _authority(d):
    ak = ed25519_private(_read(os.path.join(d, "authority.key")))
    if ed25519_public_bytes(ak) != _read(os.path.join(d, "authority.pub")):
        raise E2EError("state", "authority.key and authority.pub do not match")
    return ak


def cmd_keygen(a):
    if a.type == "x25519":
        k = X25519PrivateKey.generate()
        pub = x25519_public_bytes(k)
    else:
        k = Ed25519PrivateKey.generate()
        pub = ed25519_public_bytes(k)
    _write(a.out + ".key", private_raw(k), 0o600)
    _write(a.out + ".pub", pub)
    return 0


def cmd_enroll(a):
    ak = _authority(a.dir)
    key = _read(a.key)
    if len(key) != 32:
        _log("error: %s is not a raw 32-byte public key" % a.key)
        return 2
    sp = os.path.join(a.dir, "serial")
    last = int(_read(sp).strip() or b"0") if os.path.exists(sp) else 0
    serial = last + 1
    now = int(time.time())
    role = ROLE_SUBSCRIBER if a.role == "subscriber" else ROLE_PUBLISHER
    cert = issue_certificate(ak, role, serial, a.id, key, now, now + int(a.days * 86400),
                             a.topic)
    _write(sp, b"%d\n" % serial)
    _write(a.out, cert)
    print(serial)
    return 0


def cmd_revoke(a):
    ak = _authority(a.dir)
    ak_pub = ed25519_public_bytes(ak)
    path = os.path.join(a.dir, "crl.bin")
    old = verify_crl(_read(path), ak_pub) if os.path.exists(path) else None
    serials = set(old.serials if old else []) | set(a.serial)
    issued = int(time.time())
    if old is not None and issued <= old.issued_at:
        issued = old.issued_at + 1   # a holder only takes a later list
    _write(path, issue_crl(ak, issued, serials))
    return 0


def cmd_seal(a):
    """Offline: writes OUT/wrap-<subscriber id>.bin and OUT/data-<i>.bin (i from 1)."""
    pub = Publisher(_read(a.key), _read(a.cert), _read(a.authority), a.state, [a.topic],
                    crl=_read(a.crl) if a.crl else None)
    os.makedirs(a.out, exist_ok=True)
    for c in a.to:
        status = pub.handle_key_request(encode_keyreq(a.topic, _read(c)))
        if status not in ("answered", "resent"):
            _log("error: %s: key request refused (%s)" % (c, status))
            return 1
    datas = [pub.seal(a.topic, v.encode("utf-8")) for v in a.plaintext]
    for o in pub.take_outbox():
        ident = o.topic.rsplit(b"/", 1)[1].decode()
        _write(os.path.join(a.out, "wrap-%s.bin" % ident), o.payload)
    for i, d in enumerate(datas, 1):
        _write(os.path.join(a.out, "data-%d.bin" % i), d)
    return 0


def cmd_open(a):
    """Offline: applies the wraps, opens the data files in order, prints one plaintext a line;
    exit 1 when any data file did not open."""
    sub = Subscriber(_read(a.key), _read(a.cert), _read(a.authority),
                     crl=_read(a.crl) if a.crl else None)
    sub.key_request(a.topic)
    for w in a.wrap:
        s = sub.handle_wrap(_read(w), a.topic)
        if s != "ok":
            _log("wrap %s dropped: %s" % (w, s))
    rc = 0
    for d in a.data:
        r = sub.open(_read(d), a.topic)
        if r.status == "ok":
            sys.stdout.write(r.plaintext.decode("utf-8", "replace") + "\n")
        else:
            _log("data %s dropped: %s" % (d, r.status))
            rc = 1
    sys.stdout.flush()
    return rc


def _client_id(prefix):
    return "%s-%d-%s" % (prefix, os.getpid(), secrets.token_hex(3))


def cmd_publish(a):
    topic = a.topic.encode()
    pub = Publisher(_read(a.key), _read(a.cert), _read(a.authority), a.state, [topic],
                    crl=_read(a.crl) if a.crl else None, reserve=a.reserve)
    removals = {}
    for spec in a.remove_at or []:
        k, _, ident = spec.partition(":")
        removals.setdefault(int(k), []).append(ident)
    cli = MiniMQTT(a.host, a.port, _client_id("gh-e2e-pub"))
    cli.connect()
    cli.subscribe([req_topic(topic)])

    def flush():
        for o in pub.take_outbox():
            cli.publish(o.topic, o.payload, o.retain)

    def serve(seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for t, payload, _ in cli.poll(left):
                status = pub.handle_key_request(payload, t)
                _log("key request on %s: %s" % (t.decode("utf-8", "replace"), status))
            pub.tick()
            flush()

    flush()
    _log("publisher %s epoch %d on %s" % (pub.id.decode(), pub.epoch(topic), a.topic))
    if a.wait_s:
        serve(a.wait_s)
    for i in range(1, a.count + 1):
        for ident in removals.get(i, []):
            rk = pub.remove_subscriber(ident)
            _log("removed %s; new epoch %d" % (ident, pub.epoch(topic)) if rk else
                 "removed %s (was not a subscriber)" % ident)
            flush()
        data = pub.seal(topic, ('{"value":"%s-%d"}' % (a.value_prefix, i)).encode())
        flush()
        cli.publish(topic, data)
        serve(a.interval_ms / 1000.0)
    serve(a.linger_s)
    cli.disconnect()
    _log("publisher done; drops: %r" % pub.counters)
    return 0


def cmd_subscribe(a):
    topic = a.topic.encode()
    sub = Subscriber(_read(a.key), _read(a.cert), _read(a.authority),
                     crl=_read(a.crl) if a.crl else None)
    if a.replay_state and os.path.exists(a.replay_state):
        sub.restore_replay_state(_read(a.replay_state).decode())
    wt = wrap_topic(topic, sub.id)
    cli = MiniMQTT(a.host, a.port, _client_id("gh-e2e-sub"))
    cli.connect()
    cli.subscribe([topic, wt])
    cli.publish(req_topic(topic), sub.key_request(topic))
    held = []      # (received at, payload) of data without a key yet: retried after a wrap
    got = 0
    deadline = time.monotonic() + a.timeout_s

    def deliver(r):
        nonlocal got
        sys.stdout.write(r.plaintext.decode("utf-8", "replace") + "\n")
        sys.stdout.flush()
        got += 1

    while got < a.count:
        left = deadline - time.monotonic()
        if left <= 0:
            _log("timeout: %d of %d messages; drops: %r" % (got, a.count, sub.counters))
            cli.disconnect()
            return 1
        for t, payload, _ in cli.poll(min(left, 1.0)):
            if t == wt:
                s = sub.handle_wrap(payload, topic, t)
                _log("wrap: %s" % s)
                if s == "ok":
                    retry, held = held, []
                    for _, p in retry:
                        r = sub.open(p, topic)
                        if r.status == "ok" and got < a.count:
                            deliver(r)
                        elif r.status == "no_key":
                            held.append((time.monotonic(), p))
            elif t == topic:
                r = sub.open(payload, topic)
                if r.status == "ok":
                    if got < a.count:
                        deliver(r)
                elif r.status == "no_key":
                    held.append((time.monotonic(), payload))
                    if r.request is not None:
                        cli.publish(req_topic(topic), r.request)
                else:
                    _log("data dropped: %s" % r.status)
            if got >= a.count:
                break
        # hold messages without a key briefly (section 7, step 2), then drop them
        now = time.monotonic()
        held = [(ts, p) for ts, p in held if now - ts < a.hold_s][-1000:]
    if a.replay_state:
        _write(a.replay_state, sub.replay_state().encode())
    cli.disconnect()
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="gh_e2e.py", description=__doc__.split("\n")[0])
    sp = p.add_subparsers(dest="cmd", required=True)

    s = sp.add_parser("authority-init", help="create an enrolment authority directory")
    s.add_argument("--dir", required=True)
    s.add_argument("--force", action="store_true")
    s.set_defaults(fn=cmd_authority_init)

    s = sp.add_parser("keygen", help="PREFIX.key (raw 32 bytes, 0600) and PREFIX.pub")
    s.add_argument("--type", choices=["x25519", "ed25519"], required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_keygen)

    s = sp.add_parser("enroll", help="issue a certificate; prints its serial")
    s.add_argument("--dir", required=True)
    s.add_argument("--role", choices=["subscriber", "publisher"], required=True)
    s.add_argument("--id", required=True)
    s.add_argument("--key", required=True, help="PREFIX.pub")
    s.add_argument("--topic", action="append", required=True, help="topic filter (repeatable)")
    s.add_argument("--days", type=float, default=365)
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_enroll)

    s = sp.add_parser("revoke", help="add serials to DIR/crl.bin")
    s.add_argument("--dir", required=True)
    s.add_argument("--serial", type=int, action="append", required=True)
    s.set_defaults(fn=cmd_revoke)

    s = sp.add_parser("seal", help="offline: wraps for --to certs and data for --plaintext")
    s.add_argument("--topic", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--authority", required=True)
    s.add_argument("--crl")
    s.add_argument("--state", required=True)
    s.add_argument("--to", action="append", default=[], help="subscriber certificate")
    s.add_argument("--plaintext", action="append", default=[])
    s.add_argument("--out", required=True, help="directory")
    s.set_defaults(fn=cmd_seal)

    s = sp.add_parser("open", help="offline: apply wraps and open data files")
    s.add_argument("--topic", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--authority", required=True)
    s.add_argument("--crl")
    s.add_argument("--wrap", action="append", default=[])
    s.add_argument("--data", action="append", default=[])
    s.set_defaults(fn=cmd_open)

    s = sp.add_parser("publish", help="MQTT publisher")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=1883)
    s.add_argument("--topic", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--authority", required=True)
    s.add_argument("--crl")
    s.add_argument("--state", required=True)
    s.add_argument("--count", type=int, default=10)
    s.add_argument("--interval-ms", type=int, default=200)
    s.add_argument("--value-prefix", default="v")
    s.add_argument("--linger-s", type=float, default=2.0)
    s.add_argument("--wait-s", type=float, default=0.0,
                   help="answer key requests this long before the first message")
    s.add_argument("--reserve", type=int, default=1000)
    s.add_argument("--remove-at", action="append",
                   help="K:ID: remove subscriber ID (operator removal) before message K")
    s.set_defaults(fn=cmd_publish)

    s = sp.add_parser("subscribe", help="MQTT subscriber")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=1883)
    s.add_argument("--topic", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--authority", required=True)
    s.add_argument("--crl")
    s.add_argument("--count", type=int, default=10)
    s.add_argument("--timeout-s", type=float, default=30)
    s.add_argument("--hold-s", type=float, default=5.0,
                   help="keep data without a key this long for a wrap to arrive")
    s.add_argument("--replay-state", help="file to restore/save the replay window")
    s.set_defaults(fn=cmd_subscribe)

    a = p.parse_args(argv)
    try:
        return a.fn(a)
    except (E2EError, MQTTError, OSError) as e:
        _log("error: %s" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
