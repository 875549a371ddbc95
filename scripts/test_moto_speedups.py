"""The emulator's patches (scripts/moto_speedups.py) change no answer, and
its patched queue loses no change under concurrent calls.

Plays the same DynamoDB and SQS calls on moto as released and on moto with
the patches, each in its own process (the patches apply on import, to the
whole process), and compares what the calls answered, ids and times left
out. Run by `make test`: python3 scripts/test_moto_speedups.py (with the
emulator's venv).
"""

import json
import os
import subprocess
import sys
import unittest
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


def load_patches() -> None:
    sys.path.insert(0, str(SCRIPTS))
    import moto_speedups  # noqa: F401


def play(patched: bool) -> dict:
    """What a fixed sequence of calls answers (in a fresh process)."""
    import boto3
    from moto import mock_aws

    if patched:
        load_patches()

    seen = {}
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gpk")
            ],
            GlobalSecondaryIndexes=[{
                "IndexName": "groups",
                "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
            BillingMode="PAY_PER_REQUEST",
        )
        for group in range(5):
            for sk in ("GROUP", "HOSTUSE#a", "NODE#b", "NODE#a", "SCALER", "SERIES#1"):
                item = {"pk": {"S": f"GROUP#{group}"}, "sk": {"S": sk}, "n": {"N": str(group)}}
                if sk == "GROUP":
                    item["gpk"] = {"S": "GROUPS"}
                ddb.put_item(TableName="t", Item=item)
        pages, start = [], None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            page = ddb.query(
                TableName="t",
                KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                ExpressionAttributeValues={":p": {"S": "GROUP#3"}, ":a": {"S": "GROUP"}, ":b": {"S": "SCALER"}},
                ScanIndexForward=False,
                ConsistentRead=True,
                Limit=2,
                **extra,
            )
            pages.append([page["Items"], page.get("LastEvaluatedKey")])
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        seen["query_pages"] = pages
        seen["query_prefix"] = ddb.query(
            TableName="t",
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            FilterExpression="n = :n",
            ExpressionAttributeValues={":p": {"S": "GROUP#1"}, ":s": {"S": "NODE#"}, ":n": {"N": "1"}},
        )["Items"]
        seen["query_missing"] = ddb.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "GROUP#9"}},
        )["Items"]
        seen["query_no_such_key"] = ddb.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"SS": ["GROUP#1"]}},
        )["Items"]
        seen["index"] = ddb.query(
            TableName="t",
            IndexName="groups",
            KeyConditionExpression="gpk = :g",
            ExpressionAttributeValues={":g": {"S": "GROUPS"}},
        )["Items"]
        # Every kind of attribute value, nested, through every answer that
        # carries items.
        every_kind = {
            "pk": {"S": "KINDS"}, "sk": {"S": "ALL"}, "s": {"S": ""}, "n": {"N": "-1.50"},
            "b": {"B": b"\x00\xffbytes"}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]},
            "bs": {"BS": [b"x", b"\x01"]}, "null": {"NULL": True}, "no": {"BOOL": False},
            "m": {"M": {"in": {"L": [{"S": "x"}, {"M": {}}, {"L": []}, {"B": b"\x02"}, {"BOOL": True}]},
                        "empty": {"M": {}}}},
        }
        ddb.put_item(TableName="t", Item=every_kind)
        key = {"pk": {"S": "KINDS"}, "sk": {"S": "ALL"}}
        seen["get"] = ddb.get_item(TableName="t", Key=key, ConsistentRead=True)["Item"]
        seen["projected"] = ddb.get_item(TableName="t", Key=key, ProjectionExpression="m, bs, #n",
                                         ExpressionAttributeNames={"#n": "null"})["Item"]
        seen["updated"] = ddb.update_item(
            TableName="t", Key=key, UpdateExpression="SET #n = :n, m.more = :m ADD ns :two REMOVE s",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":n": {"N": "7"}, ":m": {"L": [{"NULL": True}]}, ":two": {"NS": ["3"]}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        seen["updated_old"] = ddb.update_item(
            TableName="t", Key=key, UpdateExpression="SET b = :b", ExpressionAttributeValues={":b": {"B": b"new"}},
            ReturnValues="UPDATED_OLD",
        )["Attributes"]
        seen["batch_get"] = ddb.batch_get_item(RequestItems={"t": {"Keys": [key]}})["Responses"]
        seen["transact_get"] = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}])["Responses"]
        seen["scan"] = ddb.scan(TableName="t", FilterExpression="pk = :k",
                                ExpressionAttributeValues={":k": {"S": "KINDS"}})["Items"]
        seen["deleted_item"] = ddb.delete_item(TableName="t", Key=key, ReturnValues="ALL_OLD")["Attributes"]
        try:
            ddb.put_item(TableName="t", Item={"pk": {"S": "GROUP#1"}, "sk": {"S": "GROUP"}},
                         ConditionExpression="attribute_not_exists(pk)")
            seen["conditional"] = "written"
        except ddb.exceptions.ConditionalCheckFailedException:
            seen["conditional"] = "refused"

        sqs = boto3.client("sqs", region_name="eu-west-1")
        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": f"order {i}", **({"DelaySeconds": 900} if i == 0 else {})}
            for i in range(10)
        ])
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)["Messages"]
        seen["received"] = sorted(m["Body"] for m in got)
        handles = [m["ReceiptHandle"] for m in got]
        deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[:3] + ["not-a-handle"])
        ])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[0])  # twice: no error
        seen["deleted"] = [sorted(e["Id"] for e in deleted.get("Successful", [])),
                           [(e["Id"], e["Code"]) for e in deleted.get("Failed", [])]]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        seen["attributes"] = {k: v for k, v in attributes.items() if "Timestamp" not in k}
        seen["rest"] = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"])
    return seen


