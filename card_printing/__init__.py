"""Printed material: information sheets, stickers, かかりつけ医カード, issuance letters, kits.

Layouts draw plain snapshots (``card_printing.data``) with reportlab onto one canvas, so a
batch of any size streams to disk page by page (``card_printing.batch``). Fonts: BIZ UDGothic
(SIL OFL, vendored in ``card_printing/fonts/``), embedded as subsets in every PDF.
"""
