#!/usr/bin/python3
"""Self-tests of the independent Python implementation (gh_e2e.py) of docs/e2e-protocol.md.

Run: /usr/bin/python3 tests/e2e_py/test_gh_e2e_self.py   (exits non-zero on failure)
The MQTT test starts its own mosquitto on a free 127.0.0.1 port and is skipped, with a message,
when /usr/sbin/mosquitto is missing.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gh_e2e as g  # noqa: E402

h = bytes.fromhex
NOW = 1_700_000_000
MOSQUITTO = "/usr/sbin/mosquitto"
PY = "/usr/bin/python3"
CLI = os.path.join(HERE, "gh_e2e.py")


class Clock:
    def __init__(self, t=NOW):
        self.t = float(t)

    def __call__(self):
        return self.t


class HPKEVectorA1(unittest.TestCase):
    """RFC 9180 A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode."""

    info = h("4f6465206f6e2061204772656369616e2055726e")
    pt = h("4265617574792069732074727574682c20747275746820626561757479")

    def test_derive_key_pair(self):
        skE, pkE = g.hpke_derive_key_pair(
            h("7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234"))
        self.assertEqual(skE.hex(), "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736")
        self.assertEqual(pkE.hex(), "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431")
        skR, pkR = g.hpke_derive_key_pair(
            h("6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037"))
        self.assertEqual(skR.hex(), "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8")
        self.assertEqual(pkR.hex(), "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d")

    def test_key_schedule_and_encryptions(self):
        skE = h("52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736")
        pkR = h("3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d")
        skR = h("4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8")
        ss, enc = g.hpke_encap(pkR, skE)
        self.assertEqual(enc.hex(), "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431")
        self.assertEqual(ss.hex(), "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc")
        self.assertEqual(g.hpke_decap(enc, skR), ss)
        enc, s = g.hpke_setup_base_s(pkR, self.info, g.AEAD_AES128GCM, skE)
        self.assertEqual(s.key.hex(), "4531685d41d65f03dc48f6b8302c05b0")
        self.assertEqual(s.base_nonce.hex(), "56d890e5accaaf011cff4b7d")
        self.assertEqual(s.exporter_secret.hex(),
                         "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8")
        r = g.hpke_setup_base_r(enc, skR, self.info, g.AEAD_AES128GCM)
        cts = ["f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
               "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84",
               "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180"]
        for i, ct in enumerate(cts):
            aad = b"Count-%d" % i
            self.assertEqual(s.seal(aad, self.pt).hex(), ct)
            self.assertEqual(r.open(aad, h(ct)), self.pt)
        self.assertEqual(s.export(b"", 32).hex(),
                         "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee")
        self.assertEqual(s.export(b"\x00", 32).hex(),
                         "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5")
        self.assertEqual(s.export(b"TestContext", 32).hex(),
                         "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931")

    def test_aes256_roundtrip_and_failures(self):
        sk, pk = g.hpke_derive_key_pair(b"x" * 32)
        enc, ct = g.hpke_seal_base(pk, b"info", b"aad", b"k" * 44)
        self.assertEqual(len(ct), 60)
        self.assertEqual(g.hpke_open_base(enc, sk, b"info", b"aad", ct), b"k" * 44)
        for args in ((enc, sk, b"inf0", b"aad", ct), (enc, sk, b"info", b"aaD", ct)):
            with self.assertRaises(g.E2EError):
                g.hpke_open_base(*args)
        with self.assertRaises(g.E2EError) as cm:   # low-order recipient key
            g.hpke_seal_base(bytes(32), b"info", b"aad", b"k" * 44)
        self.assertEqual(cm.exception.reason, "low_order")


class Fixture:
    """An authority, a publisher 'pub-1' for sensors/#, and helpers."""

    def __init__(self, tmp, clock):
        self.tmp, self.clock = tmp, clock
        self.ak = g.Ed25519PrivateKey.generate()
        self.ak_pub = g.ed25519_public_bytes(self.ak)
        self.serial = 0
        self.pk = g.Ed25519PrivateKey.generate()
        self.pcert = self.cert(g.ROLE_PUBLISHER, "pub-1", g.ed25519_public_bytes(self.pk),
                               ["sensors/#"])

    def cert(self, role, ident, key, filters, nb=None, na=None, ak=None):
        self.serial += 1
        return g.issue_certificate(ak or self.ak, role, self.serial, ident, key,
                                   NOW - 10 if nb is None else nb,
                                   NOW + 86400 if na is None else na, filters)

    def subscriber(self, ident, filters=("sensors/#",), **kw):
        sk = g.X25519PrivateKey.generate()
        cert = self.cert(g.ROLE_SUBSCRIBER, ident, g.x25519_public_bytes(sk), list(filters), **kw)
        return g.Subscriber(sk, cert, self.ak_pub, now=self.clock), cert

    def publisher(self, topics=("sensors/t1",), state="pub.state", **kw):
        return g.Publisher(self.pk, self.pcert, self.ak_pub, os.path.join(self.tmp, state),
                           list(topics), now=self.clock, **kw)


