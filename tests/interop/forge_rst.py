#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Forged RSTs for an established TCP-AO connection (interop tests only).

    forge_rst.py PCAP OUR_ADDR OUR_PORT PEER_ADDR PEER_PORT KEYID
                 --to-peer IFACE --peer-mac MAC
                 --to-us IFACE --us-mac MAC

From the capture so far, finds where each direction's sequence numbers
stand (the connection is idle: paused) and sends four RSTs with exactly
the next sequence number, the one an unauthenticated TCP would accept:
to the peer, one without TCP-AO and one with a TCP-AO option (KEYID) whose
MAC is wrong; and the same two to us, as if from the peer, through IFACE
(a veth whose other end is in our namespace). Link-layer sends: nothing
passes our own netfilter hooks on the way out.
"""
import argparse
import os

from scapy.all import IP, IPv6, TCP, Ether, PcapReader, sendp  # noqa: E402


def next_seqs(pcap, a, b):
    """Next sequence number of each direction of the 4-tuple a -> b."""
    nxt = {}
    for pkt in PcapReader(pcap):
        ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
        if ip is None or TCP not in pkt:
            continue
        t = pkt[TCP]
        src, dst = (ip.src, t.sport), (ip.dst, t.dport)
        if (src, dst) not in ((a, b), (b, a)):
            continue
        payload = len(bytes(t.payload))
        if IP in pkt:
            payload = pkt[IP].len - pkt[IP].ihl * 4 - t.dataofs * 4
        end = t.seq + payload + (1 if t.flags & 0x03 else 0)
        nxt[src] = end & 0xffffffff
    return nxt[a], nxt[b]


def rst(src, dst, seq, ack, keyid):
    l3 = IPv6 if ":" in src[0] else IP
    opts = []
    if keyid is not None:  # kind 29, len 16, KeyID, RNextKeyID, a wrong MAC
        opts = [(29, bytes([keyid, keyid]) + os.urandom(12))]
    return l3(src=src[0], dst=dst[0]) / TCP(sport=src[1], dport=dst[1], flags="RA",
                                           seq=seq, ack=ack, options=opts)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("pcap")
    p.add_argument("our_addr")
    p.add_argument("our_port", type=int)
    p.add_argument("peer_addr")
    p.add_argument("peer_port", type=int)
    p.add_argument("keyid", type=int)
    p.add_argument("--to-peer", required=True)
    p.add_argument("--peer-mac", required=True)
    p.add_argument("--to-us", required=True)
    p.add_argument("--us-mac", required=True)
    a = p.parse_args()
    us, peer = (a.our_addr, a.our_port), (a.peer_addr, a.peer_port)
    our_nxt, peer_nxt = next_seqs(a.pcap, us, peer)
    for keyid in (None, a.keyid):
        sendp(Ether(dst=a.peer_mac) / rst(us, peer, our_nxt, peer_nxt, keyid),
              iface=a.to_peer, verbose=False)
        sendp(Ether(dst=a.us_mac) / rst(peer, us, peer_nxt, our_nxt, keyid),
              iface=a.to_us, verbose=False)
    print("forged 4 RSTs: to peer seq %d, to us seq %d" % (our_nxt, peer_nxt))


if __name__ == "__main__":
    main()
