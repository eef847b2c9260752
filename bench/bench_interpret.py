"""Scans interpreted per second on one core: GS1 element strings, HIBC, MA codes (IDcode), AHM codes (Alibaba
Health), Digital Link.

Run: .venv/bin/python bench/bench_interpret.py   (single process; GS1, MA and AHM target >= 10,000/s)
"""

from __future__ import annotations

import datetime as dt
import time

from udipick.domain.barcodes import interpret

TODAY = dt.date(2026, 11, 25)
GS = "\x1d"

INPUTS = {
    "GS1 element string (]d2, GS)": [
        "]d20109521234543213172612001010ABC" + GS + "21SER-9",
        "]d201095212345432131727063010LOT42" + GS + "21A1B2C3",
        "]C1001061414112345678970209521234543213" + "3712" + GS + "10L1",
    ],
    "GS1 element string (wedge, | stand-in)": [
        "0109521234543213172612001010ABC|21SER-9",
        "01095212345432131727063010LOT42|21A1B2C3",
    ],
    "HIBC (primary / concatenated)": [
        "+A123BJC5D6E71G",
        "+E20831269/$$8020423286539+",
        "+E20831339/$$8020223283831T",
    ],
    "MA code (IDcode, .L .S .M .E .D)": [
        "MA.156.M0.100001.1234567.L20240101A.S0001.M240101.E20290101.D8891",
        "]Q1MA.156.M0.100001.1234567.LABC123.V271231",
        "MA.156.M0.100001.1234567.S9X.M20240229.E20280229",
    ],
    "AHM code (Alibaba Health, .BN .SN .MD .BD .ED)": [
        "AHM.1000001.2000001.BN20240101A.SN0001.MD240101.ED20290101",
        "]Q1AHM.1000001.2000001.BNABC123.BD271231",
        "AHM.1000001.2000001.SN9X.MD20240229.ED20280229",
    ],
    "Digital Link URI (]Q1)": [
        "]Q1https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=261231",
        "https://example.com/01/09520123456788?3103=000195&3922=0299&17=201225",
    ],
}


def measure(samples: list[str], seconds: float = 1.0) -> float:
    for raw in samples:  # warm-up, and a failing sample stops the bench loudly
        interpret(raw, today=TODAY)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for raw in samples:
            interpret(raw, today=TODAY)
        count += len(samples)
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    width = max(len(name) for name in INPUTS)
    print(f"{'input':<{width}}  scans/s/core")
    print(f"{'-' * width}  ------------")
    for name, samples in INPUTS.items():
        print(f"{name:<{width}}  {measure(samples):>12,.0f}")


if __name__ == "__main__":
    main()
