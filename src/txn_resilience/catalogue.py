"""The fault scenarios by name, and the soak: what each one sends and which faults it injects.

:mod:`txn_resilience.scenario` runs one of them on the local runtime; ``python -m
txn_resilience`` runs them all, each in its own process.
"""

from __future__ import annotations

from dataclasses import dataclass

from txn_resilience.faults import Fault
from txn_spec import shapes


@dataclass(frozen=True)
class Spec:
    name: str
    transactions: int
    faults: tuple[Fault, ...] = ()
    duplicate_rate: float = 0.0  # share of fraud-detector batches delivered twice
    poison: int = 0
    restart_at: float | None = None  # share of the load after which the runtime restarts
    restart_downtime: float = 1.0
    bad_input: bool = False
    fuzz_examples: int = 60  # schemathesis examples per phase (bad_input only)
    fuzz_phases: str = "examples,coverage,fuzzing"
    seed: int = 7
    clients: int = 8

    @property
    def load_seconds(self) -> float:
        """How long the load may run before it stops sending."""
        return max(240.0, self.transactions / 10)

    @property
    def drain_seconds(self) -> float:
        """How long the queues may take to drain after the load."""
        return max(60.0, self.transactions / 20)

    @property
    def budget_seconds(self) -> float:
        """The longest a healthy run may take: the load, the drain and its fault-free last
        chance, plus the runtime's start, the bad-input phase and the report. The watchdog is
        set to it, so a slow machine fails on the scenario's own limits, not on a hang timer."""
        return self.load_seconds + self.drain_seconds + LAST_CHANCE_SECONDS + SETUP_SECONDS


LAST_CHANCE_SECONDS = 30.0
SETUP_SECONDS = 300.0


THROTTLE_DDB = (
    Fault("dynamodb", "BatchExecuteStatement", "throttle", 0.15),
    Fault("dynamodb", "BatchGetItem", "throttle", 0.10),
    Fault("dynamodb", "PutItem", "throttle", 0.10),
    Fault("dynamodb", "GetItem", "error", 0.05),
)


def scenarios(scale: int = 1) -> dict[str, Spec]:
    """The named scenarios; ``scale`` multiplies their transaction counts."""
    n = 150 * scale
    return {
        "bad_input": Spec("bad_input", transactions=20, bad_input=True),
        "crash": Spec(
            "crash",
            n,
            faults=(
                Fault("dynamodb", "BatchExecuteStatement", "crash", 0.2),
                Fault("sns", "PublishBatch", "crash", 0.2),
                Fault("sqs", "SendMessage", "crash", 0.05),
            ),
        ),
        "dynamodb": Spec("dynamodb", n, faults=THROTTLE_DDB),
        "sns_down": Spec(
            "sns_down", n, faults=(Fault("sns", "PublishBatch", "unavailable", 1.0, (0, 2.5)),)
        ),
        # An outage longer than every message's whole redrive on the main queue, over by the
        # time the DLQ's function publishes: SNS refuses the fraud detector's publishes and no
        # other's, so flagged transactions reach the DLQ stored FLAGGED and their alerts go out
        # from there. Scoped to the function rather than timed, so a slow machine cannot end the
        # outage while a late transaction is still on the main queue.
        "sns_down_past_redrive": Spec(
            "sns_down_past_redrive",
            n,
            faults=(
                Fault(
                    "sns",
                    "PublishBatch",
                    "unavailable",
                    function=shapes.FRAUD_DETECTOR.component,
                ),
            ),
        ),
        "duplicates": Spec("duplicates", n, duplicate_rate=0.3),
        "poison": Spec("poison", n // 3, poison=12),
        "restart": Spec("restart", 2 * n, restart_at=0.4),
    }


def soak(transactions: int) -> Spec:
    """Everything at once, at volume; rates low enough that the run stays within minutes (a
    throttled batch is a batch done twice), high enough for hundreds of faults of each kind."""
    return Spec(
        "soak",
        transactions,
        faults=(
            Fault("dynamodb", "BatchExecuteStatement", "throttle", 0.03),
            Fault("dynamodb", "BatchGetItem", "throttle", 0.03),
            Fault("dynamodb", "PutItem", "throttle", 0.03),
            Fault("dynamodb", "GetItem", "error", 0.02),
            Fault("dynamodb", "BatchExecuteStatement", "crash", 0.01),
            Fault("sqs", "SendMessage", "error", 0.01),
            Fault("sns", "PublishBatch", "unavailable", 1.0, (5, 7)),
        ),
        duplicate_rate=0.05,
        poison=25,
        restart_at=0.5,
        clients=12,
    )
