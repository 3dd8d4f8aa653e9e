"""Loyalty points: earned by tier, redeemed for rewards.

A customer's tier follows their lifetime points (the highest tier whose
threshold they reached). Points are earned on what the customer paid for goods,
before tax and excluding what they paid with points: floor(major units x the
tier's rate). A reward turns a fixed number of points into a fixed amount that
pays part of the sale (a tender; it does not lower the taxable price).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from appliance.domain.errors import BalanceOverdrawn, DomainError
from appliance.domain.money import Money, currency_exponent


@dataclass(frozen=True, slots=True)
class LoyaltyTier:
    """A tier: reached at `min_points` lifetime points; earns `rate` points per major unit."""

    name: str
    min_points: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Reward:
    """A reward: `points` buy `value` off a sale."""

    id: str
    name: str
    points: int
    value: Money


@dataclass(frozen=True, slots=True)
class LoyaltyProgram:
    """The tier table and the reward table."""

    tiers: tuple[LoyaltyTier, ...]
    rewards: tuple[Reward, ...] = ()

    def __post_init__(self) -> None:
        if not self.tiers or min(t.min_points for t in self.tiers) != 0:
            raise DomainError("a loyalty program needs a tier that starts at 0 points")

    def tier_for(self, lifetime_points: int) -> LoyaltyTier:
        """The highest tier reached with these lifetime points."""
        reached = [t for t in self.tiers if t.min_points <= lifetime_points]
        return max(reached, key=lambda t: t.min_points)

    def points_earned(self, spend: Money, lifetime_points: int) -> int:
        """Points earned on `spend` (never negative)."""
        if spend.minor <= 0:
            return 0
        major = Decimal(spend.minor).scaleb(-currency_exponent(spend.currency))
        rate = self.tier_for(lifetime_points).rate
        return int((major * rate).to_integral_value(rounding=ROUND_FLOOR))

    def reward(self, reward_id: str) -> Reward:
        """The reward with this id, or a DomainError naming it."""
        for reward in self.rewards:
            if reward.id == reward_id:
                return reward
        raise DomainError(f"unknown loyalty reward {reward_id!r}")

    def check_redeem(self, reward_id: str, points_balance: int) -> Reward:
        """The reward, if the balance covers its points; else BalanceOverdrawn."""
        reward = self.reward(reward_id)
        if reward.points > points_balance:
            raise BalanceOverdrawn(
                f"reward {reward.name!r} needs {reward.points} points; "
                f"the customer has {points_balance}"
            )
        return reward
