"""data: the tables, queues and topic of the transaction pipeline, encrypted with the data key."""

from txn_infra.components.data import Queues, QueuesArgs, Table, TableArgs, Topic, TopicArgs
from txn_infra.config import DataConfig
from txn_infra.layer import start
from txn_spec import contract, shapes

ctx = start(contract.DATA, DataConfig)
data_key_arn = ctx.upstream(contract.SECURITY)["data_key_arn"]

tables = {
    shape.component: Table(
        shape.component,
        TableArgs(
            shape=shape,
            name=ctx.name(shape.component),
            key_arn=data_key_arn,
            deletion_protection=ctx.config.deletion_protection,
            warm_write_units=(ctx.config.warm_write_units_per_second or None)
            if shape.hot_path
            else None,
        ),
        opts=ctx.opts,
    ).table
    for shape in shapes.TABLES
}
queues = Queues(
    "queues",
    QueuesArgs(queues=shapes.QUEUES, name_of=ctx.name, key_arn=data_key_arn),
    opts=ctx.opts,
).queues
fraud_alerts = Topic(
    shapes.FRAUD_ALERTS_TOPIC.component,
    TopicArgs(
        name=ctx.name(shapes.FRAUD_ALERTS_TOPIC.component),
        key_arn=data_key_arn,
        account_id=ctx.account_id(),
    ),
    opts=ctx.opts,
).topic

transactions_queue = queues[shapes.TRANSACTIONS_QUEUE.component]
dlq = queues[shapes.TRANSACTIONS_DLQ.component]
parking = queues[shapes.PARKING_QUEUE.component]
ctx.export(
    **{
        f"{component}_table_{attr}": getattr(table, attr)
        for component, table in tables.items()
        for attr in ("name", "arn")
    },
    transactions_queue_url=transactions_queue.url,
    transactions_queue_arn=transactions_queue.arn,
    transactions_queue_name=transactions_queue.name,
    transactions_dlq_url=dlq.url,
    transactions_dlq_arn=dlq.arn,
    transactions_dlq_name=dlq.name,
    parking_queue_url=parking.url,
    parking_queue_arn=parking.arn,
    parking_queue_name=parking.name,
    fraud_alerts_topic_arn=fraud_alerts.arn,
)
