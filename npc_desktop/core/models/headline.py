"""The one line that states a staging result: its stage, probability and whether the members split.

The workstation's results panel, the PDF report and ``npc-desktop stage`` all print this line,
so a split decision reads the same everywhere and is never left to a small line under it.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["stage_headline", "voting_agreement"]


def voting_agreement(predicted: str, votes: Sequence[str], weights: Sequence[float]) -> tuple[int, int]:
    """How many voting members chose the ensemble's class.

    A member with vote weight 0 (the Basic CNN baseline of a trained bundle) is shown for
    comparison but does not vote, so it can neither make nor break agreement.

    Parameters
    ----------
    predicted
        The ensemble's class.
    votes
        Each member's own class, in member order.
    weights
        Each member's vote weight, in the same order.

    Returns
    -------
    tuple[int, int]
        (voting members whose class is ``predicted``, voting members).
    """
    if len(votes) != len(weights):
        raise ValueError(f"{len(votes)} member votes but {len(weights)} vote weights")
    voting = [vote for vote, weight in zip(votes, weights) if weight > 0]
    return sum(vote == predicted for vote in voting), len(voting)


def stage_headline(stage: str, probability: float, agreeing: int, voting: int, *,
                   selected_only: bool = False) -> str:
    """The headline of a staging result.

    Parameters
    ----------
    stage
        The ensemble's class, e.g. ``"IVa"``.
    probability
        The ensemble's probability of that class.
    agreeing, voting
        From :func:`voting_agreement`.
    selected_only
        The result covers only the selected ROI(s), not every ROI of the study: it is not the
        patient's stage, so the word "Stage" is left out and the line says so.

    Returns
    -------
    str
        ``"Stage IVa (p = 0.83) - all 5 members agree"``, or for a split decision
        ``"Stage IVa (p = 0.57) - split: 1 of 5 members agree"``.
    """
    if not 0 <= agreeing <= voting:
        raise ValueError(f"{agreeing} agreeing of {voting} voting members")
    head = f"{stage} (selected ROI only)" if selected_only else f"Stage {stage}"
    head += f" (p = {probability:.2f})"
    if voting == 0:
        return head
    if agreeing < voting:
        return f"{head} - split: {agreeing} of {voting} members agree"
    if voting == 1:
        return f"{head} - 1 voting member"
    return f"{head} - all {voting} members agree"
