"""A platform's own producer, not ours: confluent-kafka for Python with its AvroSerializer, which auto-registers the
writer schema it is given under <topic>-value and frames each record with the id the registry returned.

Used by test/faults/registry-restart.test.ts (issue 17, item 3). Prints one JSON line:
{"schemaId": <id>, "delivered": <n>} on success; exits non-zero on any delivery error.
"""
import json
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> int:
    bootstrap, registry_url, topic, schema_file, n, prefix = sys.argv[1:7]
    n = int(n)
    with open(schema_file, encoding="utf8") as f:
        schema = f.read()
    registry = SchemaRegistryClient({"url": registry_url})
    serializer = AvroSerializer(registry, schema, conf={"auto.register.schemas": True})
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    errors = []
    schema_id = None
    now = int(time.time() * 1000)
    for i in range(n):
        event = {
            "eventId": f"{prefix}-ev-{i}",
            "userId": f"{prefix}-u-{i % 50}",
            "resourceId": f"{prefix}-r-{i % 40}",
            "type": "complete" if i % 3 == 0 else "click",
            "value": None,
            "dwellMs": 1000 + i,
            "occurredAt": now - (n - i) * 10,
            "context": {"platform": "python-client", "device": None, "session": None},
            "review": False,
            "clientVersion": "py-2",
        }
        value = serializer(event, SerializationContext(topic, MessageField.VALUE))
        schema_id = int.from_bytes(value[1:5], "big")
        producer.produce(topic, key=event["userId"].encode(), value=value,
                         on_delivery=lambda err, _msg: err and errors.append(str(err)))
        producer.poll(0)
    producer.flush(30)
    if errors:
        print(json.dumps({"errors": errors[:5]}))
        return 1
    print(json.dumps({"schemaId": schema_id, "delivered": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
