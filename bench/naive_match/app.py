"""NAIVE CONSUMER, FOR THE BENCHMARK ONLY - not part of Greeter, never deployed.

The match Lambda as published Kinesis Video + Rekognition walkthroughs write it (a match-to-email flow on
the stream processor's Kinesis trigger; here it reads the same records from a queue too, so that it runs on
either detection mode's deliveries):
for every record, for every face with a match, one DynamoDB GetItem for the person and one SNS Publish.
No cooldown, no batching of reads, no partial batch response: every matching frame is an email.
(One of them also asks Kinesis Video for an HLS URL on every such frame; left out here, which flatters it.)

`bench/match_pipeline.py` runs it on the same stream as Greeter's match function, with the same
environment variables the template gives the match function.
"""

import base64
import json
import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

dynamodb = boto3.client("dynamodb")
sns = boto3.client("sns")
TABLE = os.environ["PEOPLE_TABLE"]
TOPIC_ARN = os.environ["ALERTS_TOPIC_ARN"]


def lambda_handler(event: dict, context) -> dict:
    for record in event["Records"]:
        if "kinesis" in record:
            payload = json.loads(base64.b64decode(record["kinesis"]["data"]).decode())
        else:  # the same record from an SQS queue
            payload = json.loads(record["body"])
        for face in payload["FaceSearchResponse"]:
            for match in face["MatchedFaces"][:1]:  # the stream processor puts the best match first
                person_id = match["Face"].get("ExternalImageId")
                if not person_id:
                    continue
                person = dynamodb.get_item(TableName=TABLE, Key={"person_id": {"S": person_id}}).get("Item")
                if not person:
                    continue
                name = person["name"]["S"]
                logger.info("customer detected: %s", person_id)
                sns.publish(
                    TopicArn=TOPIC_ARN,
                    Subject=f"Customer detected: {name}",
                    Message=json.dumps(
                        {
                            "person_id": person_id,
                            "name": name,
                            "notes": person.get("notes", {}).get("S", ""),
                            "similarity": match["Similarity"],
                            "video": payload["InputInformation"]["KinesisVideo"],
                        }
                    ),
                )
    return {"statusCode": 200}
