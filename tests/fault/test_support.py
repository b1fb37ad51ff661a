"""How the fault suite tells the one known difference from any other."""

from tests.fault.support import by_referral_rewards

WANT = "available=3966, pending=0, lifetime_earned=7512, redeemed=0, reversed=0, expired=3546, tier=silver"


def test_a_difference_by_whole_referral_rewards_is_told_apart() -> None:
    got = WANT.replace("available=3966", "available=4466").replace("7512", "8012")
    assert by_referral_rewards(f"cust-1: expected {WANT}, got {got}")
    expired = WANT.replace("expired=3546", "expired=4046").replace("7512", "8012")
    assert by_referral_rewards(f"cust-1: expected {WANT}, got {expired}")


def test_any_other_difference_is_not() -> None:
    for got in (WANT.replace("available=3966", "available=4000").replace("7512", "7546"),
                WANT.replace("tier=silver", "tier=gold").replace("7512", "8012")
                .replace("available=3966", "available=4466"),
                WANT.replace("pending=0", "pending=500").replace("7512", "8012"),
                WANT):
        assert not by_referral_rewards(f"cust-1: expected {WANT}, got {got}")
    assert not by_referral_rewards(f"cust-1: expected {WANT}, got (no member)")
