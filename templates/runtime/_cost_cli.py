"""The money side of the command line, in one place: ``run --estimate``, the cost noted when a job
finishes, the price of ``models``, and ``batch --max-cost`` with its spent and estimated totals."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from .pricing import usd

if TYPE_CHECKING:
    from types import ModuleType

    from .batch import BatchItem
    from .pricing import Pricing

__all__ = [
    "CostTally",
    "add_budget_options",
    "add_estimate_flag",
    "cost_note",
    "estimate_json",
    "estimate_text",
    "item_json",
    "price_json",
]

NO_PRICE = (
    "no price is known for {model}: its schema file carries none "
    "(`runcomfy-codegen pull` keeps RunComfy's catalog prices, then `runcomfy-codegen generate`)"
)


def price_json(pricing: Pricing | None) -> dict[str, Any] | None:
    """A price as the catalog words it (``base_price_usd``, ``price_unit``, ``pricing_note``), or ``None``."""
    if pricing is None:
        return None
    return {"base_price_usd": pricing.base_price_usd, "price_unit": pricing.unit, "pricing_note": pricing.note}


def add_estimate_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--estimate", action="store_true", help="print the estimated cost in USD and submit nothing")


def estimate_json(module: ModuleType | None, model_id: str, input: Any) -> dict[str, Any]:
    """``run --estimate --json``: the model, its price and the input's estimate (``null``: unknown)."""
    pricing = getattr(module, "PRICING", None)
    return {
        "model_id": model_id,
        "estimated_cost": input.estimate_cost() if input is not None else None,
        "pricing": price_json(pricing),
    }


def estimate_text(module: ModuleType | None, model_id: str, input: Any) -> tuple[str, str | None]:
    """``run --estimate``: the line for stdout (``USD 0.12``, or ``unknown``) and, when there is no
    estimate, why (a note for stderr)."""
    if module is None or input is None:
        return "unknown", f"{model_id} is not in this client's catalog: its price is not known here"
    estimate = input.estimate_cost()
    if estimate is not None:
        return usd(estimate), None
    pricing = getattr(module, "PRICING", None)
    if pricing is None:
        return "unknown", NO_PRICE.format(model=model_id)
    return "unknown", (
        f"the price is {pricing}, and this input does not say how much it makes "
        "(help(Input.estimate_cost) of the model's module says what it reads)"
    )


def cost_note(request_id: str, cost: float | None) -> str:
    """What a finished job cost, for a note on stderr (``run``, ``wait``, ``result``)."""
    return f"{request_id} cost {usd(cost) if cost is not None else 'not reported by the API'}"


def _usd_amount(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount in USD, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite amount in USD >= 0, got {text!r}")
    return value


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-cost",
        type=_usd_amount,
        metavar="USD",
        help="the batch's budget: submit a job only while what was spent, the estimates of the jobs in flight "
        "and its own estimate stay within USD (the inputs refused end as BudgetExceededError; run again with a "
        "larger --max-cost to submit them)",
    )
    parser.add_argument(
        "--allow-unknown-cost",
        action="store_true",
        help="under --max-cost, submit inputs whose cost cannot be estimated too (no price known)",
    )


class CostTally:
    """What a batch spent (the costs the API reported, and what earlier runs of its journal spent) and
    the estimate of the jobs that ended, for its progress line, summary and ``--json``."""

    def __init__(self, *, before: float = 0.0, max_cost: float | None = None) -> None:
        self.before = before  # spent by earlier runs (the journal)
        self.spent = 0.0  # reported by the API for this run's jobs
        self.estimated = 0.0  # the estimates of this run's jobs that ended with a job
        self.unknown = 0  # this run's jobs with no estimate
        self.refused = 0  # inputs not submitted because of the budget
        self.max_cost = max_cost

    def add(self, item: BatchItem[Any]) -> None:
        from .errors import BudgetExceededError

        if isinstance(item.error, BudgetExceededError):
            self.refused += 1
            return
        self.spent += item.cost or 0.0
        if item.request_id is not None or item.cost is not None:
            if item.estimated_cost is None:
                self.unknown += 1
            else:
                self.estimated += item.estimated_cost

    @property
    def total(self) -> float:
        return self.before + self.spent

    def text(self) -> str:
        """``USD 1.20 spent (estimated USD 1.24)``, with earlier runs, the budget and the refusals."""
        unknown = f" + {self.unknown} unknown" if self.unknown else ""
        before = f", {usd(self.total)} with earlier runs" if self.before else ""
        budget = f", budget {usd(self.max_cost)}" if self.max_cost is not None else ""
        refused = f"; {self.refused} not submitted for the budget (--max-cost)" if self.refused else ""
        return f"{usd(self.spent)} spent (estimated {usd(self.estimated)}{unknown}){before}{budget}{refused}"


def item_json(item: BatchItem[Any], tally: CostTally) -> dict[str, Any]:
    """The cost keys of one ``batch --json`` line: the item's, and the batch's totals so far."""
    return {
        "cost": item.cost,
        "estimated_cost": item.estimated_cost,
        "spent_usd": round(tally.total, 8),
        "estimated_usd": round(tally.estimated, 8),
    }
