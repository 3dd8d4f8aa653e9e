"""The sale domain: pure rules, standard library only, no I/O and no clock reads.

Money, catalogue, cart, pricing (promotions, discounts, freebies), tax, tenders,
loyalty, purchase limits, the sale record and its chain, the receipt document,
the time clock and the till. The register and the back office run this same
code, so a sale is priced once and re-derived identically.
"""