def deliver(pub, subs):
    """Hand every queued wrap to the subscriber whose wrap topic it is; returns statuses."""
    out = []
    for o in pub.take_outbox():
        for s in subs:
            for t in s.asked:
                if o.topic == g.wrap_topic(t, s.id):
                    out.append((s.id, s.handle_wrap(o.payload, t, o.topic)))
    return out


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gh-e2e-")
        self.clock = Clock()
        self.f = Fixture(self.tmp, self.clock)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def join(self, pub, sub, topic=b"sensors/t1"):
        st = pub.handle_key_request(sub.key_request(topic), g.req_topic(topic))
        self.assertIn(st, ("answered", "resent"))
        self.clock.t += 1.01  # the publisher answers one request a second per id
        return deliver(pub, [sub])


class Certificates(Base):
    def test_issue_parse_verify(self):
        sub, cert = self.f.subscriber("sub-1", ["sensors/+/temp", "lab/#"])
        c = g.verify_certificate(cert, self.f.ak_pub, g.ROLE_SUBSCRIBER, b"sensors/a/temp", NOW)
        self.assertEqual((c.role, c.id, c.key), (1, b"sub-1", sub.pub))
        self.assertEqual(c.akid, g.sha256(self.f.ak_pub)[:8])
        self.assertEqual(cert[:5], b"GHC\x01\x01")
        for t in (b"lab", b"lab/x/y"):
            g.verify_certificate(cert, self.f.ak_pub, g.ROLE_SUBSCRIBER, t, NOW)
        for t in (b"sensors/a/hum", b"sensors/temp", b"labs"):
            with self.assertRaises(g.E2EError):
                g.verify_certificate(cert, self.f.ak_pub, g.ROLE_SUBSCRIBER, t, NOW)
        with self.assertRaises(g.E2EError):  # wrong role
            g.verify_certificate(cert, self.f.ak_pub, g.ROLE_PUBLISHER, b"lab", NOW)

    def test_expiry(self):
        _, cert = self.f.subscriber("sub-1", nb=NOW, na=NOW + 100)
        g.verify_certificate(cert, self.f.ak_pub, 1, b"sensors/x", NOW)
        g.verify_certificate(cert, self.f.ak_pub, 1, b"sensors/x", NOW + 99)
        for t in (NOW - 1, NOW + 100, NOW + 1000):
            with self.assertRaises(g.E2EError):
                g.verify_certificate(cert, self.f.ak_pub, 1, b"sensors/x", t)

    def test_revocation(self):
        _, cert = self.f.subscriber("sub-1")
        serial = g.parse_certificate(cert).serial
        crl = g.verify_crl(g.issue_crl(self.f.ak, NOW, [serial + 5, serial]), self.f.ak_pub)
        self.assertEqual(crl.serials, [serial, serial + 5])
        with self.assertRaises(g.E2EError):
            g.verify_certificate(cert, self.f.ak_pub, 1, b"sensors/x", NOW, crl)
        empty = g.verify_crl(g.issue_crl(self.f.ak, NOW, []), self.f.ak_pub)
        g.verify_certificate(cert, self.f.ak_pub, 1, b"sensors/x", NOW, empty)
        # a list signed by another authority, or tampered, does not verify
        other = g.Ed25519PrivateKey.generate()
        with self.assertRaises(g.E2EError):
            g.verify_crl(g.issue_crl(other, NOW, [serial]), self.f.ak_pub)
        raw = bytearray(crl.raw)
        raw[10] ^= 1
        with self.assertRaises(g.E2EError):
            g.verify_crl(bytes(raw), self.f.ak_pub)
        # serials must be ascending and distinct: build one by hand
        body = b"GHR\x01" + g.i64(NOW) + g.u32(2) + g.u64(5) + g.u64(5) \
            + g.authority_key_id(self.f.ak_pub)
        with self.assertRaises(g.E2EError):
            g.parse_crl(body + self.f.ak.sign(g.CRL_LABEL + body))

    def test_wrong_authority(self):
        other = g.Ed25519PrivateKey.generate()
        _, cert = self.f.subscriber("sub-1")
        with self.assertRaises(g.E2EError) as cm:
            g.verify_certificate(cert, g.ed25519_public_bytes(other), 1, b"sensors/x", NOW)
        self.assertEqual(cm.exception.reason, "certificate")
        # same authority key id but another key's signature
        forged = bytearray(cert)
        forged[-64:] = other.sign(g.CERT_LABEL + bytes(cert[:-64]))
        with self.assertRaises(g.E2EError):
            g.verify_certificate(bytes(forged), self.f.ak_pub, 1, b"sensors/x", NOW)
        # any changed byte breaks it
        tampered = bytearray(cert)
        tampered[20] ^= 0x40
        with self.assertRaises(g.E2EError):
            g.verify_certificate(bytes(tampered), self.f.ak_pub, 1, b"sensors/x", NOW)

    def test_exact_parsing(self):
        _, cert = self.f.subscriber("sub-1")
        for bad in (cert + b"\x00", cert[:-1], b"GHC\x02" + cert[4:], b"GHX" + cert[3:],
                    cert[:4] + b"\x03" + cert[5:]):
            with self.assertRaises(g.E2EError):
                g.parse_certificate(bad)
        with self.assertRaises(g.E2EError):
            g.issue_certificate(self.f.ak, 1, 1, "bad id!", bytes(range(32)), NOW, NOW + 1, ["a"])
        with self.assertRaises(g.E2EError):
            g.issue_certificate(self.f.ak, 1, 1, "s", g.hpke_derive_key_pair(b"1")[1], NOW,
                                NOW + 1, ["a/#/b"])

    def test_low_order_subscriber_key(self):
        low = [bytes(32), b"\x01" + bytes(31),
               h("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
               h("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
               h("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
               h("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
        for k in low:
            self.assertTrue(g.is_low_order_x25519(k), k.hex())
            with self.assertRaises(g.E2EError):
                g.issue_certificate(self.f.ak, 1, 1, "s", k, NOW, NOW + 10, ["a"])
            body = b"GHC\x01\x01" + g.u64(9) + g.str8(b"s") + k + g.i64(NOW - 1) \
                + g.i64(NOW + 10) + b"\x01" + g.str16(b"a") + g.authority_key_id(self.f.ak_pub)
            cert = body + self.f.ak.sign(g.CERT_LABEL + body)
            g.parse_certificate(cert)
            with self.assertRaises(g.E2EError):
                g.verify_certificate(cert, self.f.ak_pub, 1, b"a", NOW)
        self.assertFalse(g.is_low_order_x25519(g.hpke_derive_key_pair(b"ok")[1]))

    def test_topic_filters(self):
        m = g.topic_matches
        self.assertTrue(m(b"#", b"a/b"))
        self.assertTrue(m(b"a/#", b"a"))
        self.assertTrue(m(b"a/#", b"a/b/c"))
        self.assertTrue(m(b"a/+", b"a/"))
        self.assertTrue(m(b"+/+", b"/x"))
        self.assertFalse(m(b"a/+", b"a/b/c"))
        self.assertFalse(m(b"a/b", b"a"))
        self.assertFalse(m(b"a/b/#", b"a"))
        for f in (b"a/#/b", b"a#", b"a+/b", b"", b"x\x00"):
            self.assertFalse(g.valid_filter(f), f)
        for t in (b"a/+", b"a#", b"", b"\xff", b"a" * 1025):
            self.assertFalse(g.valid_topic(t), t)


class RoundTrip(Base):
    def test_publisher_to_subscriber(self):
        pub = self.f.publisher()
        sub, _ = self.f.subscriber("sub-1")
        self.assertEqual(self.join(pub, sub), [(b"sub-1", "ok")])
        msgs = [pub.seal(b"sensors/t1", b'{"value":%d}' % i) for i in range(5)]
        self.assertEqual(pub.take_outbox(), [])
        for i, m in enumerate(msgs):
            self.assertEqual(m[:5], b"GHE\x01\x01")
            r = sub.open(m, b"sensors/t1")
            self.assertEqual((r.status, r.plaintext, r.epoch, r.seq),
                             ("ok", b'{"value":%d}' % i, 1, i + 1))
        self.assertEqual(sub.open(msgs[0], b"sensors/t1").status, "duplicate")
        self.assertEqual(sub.counters, {"replay": 1})

    def test_layouts(self):
        """Byte layout of the three messages against the spec's field lists."""
        pub = self.f.publisher()
        sub, scert = self.f.subscriber("sub-1")
        req = sub.key_request(b"sensors/t1")
        self.assertEqual(req, b"GHE\x01\x02" + g.u16(10) + b"sensors/t1" + g.u16(len(scert)) + scert)
        pub.handle_key_request(req)
        wrap = pub.take_outbox()[0]
        self.assertTrue(wrap.retain)
        self.assertEqual(wrap.topic, b"sensors/t1/_e2e/wrap/sub-1")
        w = g.parse_wrap(wrap.payload)
        self.assertEqual((w.fingerprint, w.epoch, len(w.sealed)), (g.sha256(sub.pub), 1, 60))
        self.assertEqual(len(wrap.payload), 5 + 2 + 10 + 2 + len(self.f.pcert) + 32 + 8 + 32 + 2
                         + 60 + 64)
        self.assertTrue(g.ed25519_verify(g.ed25519_public_bytes(self.f.pk), w.signature,
                                         b"gh-e2e-wrap-v1" + wrap.payload[:-64]))
        # open the wrap by hand with the spec's info and aad
        info = b"gatehouse-e2e-wrap-v1" + g.u16(10) + b"sensors/t1" + g.u64(1) + b"\x20" \
            + g.sha256(sub.pub)
        ckiv = g.hpke_open_base(w.enc, sub.sk_raw, info, b"\x05pub-1", w.sealed)
        ck, iv = ckiv[:32], ckiv[32:]
        data = pub.seal(b"sensors/t1", b"hello")
        ct = data[5 + 6 + 16 + 4:-64]
        self.assertEqual(data[:5 + 6 + 16 + 4], b"GHE\x01\x01\x05pub-1" + g.u64(1) + g.u64(1)
                         + g.u32(len(ct)))
        self.assertEqual(len(ct), 5 + 16)
        nonce = bytes(a ^ b for a, b in zip(iv, g.sha256(b"pub-1")[:4] + g.u64(1)))
        aad = b"gh-e2e-aad-v1" + g.u16(10) + b"sensors/t1" + g.u64(1) + g.u64(1) + b"\x05pub-1"
        self.assertEqual(g.AESGCM(ck).decrypt(nonce, ct, aad), b"hello")
        self.assertTrue(g.ed25519_verify(g.ed25519_public_bytes(self.f.pk), data[-64:],
                                         b"gh-e2e-data-v1" + g.u16(10) + b"sensors/t1"
                                         + data[:-64]))

    def test_tamper(self):
        pub = self.f.publisher()
        sub, _ = self.f.subscriber("sub-1")
        self.join(pub, sub)
        m = pub.seal(b"sensors/t1", b"secret")
        for pos in (len(m) - 70, len(m) - 1, 10):  # ciphertext, signature, publisher id
            bad = bytearray(m)
            bad[pos] ^= 1
            self.assertIn(sub.open(bytes(bad), b"sensors/t1").status,
                          ("signature", "parse", "no_key"))
        for bad in (m + b"\x00", m[:-1], b"GHE\x02" + m[4:], b"GHE\x01\x03" + m[5:]):
            self.assertEqual(sub.open(bad, b"sensors/t1").status, "parse")
        # validly signed by the publisher but sealed with another key: the tag fails
        e = pub.epochs[b"sensors/t1"]
        forged = g.encode_data(self.f.pk, b"sensors/t1", b"pub-1", e.number, 99, b"k" * 32,
                               e.iv, b"x")
        self.assertEqual(sub.open(forged, b"sensors/t1").status, "decrypt")
        # signed by a key the authority never certified for pub-1
        other = g.Ed25519PrivateKey.generate()
        forged = g.encode_data(other, b"sensors/t1", b"pub-1", e.number, 100, e.ck, e.iv, b"x")
        self.assertEqual(sub.open(forged, b"sensors/t1").status, "signature")
        self.assertEqual(sub.open(m, b"sensors/t1").plaintext, b"secret")
        # the failed ones did not mark 99/100 as seen
        good = g.encode_data(self.f.pk, b"sensors/t1", b"pub-1", e.number, 99, e.ck, e.iv, b"y")
        self.assertEqual(sub.open(good, b"sensors/t1").status, "ok")

    def test_replay_window(self):
        pub = self.f.publisher()
        sub, _ = self.f.subscriber("sub-1")
        self.join(pub, sub)
        e = pub.epochs[b"sensors/t1"]

        def msg(seq):
            return g.encode_data(self.f.pk, b"sensors/t1", b"pub-1", e.number, seq, e.ck, e.iv,
                                 b"%d" % seq)

        for seq in (10, 8, 9):
            self.assertEqual(sub.open(msg(seq), b"sensors/t1").status, "ok", seq)
        for seq in (10, 8, 9):
            self.assertEqual(sub.open(msg(seq), b"sensors/t1").status, "duplicate", seq)
        self.assertEqual(sub.open(msg(2000), b"sensors/t1").status, "ok")
        self.assertEqual(sub.open(msg(976), b"sensors/t1").status, "too_old")   # H - 1024
        self.assertEqual(sub.open(msg(977), b"sensors/t1").status, "ok")        # H - 1023
        self.assertEqual(sub.open(msg(977), b"sensors/t1").status, "duplicate")
        self.assertEqual(sub.open(msg(1999), b"sensors/t1").status, "ok")
        self.assertEqual(sub.open(msg(10), b"sensors/t1").status, "too_old")
        # the window survives a restart through replayState
        sub2 = g.Subscriber(sub.sk, sub.cert_raw, self.f.ak_pub, now=self.clock)
        sub2.restore_replay_state(sub.replay_state())
        sub2.keys, sub2.highest_epoch = sub.keys, sub.highest_epoch
        self.assertEqual(sub2.open(msg(1999), b"sensors/t1").status, "duplicate")
        self.assertEqual(sub2.open(msg(1998), b"sensors/t1").status, "ok")

    def test_wrong_topic(self):
        pub = self.f.publisher(topics=(b"sensors/t1", b"sensors/t2"))
        sub, _ = self.f.subscriber("sub-1")
        self.join(pub, sub, b"sensors/t1")
        self.join(pub, sub, b"sensors/t2")
        m = pub.seal(b"sensors/t1", b"one")
        # the same bytes presented as another topic: signature (and AAD) bind the topic
        self.assertEqual(sub.open(m, b"sensors/t2").status, "signature")
        self.assertEqual(sub.open(m, b"sensors/t1").plaintext, b"one")
        # a wrap for t1 delivered as if for t2 is dropped
        pub.rekey(b"sensors/t1")
        w = pub.take_outbox()[0]
        self.assertEqual(sub.handle_wrap(w.payload, b"sensors/t2"), "not_for_me")
        # a key request for a topic the publisher does not serve, or a certificate that does not
        # allow the topic, is refused
        other, _ = self.f.subscriber("sub-2", ["other/#"])
        self.assertEqual(pub.handle_key_request(other.key_request(b"sensors/t1")), "certificate")
        self.assertEqual(pub.handle_key_request(sub.key_request(b"sensors/t9")), "topic")
        # a wrap for sub-1 is useless to sub-3 (fingerprint)
        sub3, _ = self.f.subscriber("sub-3")
        sub3.key_request(b"sensors/t1")
        self.assertEqual(sub3.handle_wrap(w.payload, b"sensors/t1"), "not_for_me")

    def test_removed_subscriber_cannot_read_next_epoch(self):
        pub = self.f.publisher()
        s1, _ = self.f.subscriber("sub-1")
        s2, _ = self.f.subscriber("sub-2")
        self.join(pub, s1)
        self.join(pub, s2)
        m1 = pub.seal(b"sensors/t1", b"before")
        self.assertEqual(s2.open(m1, b"sensors/t1").plaintext, b"before")
        self.assertEqual(pub.remove_subscriber("sub-2"), [b"sensors/t1"])
        self.assertEqual(pub.epoch(b"sensors/t1"), 2)
        out = pub.take_outbox()
        self.assertEqual([o.topic for o in out], [b"sensors/t1/_e2e/wrap/sub-1"])
        self.assertEqual(s1.handle_wrap(out[0].payload, b"sensors/t1"), "ok")
        m2 = pub.seal(b"sensors/t1", b"after")
        self.assertEqual(s1.open(m2, b"sensors/t1").plaintext, b"after")
        r = s2.open(m2, b"sensors/t1")
        self.assertEqual(r.status, "no_key")
        self.assertIsNotNone(r.request)
        self.assertEqual(pub.handle_key_request(r.request), "removed")
        self.assertEqual(pub.take_outbox(), [])
        # s2 replaying s1's wrap gets nothing (fingerprint, and the HPKE key)
        self.assertEqual(s2.handle_wrap(out[0].payload, b"sensors/t1"), "not_for_me")
        # the removal survives a restart
        pub2 = self.f.publisher()
        self.assertEqual(pub2.handle_key_request(s2.key_request(b"sensors/t1")), "removed")
        self.assertEqual([o.topic for o in pub2.take_outbox()], [b"sensors/t1/_e2e/wrap/sub-1"])

    def test_revoked_subscriber(self):
        pub = self.f.publisher()
        s1, _ = self.f.subscriber("sub-1")
        s2, c2 = self.f.subscriber("sub-2")
        self.join(pub, s1)
        self.join(pub, s2)
        crl = g.issue_crl(self.f.ak, NOW, [g.parse_certificate(c2).serial])
        self.assertTrue(pub.apply_crl(crl))
        self.assertFalse(pub.apply_crl(crl))   # not later
        self.assertEqual(pub.epoch(b"sensors/t1"), 2)
        out = pub.take_outbox()
        self.assertEqual([o.topic for o in out], [b"sensors/t1/_e2e/wrap/sub-1"])
        deliver_ok = s1.handle_wrap(out[0].payload, b"sensors/t1")
        self.assertEqual(deliver_ok, "ok")
        m = pub.seal(b"sensors/t1", b"x")
        self.assertEqual(s2.open(m, b"sensors/t1").status, "no_key")
        self.clock.t += 5
        self.assertEqual(pub.handle_key_request(s2.key_request(b"sensors/t1")), "certificate")

    def test_expired_subscriber_removed(self):
        pub = self.f.publisher()
        s1, _ = self.f.subscriber("sub-1")
        s2, _ = self.f.subscriber("sub-2", na=NOW + 100)
        self.join(pub, s1)
        self.join(pub, s2)
        self.clock.t = NOW + 100
        m = pub.seal(b"sensors/t1", b"x")
        self.assertEqual(g.parse_data(m).epoch, 2)
        deliver(pub, [s1, s2])
        self.assertEqual(s1.open(m, b"sensors/t1").status, "ok")
        self.assertEqual(s2.open(m, b"sensors/t1").status, "no_key")

    def test_old_epoch_wrap_and_key_erasure(self):
        pub = self.f.publisher()
        sub, _ = self.f.subscriber("sub-1")
        self.join(pub, sub)
        w1 = g.wrap_topic(b"sensors/t1", b"sub-1")
        old_wrap = pub.subscribers[b"sensors/t1"][b"sub-1"].wrap_cache[1]
        m1 = pub.seal(b"sensors/t1", b"e1")
        pub.rekey(b"sensors/t1")
        self.assertEqual(deliver(pub, [sub]), [(b"sub-1", "ok")])
        m2 = pub.seal(b"sensors/t1", b"e2")
        # one epoch behind is kept for messages in flight
        self.assertEqual(sub.open(m2, b"sensors/t1").plaintext, b"e2")
        self.assertEqual(sub.open(m1, b"sensors/t1").plaintext, b"e1")
        pub.rekey(b"sensors/t1")
        deliver(pub, [sub])
        # epoch 1 is now two behind: erased, and its replayed wrap is refused
        self.assertNotIn(1, sub.keys[(b"pub-1", b"sensors/t1")])
        self.assertEqual(sub.handle_wrap(old_wrap, b"sensors/t1", w1), "old_epoch")

    def test_rate_limit_and_resend(self):
        pub = self.f.publisher()
        sub, _ = self.f.subscriber("sub-1")
        req = sub.key_request(b"sensors/t1")
        self.assertEqual(pub.handle_key_request(req), "answered")
        # the current wrap again at once: re-sent, no new wrap
        self.assertEqual(pub.handle_key_request(req), "resent")
        out = pub.take_outbox()
        self.assertEqual(out[0].payload, out[1].payload)
        # a new certificate for the same id within the second needs a new wrap: rate limited
        sub2, _ = self.f.subscriber("sub-1")
        req2 = sub2.key_request(b"sensors/t1")
        self.assertEqual(pub.handle_key_request(req2), "rate")
        self.clock.t += 1.5
        self.assertEqual(pub.handle_key_request(req2), "answered")
        self.assertNotEqual(pub.take_outbox()[0].payload, out[0].payload)

    def test_rekey_interval_and_budget(self):
        pub = self.f.publisher(rekey_interval=3600, max_messages_per_epoch=3)
        sub, _ = self.f.subscriber("sub-1")
        self.join(pub, sub)
        epochs = []
        for i in range(7):
            m = pub.seal(b"sensors/t1", b"%d" % i)
            deliver(pub, [sub])
            self.assertEqual(sub.open(m, b"sensors/t1").status, "ok")
            epochs.append(g.parse_data(m).epoch)
        self.assertEqual(epochs, [1, 1, 1, 2, 2, 2, 3])
        self.clock.t += 3600
        m = pub.seal(b"sensors/t1", b"later")
        self.assertEqual(g.parse_data(m).epoch, 4)

    def test_restart_state(self):
        pub = self.f.publisher(reserve=10)
        sub, _ = self.f.subscriber("sub-1")
        self.join(pub, sub)
        seqs = [g.parse_data(pub.seal(b"sensors/t1", b"x")).seq for _ in range(12)]
        self.assertEqual(seqs, list(range(1, 13)))
        with open(os.path.join(self.tmp, "pub.state"), "rb") as f:
            state = f.read().decode()
        self.assertIn("version=1\n", state)
        self.assertIn("publisher=pub-1\n", state)
        self.assertIn("reserved=21\n", state)
        self.assertIn("epoch.sensors/t1=1\n", state)
        self.assertIn("subscriber.sensors/t1=", state)
        # restart: new epoch, seq continues at the reserve, the remembered subscriber is wrapped
        pub2 = self.f.publisher(reserve=10)
        self.assertEqual(pub2.epoch(b"sensors/t1"), 2)
        self.assertEqual(deliver(pub2, [sub]), [(b"sub-1", "ok")])
        m = pub2.seal(b"sensors/t1", b"after restart")
        self.assertEqual((g.parse_data(m).seq, g.parse_data(m).epoch), (21, 2))
        self.assertEqual(sub.open(m, b"sensors/t1").plaintext, b"after restart")
        # seq near the end of its range: stops sealing
        pub2.seq = g.SEQ_MAX + 1
        with self.assertRaises(g.E2EError):
            pub2.seal(b"sensors/t1", b"x")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CLIMixin:
    port = 0

    def cli(self, *args, check=True):
        r = subprocess.run([PY, CLI] + list(args), capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            self.fail("%s: rc %d\n%s" % (args, r.returncode, r.stderr))
        return r

    def setup_parties(self, d):
        self.cli("authority-init", "--dir", d)
        self.assertEqual(oct(os.stat(os.path.join(d, "authority.key")).st_mode & 0o777), "0o600")
        self.assertEqual(len(g._read(os.path.join(d, "authority.pub"))), 32)
        self.cli("keygen", "--type", "ed25519", "--out", d + "/pub")
        self.cli("keygen", "--type", "x25519", "--out", d + "/sub")
        self.cli("keygen", "--type", "x25519", "--out", d + "/sub2")
        self.cli("enroll", "--dir", d, "--role", "publisher", "--id", "py-pub", "--key",
                 d + "/pub.pub", "--topic", "e2e/#", "--days", "1", "--out", d + "/pub.cert")
        s = self.cli("enroll", "--dir", d, "--role", "subscriber", "--id", "py-sub", "--key",
                     d + "/sub.pub", "--topic", "e2e/+/temp", "--out", d + "/sub.cert")
        s2 = self.cli("enroll", "--dir", d, "--role", "subscriber", "--id", "py-sub2", "--key",
                      d + "/sub2.pub", "--topic", "e2e/#", "--out", d + "/sub2.cert")
        return int(s.stdout), int(s2.stdout)


class OfflineCLI(CLIMixin, unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gh-e2e-cli-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_offline_seal_open_and_revoke(self):
        d = os.path.join(self.tmp, "off")
        serial, _ = self.setup_parties(d)
        o = os.path.join(d, "out")
        self.cli("seal", "--topic", "e2e/x/temp", "--key", d + "/pub.key", "--cert",
                 d + "/pub.cert", "--authority", d + "/authority.pub", "--state",
                 d + "/off.state", "--to", d + "/sub.cert", "--plaintext", "a", "--plaintext",
                 "b", "--out", o)
        r = self.cli("open", "--topic", "e2e/x/temp", "--key", d + "/sub.key", "--cert",
                     d + "/sub.cert", "--authority", d + "/authority.pub", "--wrap",
                     o + "/wrap-py-sub.bin", "--data", o + "/data-1.bin", "--data",
                     o + "/data-2.bin", "--data", o + "/data-1.bin", check=False)
        self.assertEqual((r.returncode, r.stdout), (1, "a\nb\n"))
        self.assertIn("duplicate", r.stderr)
        self.cli("revoke", "--dir", d, "--serial", str(serial))
        self.cli("revoke", "--dir", d, "--serial", "999")
        crl = g.verify_crl(g._read(d + "/crl.bin"), g._read(d + "/authority.pub"))
        self.assertEqual(crl.serials, [serial, 999])
        r = self.cli("seal", "--topic", "e2e/x/temp", "--key", d + "/pub.key", "--cert",
                     d + "/pub.cert", "--authority", d + "/authority.pub", "--crl",
                     d + "/crl.bin", "--state", d + "/off.state", "--to", d + "/sub.cert",
                     "--plaintext", "c", "--out", o, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("certificate", r.stderr)


@unittest.skipUnless(os.path.exists(MOSQUITTO), "MQTT test skipped: %s is missing" % MOSQUITTO)
class MQTTRoundTrip(CLIMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-e2e-mqtt-")
        cls.port = _free_port()
        conf = os.path.join(cls.tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % cls.port)
        cls.log = open(os.path.join(cls.tmp, "mosquitto.log"), "w")
        cls.broker = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                      stderr=cls.log)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("mosquitto did not start")

    @classmethod
    def tearDownClass(cls):
        cls.broker.terminate()   # by its PID
        cls.broker.wait(10)
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def sub_args(self, d, topic, name, count, timeout):
        return [PY, CLI, "subscribe", "--host", "127.0.0.1", "--port", str(self.port),
                "--topic", topic, "--key", d + "/%s.key" % name, "--cert",
                d + "/%s.cert" % name, "--authority", d + "/authority.pub", "--count",
                str(count), "--timeout-s", str(timeout)]

    def pub_args(self, d, topic, count, *extra):
        return [PY, CLI, "publish", "--host", "127.0.0.1", "--port", str(self.port), "--topic",
                topic, "--key", d + "/pub.key", "--cert", d + "/pub.cert", "--authority",
                d + "/authority.pub", "--state", d + "/pub.state", "--count", str(count),
                "--interval-ms", "100", "--value-prefix", "py", "--linger-s", "1"] + list(extra)

    def test_roundtrip_over_mosquitto(self):
        d = os.path.join(self.tmp, "rt")
        self.setup_parties(d)
        topic = "e2e/room1/temp"
        # subscriber first: its first request finds no publisher, it asks again on data
        sub = subprocess.Popen(self.sub_args(d, topic, "sub", 10, 20), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        pub = subprocess.run(self.pub_args(d, topic, 10), capture_output=True, text=True,
                             timeout=60)
        out, err = sub.communicate(timeout=30)
        self.assertEqual(pub.returncode, 0, pub.stderr)
        self.assertEqual(sub.returncode, 0, err + pub.stderr)
        self.assertEqual(out.splitlines(), ['{"value":"py-%d"}' % i for i in range(1, 11)])
        # a late subscriber: the retained wrap is for the old epoch; the publisher's restart
        # wraps epoch 2 for the remembered subscriber, retained
        pub2 = subprocess.Popen(self.pub_args(d, topic, 5, "--wait-s", "0.5"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sub2 = subprocess.run(self.sub_args(d, topic, "sub", 5, 20), capture_output=True,
                              text=True, timeout=60)
        _, perr = pub2.communicate(timeout=60)
        self.assertEqual(sub2.returncode, 0, sub2.stderr + perr)
        self.assertEqual(sub2.stdout.splitlines(), ['{"value":"py-%d"}' % i for i in range(1, 6)])
        self.assertIn("epoch 2", perr)

    def test_not_allowed_and_removed_subscribers(self):
        d = os.path.join(self.tmp, "neg")
        self.setup_parties(d)
        # sub's certificate allows e2e/+/temp only: no wrap for e2e/room1/hum -> timeout, rc 1
        topic = "e2e/room1/hum"
        sub = subprocess.Popen(self.sub_args(d, topic, "sub", 1, 4), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        sub2 = subprocess.Popen(self.sub_args(d, topic, "sub2", 3, 15), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        # sub2 is removed (operator) before message 4: it reads 1..3 only
        pub = subprocess.run(self.pub_args(d, topic, 6, "--wait-s", "1", "--remove-at",
                                           "4:py-sub2"),
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(pub.returncode, 0, pub.stderr)
        out, err = sub.communicate(timeout=30)
        self.assertEqual((sub.returncode, out), (1, ""), err)
        self.assertIn("certificate", pub.stderr)
        out2, err2 = sub2.communicate(timeout=30)
        self.assertEqual(sub2.returncode, 0, err2)
        self.assertEqual(out2.splitlines(), ['{"value":"py-%d"}' % i for i in range(1, 4)])
        self.assertIn("removed py-sub2; new epoch 2", pub.stderr)
        # asked again later, the removed subscriber gets nothing new (its retained wrap is for
        # epoch 1; the publisher refuses it while it holds the removal)
        pub2 = subprocess.Popen(self.pub_args(d, topic, 3, "--wait-s", "1"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        late = subprocess.run(self.sub_args(d, topic, "sub2", 1, 5), capture_output=True,
                              text=True, timeout=60)
        _, perr = pub2.communicate(timeout=60)
        self.assertEqual((late.returncode, late.stdout), (1, ""), late.stderr)
        self.assertIn("removed", perr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
