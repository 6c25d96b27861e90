"""Data shapes: numpy arrays for the core, small dataclasses for the convenience layer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scoring.config import MODEL_VERSION
from scoring.kinds import Kind


@dataclass
class InteractionArrays:
    """One entry per event, aligned arrays. Users are indices 0..n_users-1.

    `target` is -1 for a plain message. `weight` (default 1) multiplies the kind
    weight, clamped to 0..MAX_EVENT_WEIGHT. `platform` holds small integer codes
    (default all 0) used only to split each user's raw into per-network parts.
    """

    actor: np.ndarray
    target: np.ndarray
    kind: np.ndarray
    ts: np.ndarray
    n_users: int
    weight: np.ndarray | None = None
    platform: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.actor.shape[0])


@dataclass
class AccountFacts:
    """Per-user facts, aligned with user indices. followers/listed are NaN when unknown.

    `created` is when the account was created on its platform (epoch seconds, NaN
    when unknown, None when unknown for everyone): tenure evidence that the platform
    vouches for, so an old account new to a community is not treated as a throwaway.

    `seed` marks the accounts the community itself trusts (bool, None when nobody is):
    its admins and moderators, members an admin vouched for, verified linked accounts.
    Trust flows from them (docs/scoring.md, "Trust seeds").
    """

    is_bot: np.ndarray
    followers: np.ndarray
    listed: np.ndarray
    created: np.ndarray | None = None
    seed: np.ndarray | None = None

    @classmethod
    def unknown(cls, n_users: int) -> AccountFacts:
        """Nobody is a bot, no audience and no creation time is known."""
        nan = np.full(n_users, np.nan)
        return cls(np.zeros(n_users, dtype=bool), nan, nan.copy(), nan.copy())


@dataclass
class ScoreArrays:
    """Everything the full rescore produces, one entry per user.

    raw = propagated shifted by the audience prior (see scale.with_audience);
    score = the fixed scale applied to raw. give_rate is what the user confers
    per unit of (saturated) action strength on someone: store it, explain_user
    needs it for the actors of the user being explained.
    """

    raw: np.ndarray
    score: np.ndarray
    propagated: np.ndarray
    prior: np.ndarray
    received_weight: np.ndarray
    distinct_actors: np.ndarray
    give_rate: np.ndarray
    out_strength: np.ndarray
    iterations: int
    converged: bool
    # (n_users, n_platforms) split of `propagated` by the platform of the actions;
    # columns follow platform codes 0..n_platforms-1.
    by_platform: np.ndarray
    model_version: str = MODEL_VERSION
    # Earned base per user (propagation.member_base): what their endorsement carries
    # before any standing of their own; trust_floor for throwaway and brand-new accounts.
    # The base used in the second pass, after trust (docs/scoring.md, "Trust seeds").
    base: np.ndarray | None = None
    # The earned base before trust (tenure and fans only), and the share of it that
    # counts: min(1, trust from the seeds / trust_knee), 1 for a seed.
    earned_base: np.ndarray | None = None
    trust: np.ndarray | None = None


@dataclass(frozen=True)
class Interaction:
    actor: str
    target: str | None
    kind: Kind
    ts: float
    platform: str = "discord"
    community: str | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Profile:
    user: str
    platform: str = "discord"
    bot: bool = False
    followers: int | None = None
    listed: int | None = None
    # When the account was created on its platform (epoch seconds), if known.
    created: float | None = None
    # A trust seed: an admin or moderator of the community, a member an admin vouched
    # for, a verified linked account (AccountFacts.seed).
    seed: bool = False


@dataclass(frozen=True)
class UserScore:
    user: str
    score: int
    tier: str
    raw: float
    components: dict[str, float]
    model_version: str = MODEL_VERSION
    # Persist per user: explain_user() of the people this user acts on needs it.
    give_rate: float = 0.0
    distinct_actors: int = 0


@dataclass(frozen=True)
class Explanation:
    user: str
    score: int
    tier: str
    raw: float
    components: dict[str, float]
    # (actor, share of the user's propagated influence), largest first.
    top_contributors: list[tuple[str, float]]
    counts_by_kind: dict[str, int]
    # Same events, each counted as 2**(-age/half_life) times its weight multiplier.
    decayed_by_kind: dict[str, float]
    change: int | None
    summary_key: str
    distinct_actors: int = 0
    model_version: str = MODEL_VERSION
    notes: list[str] = field(default_factory=list)
