"""Write the app icons (forum/static/icons/icon-192.png, icon-512.png) with the standard library only.

The Village house in white on the brand green, drawn inside the central 80% so the icon is also "maskable"
(launchers may crop it to a circle). Run: python tools/make_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

BRAND = (0x2F, 0x6B, 0x5A)
WHITE = (0xFF, 0xFF, 0xFF)
# The house of the site's logo (viewBox 0 0 32 32): roof apex, eaves, walls and a door.
HOUSE = [
    (16, 3),
    (3, 13),
    (6, 13),
    (6, 28),
    (14, 28),
    (14, 19),
    (18, 19),
    (18, 28),
    (26, 28),
    (26, 13),
    (29, 13),
]
OUT = Path(__file__).resolve().parent.parent / "forum" / "static" / "icons"


def inside(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    """Even-odd rule point-in-polygon test."""
    hit = False
    j = len(polygon) - 1
    for i, (xi, yi) in enumerate(polygon):
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            hit = not hit
        j = i
    return hit


def draw(size: int) -> bytes:
    # The 32-unit drawing fills the middle 60% of the square (inside the maskable safe zone).
    scale, offset = size * 0.6 / 26, size * 0.2
    polygon = [((x - 3) * scale + offset, (y - 3) * scale + offset * 1.05) for x, y in HOUSE]
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter type 0 for each scanline
        for px in range(size):
            # 2x2 supersampling for smooth edges.
            hits = sum(inside(px + dx, py + dy, polygon) for dx in (0.25, 0.75) for dy in (0.25, 0.75))
            a = hits / 4
            row += bytes(round(BRAND[c] * (1 - a) + WHITE[c] * a) for c in range(3))
        rows.append(bytes(row))
    return b"".join(rows)


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(draw(size), 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(png(size))
        print(OUT / f"icon-{size}.png")


if __name__ == "__main__":
    main()
