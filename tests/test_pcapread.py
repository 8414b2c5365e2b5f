"""The struct-based capture reader (sipqual.pcapread) on files built byte by byte: both pcap byte orders and the
nanosecond variant, pcapng with if_name / if_tsresol / if_tsoffset and several interfaces, Simple Packet Blocks,
every supported link type, IPv6 with extension and fragment headers, and files cut short."""

import io
import struct

import pytest

from sipqual.pcapread import (CaptureFormatError, Truncated, is_pcap_or_pcapng, read_blocks, udp_datagram,
                              unbounded_section)

PAYLOAD = b"\x80\x00\x00\x01" + bytes(8) + b"media"


def udp4(src=b"\xc0\x00\x02\x0a", dst=b"\xc0\x00\x02\x01", sport=16000, dport=30000, payload=PAYLOAD, frag=0):
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, frag, 64, 17, 0, src, dst) + udp


def udp6(payload=PAYLOAD, fragment_offset=0):
    src, dst = bytes.fromhex("20010db8000000000000000000000010"), bytes.fromhex("20010db8000000000000000000000001")
    udp = struct.pack(">HHHH", 16000, 30000, 8 + len(payload), 0) + payload
    hop = bytes([44, 0]) + bytes(6)                                         # hop-by-hop options -> fragment
    frag = bytes([17, 0]) + struct.pack(">HI", fragment_offset << 3, 7)    # fragment header -> UDP
    body = hop + frag + udp
    return struct.pack(">IHBB16s16s", 0x60000000, len(body), 0, 64, src, dst) + body


ETH = bytes(12) + b"\x08\x00"


def pcap(records, order="<", nanos=False, linktype=1) -> bytes:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for sec, frac, data in records:
        out += struct.pack(order + "IIII", sec, frac, len(data), len(data)) + data
    return out


def block(btype: int, body: bytes, order="<") -> bytes:
    body += bytes(-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def option(code: int, value: bytes, order="<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def shb(order="<") -> bytes:
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, 12345), order)


def idb(linktype: int, name: str, tsresol: int | None = None, offset: int = 0, order="<") -> bytes:
    opts = option(2, name.encode(), order)
    if tsresol is not None:
        opts += option(9, bytes([tsresol]), order)
    if offset:
        opts += option(14, struct.pack(order + "q", offset), order)
    return block(1, struct.pack(order + "HHI", linktype, 0, 65535) + opts + option(0, b"", order), order)


def epb(iface: int, ticks: int, data: bytes, order="<") -> bytes:
    return block(6, struct.pack(order + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
                 + data, order)


def frames(data: bytes):
    return [b.frame for b in read_blocks(io.BytesIO(data)) if b.frame is not None]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nanos", [False, True])
def test_pcap_byte_orders_and_resolutions(order, nanos):
    frac = 500_000_000 if nanos else 500_000
    f1, f2 = frames(pcap([(100, frac, ETH + udp4()), (101, 0, ETH + udp4(sport=16002))], order, nanos))
    assert (f1.number, f1.time, f2.number, f2.time) == (1, 100.5, 2, 101.0)
    dg = udp_datagram(f1)
    assert (dg.src, dg.dst, dg.sport, dg.dport, dg.payload) == ("192.0.2.10", "192.0.2.1", 16000, 30000, PAYLOAD)


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_interfaces_resolution_offset_and_names(order):
    data = (shb(order) + idb(1, "dut-ms", order=order) + idb(101, "dut-far", tsresol=9, offset=1000, order=order)
            + epb(0, 2_500_000, ETH + udp4(), order) + epb(1, 3_000_000_000, udp4(), order)
            + block(3, struct.pack(order + "I", len(ETH + udp4())) + ETH + udp4(), order))
    f1, f2, f3 = frames(data)
    assert (f1.interface, f1.time, f1.linktype) == ("dut-ms", 2.5, 1)
    assert (f2.interface, f2.time, f2.linktype) == ("dut-far", 1003.0, 101)
    assert (f3.number, f3.interface) == (3, "dut-ms")                      # Simple Packet Block: interface 0
    assert all(udp_datagram(f).payload == PAYLOAD for f in (f1, f2, f3))


def test_power_of_two_tsresol():
    f, = frames(shb() + idb(1, "x", tsresol=0x80 | 10) + epb(0, 3 * 1024, ETH + udp4()))
    assert f.time == 3.0


@pytest.mark.parametrize("linktype, prefix", [
    (0, struct.pack("<I", 2)),                                              # BSD loopback, AF_INET
    (113, bytes(14) + b"\x08\x00"),                                          # Linux cooked SLL
    (276, b"\x08\x00" + bytes(18)),                                          # SLL2
    (12, b""), (228, b""),                                                   # raw IPv4 under other numbers
    (1, bytes(12) + b"\x81\x00\x00\x05\x88\xa8\x00\x06\x08\x00"),             # Ethernet with two VLAN tags
])
def test_link_types(linktype, prefix):
    f, = frames(pcap([(1, 0, prefix + udp4())], linktype=linktype))
    assert udp_datagram(f).payload == PAYLOAD


def test_ipv6_with_extension_headers_and_fragments():
    first, later = frames(pcap([(1, 0, udp6()), (2, 0, udp6(fragment_offset=100))], linktype=229))
    dg = udp_datagram(first)
    assert (dg.src, dg.dst, dg.payload) == ("2001:db8::10", "2001:db8::1", PAYLOAD)
    assert udp_datagram(later) is None                                       # no UDP header in a later fragment


def test_not_udp_and_later_ipv4_fragments_are_skipped():
    tcp = bytearray(udp4())
    tcp[9] = 6
    assert udp_datagram(frames(pcap([(1, 0, ETH + bytes(tcp))]))[0]) is None
    assert udp_datagram(frames(pcap([(1, 0, ETH + udp4(frag=0x0010))]))[0]) is None
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    assert udp_datagram(frames(pcap([(1, 0, arp)]))[0]) is None


def test_truncated_files_keep_what_was_complete():
    whole = pcap([(1, 0, ETH + udp4()), (2, 0, ETH + udp4())])
    seen = []
    with pytest.raises(Truncated):
        for b in read_blocks(io.BytesIO(whole[:-5])):
            seen.append(b.frame)
    assert [f.number for f in seen if f] == [1]
    ng = shb() + idb(1, "x") + epb(0, 1, ETH + udp4())
    with pytest.raises(Truncated):
        list(read_blocks(io.BytesIO(ng + epb(0, 2, ETH + udp4())[:20])))


def test_other_formats_are_refused_and_recognised():
    with pytest.raises(CaptureFormatError):
        list(read_blocks(io.BytesIO(b"\x1f\x8b\x08\x00 gzip data")))
    assert is_pcap_or_pcapng(pcap([])[:4]) and is_pcap_or_pcapng(shb()[:4])
    assert not is_pcap_or_pcapng(b"\x1f\x8b\x08\x00")


def test_blocks_are_byte_exact_so_a_subset_is_a_valid_file():
    data = shb() + idb(1, "x") + epb(0, 1, ETH + udp4()) + epb(0, 2, ETH + udp4())
    blocks = list(read_blocks(io.BytesIO(data)))
    assert b"".join(b.raw for b in blocks) == data
    section = unbounded_section(blocks[0].raw)
    assert struct.unpack_from("<q", section, 16)[0] == -1 and len(section) == len(blocks[0].raw)
