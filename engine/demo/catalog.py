"""What the demo storefront sells and how often each kind of buyer comes back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Category:
    """A product category: its SKUs (with unit prices in SAR) and its buyers' habits."""

    name: str
    share: float  # how often it is a buyer's main category
    gap_days: float  # mean days between a buyer's orders
    lines: tuple[int, int]  # distinct products per order, min and max
    max_quantity: int
    skus: tuple[tuple[str, Decimal], ...]


def _skus(*pairs: tuple[str, str]) -> tuple[tuple[str, Decimal], ...]:
    return tuple((sku, Decimal(price)) for sku, price in pairs)


CATEGORIES: tuple[Category, ...] = (
    Category("grocery", 0.27, 7.0, (3, 9), 4, _skus(
        ("GRC-DATES-1KG", "38.00"), ("GRC-COFFEE-500", "54.00"), ("GRC-RICE-5KG", "62.50"),
        ("GRC-OLIVE-OIL-1L", "45.75"), ("GRC-LABAN-2L", "11.50"), ("GRC-HONEY-500", "89.00"),
        ("GRC-TEA-100", "19.25"), ("GRC-SAFFRON-2G", "35.00"), ("GRC-WATER-12", "14.00"),
        ("GRC-NUTS-400", "41.00"),
    )),
    Category("beauty", 0.20, 24.0, (1, 3), 2, _skus(
        ("BEA-SERUM-30", "42.00"), ("BEA-CREAM-50", "79.00"), ("BEA-LIPSTICK", "65.00"),
        ("BEA-MASK-5", "35.50"), ("BEA-SUNSCREEN", "58.00"), ("BEA-KOHL", "29.00"),
    )),
    Category("fashion", 0.22, 35.0, (1, 3), 2, _skus(
        ("FSH-ABAYA-BLK", "349.00"), ("FSH-THOBE-WHT", "229.00"), ("FSH-SHEMAGH", "119.00"),
        ("FSH-SNEAKERS", "399.00"), ("FSH-SCARF-SILK", "159.00"), ("FSH-TSHIRT", "79.00"),
    )),
    Category("electronics", 0.14, 80.0, (1, 2), 1, _skus(
        ("ELE-EARBUDS", "299.00"), ("ELE-PHONE-CASE", "89.00"), ("ELE-CHARGER-65W", "149.00"),
        ("ELE-SMARTWATCH", "1199.00"), ("ELE-TABLET-10", "1899.00"), ("ELE-SPEAKER", "449.00"),
    )),
    Category("perfume", 0.20, 110.0, (1, 2), 1, _skus(
        ("PRF-OUD-50", "385.00"), ("PRF-MUSK-100", "240.00"), ("PRF-AMBER-75", "520.00"),
        ("PRF-ROSE-30", "195.00"), ("PRF-BAKHOOR-SET", "275.00"), ("PRF-OUD-OIL-12", "890.00"),
    )),
)
BY_NAME: dict[str, Category] = {category.name: category for category in CATEGORIES}
ALL_SKUS: tuple[str, ...] = tuple(sku for c in CATEGORIES for sku, _ in c.skus)

CURRENCY = "SAR"
SHIPPING = Decimal("25.00")
FREE_SHIPPING_FROM = Decimal("250.00")
CHANNELS: tuple[tuple[str, float], ...] = (
    ("instagram", 0.3), ("whatsapp", 0.25), ("x", 0.15), ("snapchat", 0.15), ("tiktok", 0.1),
    ("facebook", 0.05),
)
STORE_URL = "https://store.example.sa"
