"""A small streaming pcap/pcapng reader and UDP decoder, so media can be read without tshark.

Why: RTP is most of the packets in a call capture, and dissecting it with tshark costs more than everything else put
together. The media model only needs UDP datagrams: link layer, IPv4/IPv6 and UDP headers, which a few ``struct``
calls decode. tshark is still used for SIP (TCP reassembly, TLS decryption); :func:`read_blocks` hands back each
block's raw bytes so the caller can forward exactly the non-media part of the file to tshark.

Supported: classic pcap in both byte orders, microsecond and nanosecond variants; pcapng sections in either byte
order with Enhanced, Simple and obsolete Packet blocks, per-interface link type, ``if_tsresol``, ``if_tsoffset`` and
``if_name``. Link types: Ethernet (with VLAN/QinQ tags), BSD loopback (NULL/LOOP), Linux cooked SLL and SLL2, raw
IP (101, 228, 229, and 12/14 as some writers label it). Frames are numbered from 1 in file order, as tshark
numbers them. Memory is bounded: the file is read in chunks and nothing is kept.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator

CHUNK = 1 << 20
MAX_BLOCK = 1 << 26      # a block larger than this is corruption, not a packet

PCAP_MAGIC = {  # magic as read little-endian -> (byte order, ticks per second)
    0xA1B2C3D4: ("<", 1_000_000), 0xD4C3B2A1: (">", 1_000_000),
    0xA1B23C4D: ("<", 1_000_000_000), 0x4D3CB2A1: (">", 1_000_000_000),
}
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D
IDB, PB, SPB, EPB = 1, 2, 3, 6

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP = 0, 1, 101, 108
LINKTYPE_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_SLL2 = 113, 228, 229, 276
DLT_RAW_VALUES = (12, 14)   # raw IP as some writers put it in the file header (OpenBSD/BSD DLT_RAW numbers)
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
UDP = 17
IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options (fragment header 44 handled apart)


class CaptureFormatError(Exception):
    """Not a pcap/pcapng file we can read (a caller may convert it with editcap first)."""


@dataclass(slots=True)
class Frame:
    """One packet record: its frame number, time (epoch seconds), interface, link type and captured bytes."""

    number: int
    time: float
    interface: str | None
    linktype: int
    data: bytes


@dataclass(slots=True)
class Block:
    """One raw block of the file (pcap: the global header or one record; pcapng: one block) in file order, with the
    frame it holds, if any. ``raw`` is byte-exact, so blocks can be written out again to make a valid subset file."""

    raw: bytes
    frame: Frame | None = None


class _Chunked:
    """Bounded reading: the file in chunks, handed out as exact byte strings."""

    def __init__(self, f: BinaryIO):
        self.f, self.buf, self.pos = f, b"", 0

    def take(self, n: int) -> bytes | None:
        """The next ``n`` bytes, or None at end of file (a partial tail stays unread: :attr:`leftover`)."""
        end = self.pos + n
        if end > len(self.buf):
            self.buf = self.buf[self.pos:] + self.f.read(max(n, CHUNK))
            self.pos, end = 0, n
            if n > len(self.buf):
                return None
        out = self.buf[self.pos:end]
        self.pos = end
        return out

    def peek(self, n: int) -> bytes | None:
        data = self.take(n)
        if data is not None:
            self.pos -= n
        return data

    @property
    def leftover(self) -> int:
        return len(self.buf) - self.pos


class Truncated(Exception):
    """The file ends inside a block: everything before it was read."""


def is_pcap_or_pcapng(head: bytes) -> bool:
    """Whether a file starting with these (at least 4) bytes is one :func:`read_blocks` reads."""
    return len(head) >= 4 and (struct.unpack_from("<I", head)[0] in PCAP_MAGIC or
                               struct.unpack_from("<I", head)[0] == PCAPNG_SHB)


def read_blocks(f: BinaryIO) -> Iterator[Block]:
    """Every block of a pcap or pcapng file, in order. Raises :class:`CaptureFormatError` for another format and
    :class:`Truncated` (after the last complete block) when the file is cut short."""
    r = _Chunked(f)
    head = r.peek(4)
    if head is None:
        raise CaptureFormatError("file is shorter than any capture header")
    magic = struct.unpack("<I", head)[0]
    if magic in PCAP_MAGIC:
        yield from _pcap(r, *PCAP_MAGIC[magic])
    elif magic == PCAPNG_SHB:
        yield from _pcapng(r)
    else:
        raise CaptureFormatError(f"not pcap or pcapng (magic 0x{magic:08x})")


def _pcap(r: _Chunked, order: str, ticks: int) -> Iterator[Block]:
    header = r.take(24)
    if header is None:
        raise Truncated("pcap file header is incomplete")
    linktype = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF   # upper bits: FCS length
    yield Block(header)
    rec = struct.Struct(order + "IIII")
    number = 0
    while True:
        hdr = r.take(16)
        if hdr is None:
            if r.leftover:
                raise Truncated("the last packet record header is incomplete")
            return
        sec, frac, incl, _orig = rec.unpack(hdr)
        if incl > MAX_BLOCK:
            raise Truncated(f"record {number + 1} claims {incl} bytes: the file is corrupt from here")
        data = r.take(incl)
        if data is None:
            raise Truncated(f"packet {number + 1} is cut short")
        number += 1
        yield Block(hdr + data, Frame(number, sec + frac / ticks, None, linktype, data))


@dataclass
class _Interface:
    linktype: int
    name: str | None
    ticks: float = 1_000_000.0       # timestamp units per second (if_tsresol)
    offset: int = 0                  # if_tsoffset, seconds


def _pcapng(r: _Chunked) -> Iterator[Block]:
    order = "<"
    interfaces: list[_Interface] = []
    number = 0
    while True:
        head = r.peek(12)
        if head is None:
            if r.leftover:
                raise Truncated("the last block header is incomplete")
            return
        btype = struct.unpack_from("<I", head)[0]
        if btype == PCAPNG_SHB:        # a new section: byte order and interfaces start over
            order = "<" if struct.unpack_from("<I", head, 8)[0] == PCAPNG_BOM else ">"
            interfaces = []
        btype, blen = struct.unpack_from(order + "II", head)
        if blen < 12 or blen % 4 or blen > MAX_BLOCK:
            raise Truncated(f"block of type {btype} with length {blen} after frame {number}: the file is corrupt "
                            "from here")
        raw = r.take(blen)
        if raw is None:
            raise Truncated(f"the block after frame {number} is cut short")
        if btype == IDB:
            interfaces.append(_idb(raw, order))
            yield Block(raw)
        elif btype in (EPB, PB):
            if btype == EPB:
                iface_id, hi, lo, cap = struct.unpack_from(order + "IIII", raw, 8)
            else:
                iface_id, _drops, hi, lo, cap = struct.unpack_from(order + "HHIII", raw, 8)
            number += 1
            iface = interfaces[iface_id] if iface_id < len(interfaces) else _Interface(LINKTYPE_ETHERNET, None)
            when = ((hi << 32) | lo) / iface.ticks + iface.offset
            yield Block(raw, Frame(number, when, iface.name, iface.linktype, raw[28:28 + cap]))
        elif btype == SPB:
            number += 1
            iface = interfaces[0] if interfaces else _Interface(LINKTYPE_ETHERNET, None)
            orig = struct.unpack_from(order + "I", raw, 8)[0]
            yield Block(raw, Frame(number, 0.0, iface.name, iface.linktype, raw[12:12 + min(orig, blen - 16)]))
        else:
            yield Block(raw)


def _idb(raw: bytes, order: str) -> _Interface:
    linktype = struct.unpack_from(order + "H", raw, 8)[0]
    iface = _Interface(linktype, None)
    off, end = 16, len(raw) - 4
    while off + 4 <= end:
        code, length = struct.unpack_from(order + "HH", raw, off)
        value = raw[off + 4:off + 4 + length]
        if code == 0:
            break
        if code == 2:
            iface.name = value.decode("utf-8", "replace").rstrip("\0")
        elif code == 9 and length >= 1:
            v = value[0]
            iface.ticks = float(2 ** (v & 0x7F)) if v & 0x80 else float(10 ** v)
        elif code == 14 and length >= 8:
            iface.offset = struct.unpack_from(order + "q", value)[0]
        off += 4 + (length + 3) // 4 * 4
    return iface


def unbounded_section(raw: bytes) -> bytes:
    """A copy of a section header block whose section length says "unknown" (-1): a subset of the section no longer
    has the length the original declared, and readers may use it to skip."""
    order = "<" if struct.unpack_from("<I", raw, 8)[0] == PCAPNG_BOM else ">"
    return raw[:16] + struct.pack(order + "q", -1) + raw[24:]


@dataclass(slots=True)
class Datagram:
    """A UDP datagram as the media model needs it."""

    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes


def _ip_offset(linktype: int, data: bytes) -> int | None:
    """Where the IP header starts in a frame of this link type, or None when the frame is not IP."""
    if linktype == LINKTYPE_ETHERNET:
        off, etype = 14, int.from_bytes(data[12:14], "big")
        while etype in VLAN_TAGS and len(data) >= off + 4:
            etype, off = int.from_bytes(data[off + 2:off + 4], "big"), off + 4
        return off if etype in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else None
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6) or linktype in DLT_RAW_VALUES:
        return 0
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):   # 4-byte address family in the writer's byte order: the IP
        return 4 if len(data) > 4 and (data[4] >> 4) in (4, 6) else None   # version nibble is simpler to trust
    if linktype == LINKTYPE_SLL:
        return 16 if int.from_bytes(data[14:16], "big") in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else None
    if linktype == LINKTYPE_SLL2:
        return 20 if int.from_bytes(data[0:2], "big") in (ETHERTYPE_IPV4, ETHERTYPE_IPV6) else None
    return None


def udp_datagram(frame: Frame) -> Datagram | None:
    """The UDP datagram in a frame, or None: not IP/UDP, a non-first IP fragment, or too short. A first fragment
    yields only the payload bytes it carries."""
    data = frame.data
    off = _ip_offset(frame.linktype, data)
    if off is None or len(data) < off + 20:
        return None
    version = data[off] >> 4
    if version == 4:
        ihl = (data[off] & 0x0F) * 4
        frag = int.from_bytes(data[off + 6:off + 8], "big")
        if data[off + 9] != UDP or frag & 0x1FFF or ihl < 20:
            return None          # not UDP, or a non-first fragment (no UDP header in it)
        total = int.from_bytes(data[off + 2:off + 4], "big")
        src, dst = data[off + 12:off + 16], data[off + 16:off + 20]
        udp = off + ihl
        end = min(len(data), off + total) if total >= ihl else len(data)
    elif version == 6:
        if len(data) < off + 40:
            return None
        nxt, udp = data[off + 6], off + 40
        end = min(len(data), udp + int.from_bytes(data[off + 4:off + 6], "big"))
        while nxt in IPV6_EXTENSIONS or nxt == 44:
            if len(data) < udp + 8:
                return None
            if nxt == 44:
                if int.from_bytes(data[udp + 2:udp + 4], "big") & 0xFFF8:
                    return None  # non-first fragment
                nxt, udp = data[udp], udp + 8
            else:
                nxt, udp = data[udp], udp + (data[udp + 1] + 1) * 8
        if nxt != UDP:
            return None
        src, dst = data[off + 8:off + 24], data[off + 24:off + 40]
    else:
        return None
    if end < udp + 8:
        return None
    sport, dport, length = struct.unpack_from(">HHH", data, udp)
    stop = min(end, udp + length) if length >= 8 else end
    return Datagram(_addr(src), _addr(dst), sport, dport, data[udp + 8:stop])


_ADDR_CACHE: dict[bytes, str] = {}


def _addr(raw: bytes) -> str:
    """Text form of an IPv4/IPv6 address; cached, as a capture holds few distinct addresses."""
    text = _ADDR_CACHE.get(raw)
    if text is None:
        if len(_ADDR_CACHE) > 4096:
            _ADDR_CACHE.clear()
        text = _ADDR_CACHE[raw] = str(ipaddress.ip_address(raw))
    return text