class PatchedEmulatorAnswersAsReleased(unittest.TestCase):
    def test_the_same_calls_get_the_same_answers(self):
        def run(mode: str) -> dict:
            # One hash seed for both: moto orders some sets by their hashes.
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            out = subprocess.run([sys.executable, __file__, mode], check=True, capture_output=True, text=True, env=env)
            return json.loads(out.stdout)

        released, patched = run("released"), run("patched")
        self.assertEqual(released, patched)
        # The scenario exercises what it means to: a paged backwards Query, a
        # refused condition, a delayed message left queued, a bad handle.
        self.assertEqual(len(released["query_pages"]), 3)
        self.assertEqual(released["conditional"], "refused")
        self.assertEqual(len(released["rest"]), 5)
        self.assertEqual(released["deleted"][1], [["3", "ReceiptHandleIsInvalid"]])


class PatchedQueueLosesNothingUnderConcurrentCalls(unittest.TestCase):
    """Where moto as released loses a change (two deletes, or a delete and
    a send, at once), the patched queue keeps both."""

    def test_concurrent_deletes_and_sends_all_take_effect(self):
        out = subprocess.run([sys.executable, __file__, "race"], check=True, capture_output=True, text=True)
        self.assertEqual(json.loads(out.stdout), {"invalid": 0, "left": 0, "sent": 200})


def race() -> dict:
    """Two threads delete disjoint received messages while a third sends."""
    import threading

    load_patches()
    from moto.sqs import models
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto import mock_aws
    import boto3

    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    invalid = []
    with mock_aws():
        boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="q")
        backend = models.sqs_backends["123456789012"]["eu-west-1"]
        for i in range(300):
            backend.send_message("q", f"old {i}")
        handles = [m.receipt_handle for m in backend.receive_message("q", 300, 0, 900)]

        def delete(some):
            for handle in some:
                try:
                    backend.delete_message("q", handle)
                except ReceiptHandleIsInvalid:
                    invalid.append(handle)

        def send():
            for i in range(200):
                backend.send_message("q", f"new {i}")

        threads = [threading.Thread(target=delete, args=(handles[k::2],)) for k in range(2)]
        threads.append(threading.Thread(target=send))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        bodies = [m.body for m in backend.get_queue("q")._messages]
    return {
        "invalid": len(invalid),
        "left": sum(b.startswith("old") for b in bodies),
        "sent": sum(b.startswith("new") for b in bodies),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["race"]:
        print(json.dumps(race()))
        sys.exit(0)
    elif len(sys.argv) == 2 and sys.argv[1] in ("released", "patched"):
        print(json.dumps(play(sys.argv[1] == "patched"), default=lambda b: {"bytes": b.hex()}))
    else:
        unittest.main()
