"""Pure influence scoring: events in, scores and explanations out (docs/scoring.md).

No I/O, no clock, no asyncio: every function takes `now` explicitly, so a rescore
is reproducible from its inputs.
"""

from scoring.config import (
    DEFAULT_TIERS,
    DEFAULT_WEIGHTS,
    MODEL_VERSION,
    ScoringConfig,
    ScoringConfigError,
    Tier,
    config_from_table,
    tier_for,
)
from scoring.engine import score_arrays, score_events
from scoring.explain import SUMMARY_KEYS, explain_arrays, explain_user
from scoring.kinds import Kind
from scoring.records import (
    AccountFacts,
    Explanation,
    Interaction,
    InteractionArrays,
    Profile,
    ScoreArrays,
    UserScore,
)
from scoring.scale import (
    combine_networks,
    public_metrics_raw,
    raw_for_score,
    score_from_public_metrics,
    score_from_raw,
    with_audience,
)

__all__ = [
    "DEFAULT_TIERS",
    "DEFAULT_WEIGHTS",
    "MODEL_VERSION",
    "SUMMARY_KEYS",
    "AccountFacts",
    "Explanation",
    "Interaction",
    "InteractionArrays",
    "Kind",
    "Profile",
    "ScoreArrays",
    "ScoringConfig",
    "ScoringConfigError",
    "Tier",
    "UserScore",
    "combine_networks",
    "config_from_table",
    "explain_arrays",
    "explain_user",
    "public_metrics_raw",
    "raw_for_score",
    "score_arrays",
    "score_events",
    "score_from_public_metrics",
    "score_from_raw",
    "tier_for",
    "with_audience",
]
